import { maskWord, type IpPrefix } from './ip-prefix.js';
import type { PortSegments } from './port-segments.js';

/** A sealed PrefixTable's arrays: structured-clonable, for another thread (PrefixTable.from). */
export interface PrefixTableData {
  v4: LengthTableData[];
  v6: LengthTableData[];
  firsts: Int32Array;
  size: number;
}

/**
 * Longest-prefix match over IPv4 and IPv6 prefixes: one hash table per prefix length present,
 * probed from the longest length down. A look-up costs one masked key and one probe per
 * distinct length (a handful in real maps), whatever the number of prefixes, so 100k clients
 * or resources look up as fast as ten. Each table is open addressing over one Int32Array, the
 * key words and the value side by side, so a probe touches one cache line; a look-up
 * allocates nothing. Values are map positions (numbers); each prefix holds a list of them.
 */
export class PrefixTable {
  private v4: LengthTable[] = [];
  private v6: LengthTable[] = [];
  /** Entry lists, indexed by the tables' values; dropped by seal() once the map is built. */
  private lists: number[][] | null = [];
  /** Each list's first entry, packed (an Int32Array once sealed): what a client look-up returns. */
  private firsts: number[] | Int32Array = [];
  size = 0;

  /** A table sealed on another thread, from its data(): look-ups only. */
  static from(data: PrefixTableData): PrefixTable {
    const t = new PrefixTable();
    t.v4 = data.v4.map((d) => LengthTable.from(d));
    t.v6 = data.v6.map((d) => LengthTable.from(d));
    t.firsts = data.firsts;
    t.size = data.size;
    t.lists = null;
    return t;
  }

  /** The look-up tables (after seal()), to make the same table elsewhere with from(). */
  data(): PrefixTableData {
    return { v4: this.v4.map((t) => t.data()), v6: this.v6.map((t) => t.data()), firsts: Int32Array.from(this.firsts), size: this.size };
  }

  add(prefix: IpPrefix, value: number): void {
    const lists = this.lists;
    if (lists === null) throw new Error('PrefixTable.add after seal()');
    const tables = prefix.version === 4 ? this.v4 : this.v6;
    let table = tables.find((t) => t.length === prefix.length);
    if (!table) {
      table = new LengthTable(prefix.version, prefix.length);
      tables.push(table);
      tables.sort((a, b) => b.length - a.length);
    }
    const [w0, w1, w2, w3] = prefix.words;
    const at = table.get(w0 | 0, w1 | 0, w2 | 0, w3 | 0);
    if (at >= 0) lists[at]!.push(value);
    else {
      table.set(w0 | 0, w1 | 0, w2 | 0, w3 | 0, lists.length);
      lists.push([value]);
      (this.firsts as number[]).push(value);
    }
    this.size++;
  }

  /**
   * Ends the building: returns every prefix's entry list (to prepare per-prefix data ahead of
   * look-ups) and lets them go, one small array per prefix that look-ups do not need.
   */
  seal(): readonly number[][] {
    const lists = this.lists ?? [];
    this.lists = null;
    this.firsts = Int32Array.from(this.firsts);
    return lists;
  }

  /**
   * The longest prefix containing the address: with `ports` null, its first entry; otherwise
   * the entry `ports` selects in that prefix's list for the protocol and port, trying shorter
   * prefixes while none is selected. -1 when nothing matches.
   */
  find(version: 4 | 6, words: readonly number[], ports: PortSegments | null, protocol: number, port: number): number {
    const tables = version === 4 ? this.v4 : this.v6;
    const w0 = words[0]!;
    const w1 = words[1]!;
    const w2 = words[2]!;
    const w3 = words[3]!;
    for (let i = 0; i < tables.length; i++) {
      const t = tables[i]!;
      const at = t.get(w0 & t.mask0, w1 & t.mask1, w2 & t.mask2, w3 & t.mask3);
      if (at < 0) continue;
      if (ports === null) return this.firsts[at]!;
      const r = ports.match(2 * at + protocol, port);
      if (r >= 0) return r;
    }
    return -1;
  }
}

