/**
 * For each prefix's site resources and each protocol, the narrowest port range holding a port,
 * precomputed as disjoint segments of the port space: a look-up is a binary search over the
 * segment starts, however many resources share the prefix. (A linear scan of the ranges, as
 * before, walked every range of a prefix for a port none of them holds: 73 ranges per flow
 * with the 100k-resource map of `npm run bench`.)
 */
export interface PortRange {
  lo: number;
  hi: number;
  /** Position of the resource in the org map. */
  resource: number;
}

export const PROTOCOL_INDEX = { tcp: 0, udp: 1 } as const;

/** A PortSegments' arrays: structured-clonable, for another thread (PortSegments.from). */
export interface PortSegmentsData {
  groupStart: Int32Array;
  segments: Int32Array;
}

export class PortSegments {
  private constructor(
    /** Segments of group g (= 2 × list + protocol index) are [groupStart[g], groupStart[g + 1]). */
    private readonly groupStart: Int32Array,
    /**
     * Segment i: its first port at 2i, and at 2i + 1 the resource its ports select (or -1),
     * side by side so the search's last probe finds the answer in the same cache line. A segment
     * runs to the next one's start; the last one to port 65535.
     */
    private readonly segments: Int32Array,
  ) {}

  /** `groups[g]`: the ranges of group g, narrowest first (ties: the resource listed first). */
  static compile(groups: ReadonlyArray<readonly PortRange[]>): PortSegments {
    const starts: number[] = [];
    const resources: number[] = [];
    const groupStart = new Int32Array(groups.length + 1);
    groups.forEach((ranges, g) => {
      groupStart[g] = starts.length;
      paint(ranges, starts, resources);
    });
    groupStart[groups.length] = starts.length;
    const segments = new Int32Array(2 * starts.length);
    starts.forEach((start, i) => {
      segments[2 * i] = start;
      segments[2 * i + 1] = resources[i]!;
    });
    return new PortSegments(groupStart, segments);
  }

  /** Segments made by compile() on another thread, from their data(). */
  static from(data: PortSegmentsData): PortSegments {
    return new PortSegments(data.groupStart, data.segments);
  }

  data(): PortSegmentsData {
    return { groupStart: this.groupStart, segments: this.segments };
  }

  /** The resource selected in group g for `port`, or -1. */
  match(group: number, port: number): number {
    const seg = this.segments;
    let lo = this.groupStart[group]!;
    let hi = this.groupStart[group + 1]! - 1;
    if (hi < lo || port < seg[2 * lo]!) return -1;
    // The last segment starting at or before the port.
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (seg[2 * mid]! <= port) lo = mid;
      else hi = mid - 1;
    }
    return seg[2 * lo + 1]!;
  }
}

/**
 * Appends the segments of one group: the port space cut at every range's ends, each piece
 * given to the first range (narrowest) that covers it. Pieces are painted once each, by
 * skipping painted runs through `next`, so a group of k ranges costs O(k log k).
 */
function paint(ranges: readonly PortRange[], starts: number[], resources: number[]): void {
  if (ranges.length === 0) return;
  const cuts = [...new Set(ranges.flatMap((r) => [r.lo, r.hi + 1]))].sort((a, b) => a - b);
  const owner = new Int32Array(cuts.length).fill(-1); // piece i: [cuts[i], cuts[i + 1])
  const next = Int32Array.from(cuts, (_, i) => i); // the first unpainted piece at or after i
  const unpainted = (i: number): number => {
    let root = i;
    while (root < cuts.length && next[root] !== root) root = next[root]!;
    for (let j = i; j !== root; ) {
      const n = next[j]!;
      next[j] = root; // path compression: later look-ups jump straight past this run
      j = n;
    }
    return root;
  };
  for (const r of ranges) {
    for (let i = unpainted(lowerBound(cuts, r.lo)); i < cuts.length && cuts[i]! <= r.hi; i = unpainted(i + 1)) {
      owner[i] = r.resource;
      next[i] = i + 1;
    }
  }
  // Adjacent pieces with the same owner become one segment.
  for (let i = 0; i < cuts.length; i++) {
    if (i > 0 && resources[resources.length - 1] === owner[i]) continue;
    starts.push(cuts[i]!);
    resources.push(owner[i]!);
  }
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
