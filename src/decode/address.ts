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
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
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
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
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
