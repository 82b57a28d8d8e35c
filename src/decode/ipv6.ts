import { Fragment, PacketInfo, Skip, type SkipReason } from './packet-info.js';

// Extension headers walked to reach the transport header (RFC 8200 section 4, RFC 4302 AH,
// RFC 6275 mobility).
const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const AUTH = 51;
const DEST_OPTS = 60;
const MOBILITY = 135;
/** Jumbo Payload option (RFC 2675): the 32-bit length when the header's is 0. */
const OPT_JUMBO = 0xc2;

function u32(b: Buffer, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/**
 * IPv6 (RFC 8200): the fixed header, then the extension-header chain walked to the transport
 * header. Every extension length is checked against the captured bytes and the payload, so
 * a malformed chain ends the walk with a reason, never a read past the packet.
 */
export function decodeIpv6(b: Buffer, o: number, end: number, wireEnd: number, info: PacketInfo): SkipReason {
  if (o + 40 > end) return Skip.IP_TRUNCATED;
  const payloadLength = (b[o + 4]! << 8) | b[o + 5]!;
  let next = b[o + 6]!;
  // Payload length 0: a jumbogram (found in hop-by-hop below) or a GSO/BIG TCP super-packet
  // before segmentation; until a jumbo option says otherwise, the frame gives the length.
  let ipEnd = payloadLength === 0 ? wireEnd : o + 40 + payloadLength;
  // Beyond the frame: cut to the frame, as for IPv4.
  info.lengthClamped = ipEnd > wireEnd;
  if (info.lengthClamped) ipEnd = wireEnd;

  info.ipVersion = 6;
  info.src0 = u32(b, o + 8);
  info.src1 = u32(b, o + 12);
  info.src2 = u32(b, o + 16);
  info.src3 = u32(b, o + 20);
  info.dst0 = u32(b, o + 24);
  info.dst1 = u32(b, o + 28);
  info.dst2 = u32(b, o + 32);
  info.dst3 = u32(b, o + 36);
  info.fragment = Fragment.NONE;
  info.ipId = 0;

  let p = o + 40;
  for (;;) {
    if (next !== HOP_BY_HOP && next !== ROUTING && next !== DEST_OPTS && next !== FRAGMENT && next !== AUTH && next !== MOBILITY) {
      break;
    }
    if (p + 8 > end || p + 8 > ipEnd) return Skip.IPV6_EXTENSION_BAD;
    let length: number;
    if (next === FRAGMENT) {
      length = 8;
      const offsetFlags = (b[p + 2]! << 8) | b[p + 3]!;
      const fragmentOffset = offsetFlags & 0xfff8;
      const moreFragments = (offsetFlags & 1) !== 0;
      info.ipId = u32(b, p + 4);
      info.fragment = fragmentOffset > 0 ? Fragment.LATER : moreFragments ? Fragment.FIRST : Fragment.NONE;
    } else if (next === AUTH) {
      length = (b[p + 1]! + 2) * 4;
    } else {
      length = (b[p + 1]! + 1) * 8;
    }
    if (p + length > end || p + length > ipEnd) return Skip.IPV6_EXTENSION_BAD;
    if (next === HOP_BY_HOP && payloadLength === 0) {
      const jumbo = jumboLength(b, p + 2, p + length);
      if (jumbo > 0) {
        ipEnd = o + 40 + jumbo;
        if (ipEnd > wireEnd) {
          info.lengthClamped = true;
          ipEnd = wireEnd;
        }
      }
    }
    next = b[p]!;
    p += length;
    if (info.fragment === Fragment.LATER) break; // what follows is payload, not headers
  }
  info.protocol = next;
  info.l4Offset = p;
  info.l4Length = ipEnd - p;
  return Skip.NONE;
}

/** Walks hop-by-hop options in [p, end) for a Jumbo Payload option; 0 when there is none. */
function jumboLength(b: Buffer, p: number, end: number): number {
  while (p < end) {
    const type = b[p]!;
    if (type === 0) {
      p += 1; // Pad1
      continue;
    }
    if (p + 2 > end) return 0;
    const len = b[p + 1]!;
    if (type === OPT_JUMBO && len === 4 && p + 6 <= end) return u32(b, p + 2);
    p += 2 + len;
  }
  return 0;
}
