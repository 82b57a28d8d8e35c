/**
 * Storage for the flow table: struct-of-arrays in typed arrays, one slot per open flow, so that
 * per-packet work touches numbers only and a flow costs a fixed, small number of bytes.
 * Slots are found by a hash of the flow key through bucket chains, and sit on one of a few
 * intrusive doubly linked lists, each ordered by last activity (head = most recent), so that
 * expiry and LRU eviction look only at list tails. Arrays start small and double up to
 * `maxFlows`; nothing else grows.
 */
/**
 * Slots a table starts with (its arrays double from there, up to maxFlows): 65,536 flows,
 * 14 MB of arrays, of which a replay or a site touches what it uses (the rest are zero pages
 * never faulted in: a fixture's replay has the same peak RSS either way). Starting at 4,096,
 * the bench capture's table doubled five times to 131,072, each time copying every array,
 * and the copies and their page faults were ~4% of the flow table's thread; from 65,536 it
 * doubles once. Scratch, alternating rounds: the flow table's thread alone 346 -> 329 ms
 * (first pass, six rounds), a replay 0.497 -> 0.483 s (eight).
 */
export const INITIAL_SLOTS = 65_536;
export const KEY_WORDS = 10; // lo addr (4 words), hi addr (4), ports (lo << 16 | hi), meta (version << 8 | proto)
export const NIL = -1;

export class FlowSlots {
  capacity = 0;
  readonly maxFlows: number;
  count = 0;

  key = new Uint32Array(0);
  hash = new Int32Array(0);
  chainNext = new Int32Array(0);
  buckets = new Int32Array(0);
  bucketMask = 0;

  listPrev = new Int32Array(0);
  listNext = new Int32Array(0);
  listOf = new Uint8Array(0);
  readonly listHead: Int32Array;
  readonly listTail: Int32Array;
  /** Free slots below `capacity`, as a stack (a replay's fast path takes from it too:
   *  src/replay/native-flow.ts). */
  freeStack = new Int32Array(0);
  freeTop = 0;
  private readonly initialCapacity: number;

  /**
   * `onGrow(capacity)` is called after the slot arrays grow, so that the owner can grow its own
   * per-slot arrays (with `resized`) to the same capacity.
   */
  constructor(
    maxFlows: number,
    lists: number,
    private readonly onGrow: (capacity: number) => void,
    initialCapacity = INITIAL_SLOTS,
  ) {
    this.maxFlows = maxFlows;
    this.listHead = new Int32Array(lists).fill(NIL);
    this.listTail = new Int32Array(lists).fill(NIL);
    this.initialCapacity = Math.max(1, Math.min(initialCapacity, maxFlows));
  }

  /** Finds the slot of a key already written to `probe` (KEY_WORDS words) with hash `h`. */
  find(probe: Uint32Array, h: number): number {
    if (this.capacity === 0) return NIL;
    for (let s = this.buckets[h & this.bucketMask]!; s !== NIL; s = this.chainNext[s]!) {
      if (this.hash[s] === h && this.holds(s, probe)) return s;
    }
    return NIL;
  }

  /** Does slot `s` hold the key in `probe`? */
  holds(s: number, probe: Uint32Array): boolean {
    const k = this.key;
    const b = s * KEY_WORDS;
    return (
      k[b + 8] === probe[8] &&
      k[b] === probe[0] &&
      k[b + 4] === probe[4] &&
      k[b + 9] === probe[9] &&
      k[b + 1] === probe[1] &&
      k[b + 2] === probe[2] &&
      k[b + 3] === probe[3] &&
      k[b + 5] === probe[5] &&
      k[b + 6] === probe[6] &&
      k[b + 7] === probe[7]
    );
  }

  /** True when a new flow needs an eviction first. */
  get full(): boolean {
    return this.count >= this.maxFlows;
  }

  /** Takes a free slot for `probe`/`h` and puts it at the head of `list`. Never when full. */
  allocate(probe: Uint32Array, h: number, list: number): number {
    if (this.freeTop === 0) this.grow();
    const s = this.freeStack[--this.freeTop]!;
    this.count++;
    this.key.set(probe, s * KEY_WORDS);
    this.hash[s] = h;
    const bucket = h & this.bucketMask;
    this.chainNext[s] = this.buckets[bucket]!;
    this.buckets[bucket] = s;
    this.listOf[s] = list;
    this.pushHead(s, list);
    return s;
  }

  release(s: number): void {
    const bucket = this.hash[s]! & this.bucketMask;
    let p = this.buckets[bucket]!;
    if (p === s) this.buckets[bucket] = this.chainNext[s]!;
    else {
      while (this.chainNext[p] !== s) p = this.chainNext[p]!;
      this.chainNext[p] = this.chainNext[s]!;
    }
    this.unlink(s);
    this.count--;
    this.freeStack[this.freeTop++] = s;
  }

  /** Marks `s` as the most recently active flow of `list` (moving it there if need be). */
  touch(s: number, list: number): void {
    if (this.listHead[list] === s) return;
    this.unlink(s);
    this.listOf[s] = list;
    this.pushHead(s, list);
  }

  private pushHead(s: number, list: number): void {
    const head = this.listHead[list]!;
    this.listPrev[s] = NIL;
    this.listNext[s] = head;
    if (head !== NIL) this.listPrev[head] = s;
    else this.listTail[list] = s;
    this.listHead[list] = s;
  }

  private unlink(s: number): void {
    const list = this.listOf[s]!;
    const prev = this.listPrev[s]!;
    const next = this.listNext[s]!;
    if (prev !== NIL) this.listNext[prev] = next;
    else this.listHead[list] = next;
    if (next !== NIL) this.listPrev[next] = prev;
    else this.listTail[list] = prev;
  }

  /** Doubles every per-slot array (up to maxFlows) and rebuilds the buckets. */
  private grow(): void {
    const old = this.capacity;
    const cap = old === 0 ? this.initialCapacity : Math.min(old * 2, this.maxFlows);
    if (cap <= old) throw new Error('FlowSlots: grow past maxFlows (evict first)');
    this.key = resized(this.key, cap * KEY_WORDS);
    this.hash = resized(this.hash, cap);
    this.chainNext = resized(this.chainNext, cap);
    this.listPrev = resized(this.listPrev, cap);
    this.listNext = resized(this.listNext, cap);
    this.listOf = resized(this.listOf, cap);
    let buckets = 1;
    while (buckets < cap) buckets *= 2;
    this.buckets = new Int32Array(buckets).fill(NIL);
    this.bucketMask = buckets - 1;
    // The free stack is empty when we grow, so every slot below `old` is live: rehash them.
    for (let s = 0; s < old; s++) {
      const bucket = this.hash[s]! & this.bucketMask;
      this.chainNext[s] = this.buckets[bucket]!;
      this.buckets[bucket] = s;
    }
    this.freeStack = new Int32Array(cap);
    this.freeTop = 0;
    for (let s = cap - 1; s >= old; s--) this.freeStack[this.freeTop++] = s;
    this.capacity = cap;
    this.onGrow(cap);
  }
}

type TypedArray = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

/** A copy of `a` with room for `length` elements. */
export function resized<T extends TypedArray>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a as never);
  return b;
}
