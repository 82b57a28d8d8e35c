import { isIP } from 'node:net';

/** An address or prefix as numbers: IPv4 in w[0]; IPv6 in w[0..3] (32-bit words, network order). */
export interface IpPrefix {
  version: 4 | 6;
  words: [number, number, number, number];
  /** Prefix length in bits: 32/128 for a single address. */
  length: number;
}

function parseIpv4(text: string): number | null {
  if (isIP(text) !== 4) return null;
  return text.split('.').reduce((a, o) => (a * 256 + Number(o)) >>> 0, 0);
}

function parseIpv6(text: string): [number, number, number, number] | null {
  if (isIP(text) !== 6) return null;
  let t = text;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (v4) {
    const w = parseIpv4(v4[1]!)!;
    t = t.slice(0, -v4[1]!.length) + `${(w >>> 16).toString(16)}:${(w & 0xffff).toString(16)}`;
  }
  const [head, tail] = t.includes('::') ? t.split('::') : [t, undefined];
  const h = head ? head.split(':') : [];
  const tl = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl].map((g) => parseInt(g, 16));
  return [0, 1, 2, 3].map((i) => ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0) as [number, number, number, number];
}

/** Parses `ip` or `ip/len` (IPv4 or IPv6); null when it is neither. Host bits are cleared. */
export function parsePrefix(text: string): IpPrefix | null {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? null : text.slice(slash + 1);
  if (lenText !== null && !/^\d{1,3}$/.test(lenText)) return null;
  const v4 = parseIpv4(addr);
  if (v4 !== null) {
    const length = lenText === null ? 32 : Number(lenText);
    if (length > 32) return null;
    return { version: 4, words: [maskWord(v4, length), 0, 0, 0], length };
  }
  const v6 = parseIpv6(addr);
  if (v6 === null) return null;
  const length = lenText === null ? 128 : Number(lenText);
  if (length > 128) return null;
  return { version: 6, words: v6.map((w, i) => maskWord(w, Math.max(0, Math.min(32, length - 32 * i)))) as IpPrefix['words'], length };
}

/** Keeps the top `bits` bits of a 32-bit word. */
export function maskWord(w: number, bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return w >>> 0;
  return (w & (0xffffffff << (32 - bits))) >>> 0;
}