interface LengthTableData {
  version: 4 | 6;
  length: number;
  cells: Int32Array;
  count: number;
}

/**
 * Keys of one prefix length: open addressing, linear probing, grown at three quarters full.
 * (At half, the 100k clients of the bench map took 2 MB, missing the core's cache more.)
 */
class LengthTable {
  /** Per slot: the key's words (1 for IPv4, 4 for IPv6), then the value + 1 (0: empty). */
  private cells: Int32Array = new Int32Array(0);
  private readonly stride: number;
  private shift = 32;
  private slotMask = 0;
  private count = 0;
  /** The prefix's mask, word by word, as int32. */
  readonly mask0: number;
  readonly mask1: number;
  readonly mask2: number;
  readonly mask3: number;

  constructor(
    private readonly version: 4 | 6,
    readonly length: number,
  ) {
    this.stride = version === 4 ? 2 : 5;
    const mask = (bits: number) => maskWord(0xffffffff, bits) | 0;
    this.mask0 = mask(length);
    this.mask1 = mask(length - 32);
    this.mask2 = mask(length - 64);
    this.mask3 = mask(length - 96);
    this.resize(16);
  }

  static from(d: LengthTableData): LengthTable {
    const t = new LengthTable(d.version, d.length);
    t.use(d.cells);
    t.count = d.count;
    return t;
  }

  data(): LengthTableData {
    return { version: this.version, length: this.length, cells: this.cells, count: this.count };
  }

  /** Multiplicative hashing: keys that differ in low bits (neighbouring addresses) spread out. */
  private slot(k0: number, k1: number, k2: number, k3: number): number {
    let h = Math.imul(k0, 0x9e3779b1);
    if (this.stride === 5) {
      h = Math.imul(h ^ k1 ^ (h >>> 15), 0x85ebca6b);
      h = Math.imul(h ^ k2 ^ (h >>> 13), 0xc2b2ae35);
      h = Math.imul(h ^ k3 ^ (h >>> 16), 0x9e3779b1);
    }
    return h >>> this.shift;
  }

  get(k0: number, k1: number, k2: number, k3: number): number {
    const c = this.cells;
    const stride = this.stride;
    for (let s = this.slot(k0, k1, k2, k3); ; s = (s + 1) & this.slotMask) {
      const at = s * stride;
      const v = c[at + stride - 1]!;
      if (v === 0) return -1;
      if (c[at] === k0 && (stride === 2 || (c[at + 1] === k1 && c[at + 2] === k2 && c[at + 3] === k3))) return v - 1;
    }
  }

  set(k0: number, k1: number, k2: number, k3: number, value: number): void {
    if ((this.count + 1) * 4 > (this.slotMask + 1) * 3) this.resize((this.slotMask + 1) * 2);
    this.insert(k0, k1, k2, k3, value + 1);
    this.count++;
  }

  private insert(k0: number, k1: number, k2: number, k3: number, stored: number): void {
    const c = this.cells;
    const stride = this.stride;
    let s = this.slot(k0, k1, k2, k3);
    while (c[s * stride + stride - 1] !== 0) s = (s + 1) & this.slotMask;
    const at = s * stride;
    c[at] = k0;
    if (stride === 5) {
      c[at + 1] = k1;
      c[at + 2] = k2;
      c[at + 3] = k3;
    }
    c[at + stride - 1] = stored;
  }

  /** Takes `cells` (empty, or another table's of this length) as the table's slots. */
  private use(cells: Int32Array): void {
    const slots = cells.length / this.stride;
    this.cells = cells;
    this.slotMask = slots - 1;
    this.shift = 32 - Math.log2(slots);
  }

  private resize(slots: number): void {
    const old = this.cells;
    const stride = this.stride;
    this.use(new Int32Array(slots * stride));
    for (let at = 0; at < old.length; at += stride) {
      const stored = old[at + stride - 1]!;
      if (stored !== 0) this.insert(old[at]!, stride === 5 ? old[at + 1]! : 0, stride === 5 ? old[at + 2]! : 0, stride === 5 ? old[at + 3]! : 0, stored);
    }
  }
}
