import { maskWord, type IpPrefix } from './ip-prefix.js';

/**
 * Longest-prefix match over IPv4 and IPv6 prefixes: one hash table per prefix length present,
 * probed from the longest length down. A look-up costs one masked key and one probe per
 * distinct length (a handful in real maps), whatever the number of prefixes, so 100k clients
 * or resources look up as fast as ten. The tables are open addressing over 32-bit words
 * (1 per IPv4 key, 4 per IPv6 key): a look-up allocates nothing.
 */
export class PrefixTable<T> {
  private readonly tables: Record<4 | 6, LengthTable[]> = { 4: [], 6: [] };
  /** Entry lists, indexed by the tables' values. */
  private readonly lists: T[][] = [];
  private readonly probe = new Uint32Array(4);
  size = 0;

  add(prefix: IpPrefix, value: T): void {
    const version = prefix.version;
    let table = this.tables[version].find((t) => t.length === prefix.length);
    if (!table) {
      table = new LengthTable(prefix.length, version === 4 ? 1 : 4);
      this.tables[version].push(table);
      this.tables[version].sort((a, b) => b.length - a.length);
    }
    masked(prefix.words, prefix.length, this.probe);
    const at = table.get(this.probe);
    if (at >= 0) this.lists[at]!.push(value);
    else {
      table.set(this.probe, this.lists.length);
      this.lists.push([value]);
    }
    this.size++;
  }

  /** Every prefix's entry list (to prepare per-prefix data ahead of look-ups). */
  entryLists(): readonly T[][] {
    return this.lists;
  }

  /**
   * Entries of every prefix containing the address, longest prefix first, until `accept`
   * returns a result for one length's entries. `a` and `b` are passed through to `accept`, so
   * a caller needs no closure per look-up; so is the entry list's index (see entryLists).
   */
  find<R, A, B>(version: 4 | 6, words: readonly number[], accept: (entries: readonly T[], a: A, b: B, list: number) => R | null, a: A, b: B): R | null {
    const tables = this.tables[version];
    const probe = this.probe;
    for (let i = 0; i < tables.length; i++) {
      const t = tables[i]!;
      masked(words, t.length, probe);
      const at = t.get(probe);
      if (at >= 0) {
        const r = accept(this.lists[at]!, a, b, at);
        if (r !== null) return r;
      }
    }
    return null;
  }
}

function masked(words: readonly number[], length: number, out: Uint32Array): void {
  out[0] = maskWord(words[0]!, length);
  out[1] = maskWord(words[1]!, length - 32);
  out[2] = maskWord(words[2]!, length - 64);
  out[3] = maskWord(words[3]!, length - 96);
}

/** Keys of one prefix length: open addressing, linear probing, grown at half full. */
class LengthTable {
  private keys = new Uint32Array(0);
  private values = new Int32Array(0);
  private mask = -1;
  private count = 0;

  constructor(
    readonly length: number,
    private readonly width: number,
  ) {
    this.resize(16);
  }

  private slot(key: Uint32Array): number {
    let h = 0x9747b28c;
    for (let i = 0; i < this.width; i++) {
      h = Math.imul(h ^ key[i]!, 0x85ebca6b);
      h ^= h >>> 13;
    }
    return (h ^ (h >>> 16)) & this.mask;
  }

  get(key: Uint32Array): number {
    const w = this.width;
    for (let s = this.slot(key); ; s = (s + 1) & this.mask) {
      const v = this.values[s]!;
      if (v < 0) return -1;
      const k = s * w;
      if (this.keys[k] === key[0] && (w === 1 || (this.keys[k + 1] === key[1] && this.keys[k + 2] === key[2] && this.keys[k + 3] === key[3]))) {
        return v;
      }
    }
  }

  set(key: Uint32Array, value: number): void {
    if ((this.count + 1) * 2 > this.values.length) this.resize(this.values.length * 2);
    this.insert(key, value);
    this.count++;
  }

  private insert(key: Uint32Array, value: number): void {
    let s = this.slot(key);
    while (this.values[s]! >= 0) s = (s + 1) & this.mask;
    this.keys.set(key.subarray(0, this.width), s * this.width);
    this.values[s] = value;
  }

  private resize(slots: number): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.keys = new Uint32Array(slots * this.width);
    this.values = new Int32Array(slots).fill(-1);
    this.mask = slots - 1;
    const key = new Uint32Array(4);
    for (let s = 0; s < oldValues.length; s++) {
      if (oldValues[s]! < 0) continue;
      key.set(oldKeys.subarray(s * this.width, (s + 1) * this.width));
      this.insert(key, oldValues[s]!);
    }
  }
}
