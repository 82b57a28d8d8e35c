import type { PacketInfo } from './packet-info.js';

/** Dotted quad of an IPv4 address held as an unsigned 32-bit word. */
export function formatIpv4(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 0xff}.${(w >>> 8) & 0xff}.${w & 0xff}`;
}

/**
 * IPv6 text in the canonical form of RFC 5952: lower case, leading zeros dropped, the longest
 * run of two or more zero groups (the first, on a tie) shown as `::`.
 */
export function formatIpv6(w0: number, w1: number, w2: number, w3: number): string {
  const g = GROUPS;
  g[0] = w0 >>> 16; g[1] = w0 & 0xffff; g[2] = w1 >>> 16; g[3] = w1 & 0xffff;
  g[4] = w2 >>> 16; g[5] = w2 & 0xffff; g[6] = w3 >>> 16; g[7] = w3 & 0xffff;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // Built as one string, no arrays per address (the store made this text for every IPv6
  // session it wrote until its hot table kept the words: eeb27a2's message).
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += '::';
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLen) text += ':';
    const x = g[i]!;
    text += x < 256 ? HEX_BYTE[x]! : HEX_BYTE[x >>> 8]! + HEX_BYTE_2[x & 0xff]!;
  }
  return text;
}

/** formatIpv6's scratch: the eight groups. */
const GROUPS = new Uint16Array(8);
/** A byte as hex without leading zeros, and as two digits. */
const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16));
const HEX_BYTE_2 = HEX_BYTE.map((h) => h.padStart(2, '0'));

/**
 * IPv6 address text by its words, remembered in a direct-mapped table of `slots` entries: a
 * tunnel's sessions come from few addresses, and formatIpv6 builds a string of up to 15
 * pieces each time. When it still made four arrays an address, it took 300 ms of a
 * 20M-packet replay of the synthetic capture of `npm run bench` (20% IPv6) without this.
 */
export class Ipv6TextCache {
  private readonly words: Int32Array;
  private readonly texts: Array<string | null>;
  private readonly shift: number;

  constructor(slots = 4096) {
    const size = 2 ** Math.ceil(Math.log2(slots));
    this.words = new Int32Array(4 * size);
    this.texts = new Array<string | null>(size).fill(null);
    this.shift = 32 - Math.log2(size);
  }

  text(w0: number, w1: number, w2: number, w3: number): string {
    const a = w0 | 0;
    const b = w1 | 0;
    const c = w2 | 0;
    const d = w3 | 0;
    const slot = Math.imul(a ^ Math.imul(b, 0x85ebca6b) ^ Math.imul(c, 0xc2b2ae35) ^ Math.imul(d, 0x27d4eb2f), 0x9e3779b1) >>> this.shift;
    const k = 4 * slot;
    const w = this.words;
    const known = this.texts[slot]!;
    if (known !== null && w[k] === a && w[k + 1] === b && w[k + 2] === c && w[k + 3] === d) return known;
    const text = formatIpv6(w0, w1, w2, w3);
    w[k] = a;
    w[k + 1] = b;
    w[k + 2] = c;
    w[k + 3] = d;
    this.texts[slot] = text;
    return text;
  }
}

/** Source address of a decoded packet as text. */
export function formatSource(info: PacketInfo): string {
  return info.ipVersion === 4 ? formatIpv4(info.src0) : formatIpv6(info.src0, info.src1, info.src2, info.src3);
}

/** Destination address of a decoded packet as text. */
export function formatDestination(info: PacketInfo): string {
  return info.ipVersion === 4 ? formatIpv4(info.dst0) : formatIpv6(info.dst0, info.dst1, info.dst2, info.dst3);
}

/** `ip:port`, with brackets for IPv6 (`[v6]:port`, RFC 5952 section 6). */
export function formatEndpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
