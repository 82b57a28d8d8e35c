import { maskWord, type IpPrefix } from './ip-prefix.js';

/**
 * Longest-prefix match over IPv4 and IPv6 prefixes: one hash map per prefix length present,
 * probed from the longest length down. A look-up costs one masked key and one map probe per
 * distinct length (a handful in real maps), whatever the number of prefixes, so 100k clients
 * or resources look up as fast as ten. Look-ups happen once per new flow, not per packet.
 */
export class PrefixTable<T> {
  /** Per IP version: lengths present, longest first, and a map per length. */
  private readonly lengths: Record<4 | 6, number[]> = { 4: [], 6: [] };
  private readonly maps: Record<4 | 6, Map<number, Map<string | number, T[]>>> = { 4: new Map(), 6: new Map() };
  size = 0;

  add(prefix: IpPrefix, value: T): void {
    const byLength = this.maps[prefix.version];
    let m = byLength.get(prefix.length);
    if (!m) {
      m = new Map();
      byLength.set(prefix.length, m);
      this.lengths[prefix.version] = [...byLength.keys()].sort((a, b) => b - a);
    }
    const key = keyOf(prefix.version, prefix.words, prefix.length);
    const list = m.get(key);
    if (list) list.push(value);
    else m.set(key, [value]);
    this.size++;
  }

  /**
   * Entries of every prefix containing the address, longest prefix first, until `accept`
   * returns a result for one length's entries.
   */
  find<R>(version: 4 | 6, words: readonly number[], accept: (entries: readonly T[], length: number) => R | null): R | null {
    const byLength = this.maps[version];
    for (const length of this.lengths[version]) {
      const entries = byLength.get(length)!.get(keyOf(version, words, length));
      if (entries) {
        const r = accept(entries, length);
        if (r !== null) return r;
      }
    }
    return null;
  }
}

/** IPv4: the masked word. IPv6: the masked words joined (one string per look-up per length). */
function keyOf(version: 4 | 6, w: readonly number[], length: number): string | number {
  if (version === 4) return maskWord(w[0]!, length);
  return `${maskWord(w[0]!, length)}:${maskWord(w[1]!, length - 32)}:${maskWord(w[2]!, length - 64)}:${maskWord(w[3]!, length - 96)}`;
}
