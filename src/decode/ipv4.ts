import { Fragment, PacketInfo, Skip, type SkipReason } from './packet-info.js';

/**
 * IPv4 (RFC 791). `end` is the end of the captured bytes, `wireEnd` the end of the frame on the
 * wire: lengths come from the header, bounded by the wire, so a short snaplen does not shrink
 * the payload. Fills addresses, protocol, fragment state and the transport offset and length.
 */
export function decodeIpv4(b: Buffer, o: number, end: number, wireEnd: number, info: PacketInfo): SkipReason {
  if (o + 20 > end) return Skip.IP_TRUNCATED;
  const ihl = (b[o]! & 0x0f) * 4;
  if (ihl < 20) return Skip.IP_HEADER_BAD;
  if (o + ihl > end) return Skip.IP_TRUNCATED;
  let totalLength = (b[o + 2]! << 8) | b[o + 3]!;
  // Total length 0 is what TSO/GSO hands the capture point before segmentation; tcpdump then
  // takes the length from the frame, and so do we.
  if (totalLength === 0) totalLength = wireEnd - o;
  if (totalLength < ihl) return Skip.IP_HEADER_BAD;
  // A length beyond the frame (a writer's wrong orig_len, a stripped trailer): use what the
  // frame holds, as tshark does, and say so, rather than lose the packet from its flow.
  info.lengthClamped = o + totalLength > wireEnd;
  if (info.lengthClamped) totalLength = wireEnd - o;

  info.ipVersion = 4;
  info.ipId = (b[o + 4]! << 8) | b[o + 5]!;
  info.protocol = b[o + 9]!;
  info.src0 = ((b[o + 12]! << 24) | (b[o + 13]! << 16) | (b[o + 14]! << 8) | b[o + 15]!) >>> 0;
  info.dst0 = ((b[o + 16]! << 24) | (b[o + 17]! << 16) | (b[o + 18]! << 8) | b[o + 19]!) >>> 0;
  info.src1 = info.src2 = info.src3 = 0;
  info.dst1 = info.dst2 = info.dst3 = 0;
  const flagsOffset = (b[o + 6]! << 8) | b[o + 7]!;
  const fragmentOffset = (flagsOffset & 0x1fff) * 8;
  const moreFragments = (flagsOffset & 0x2000) !== 0;
  info.fragment = fragmentOffset > 0 ? Fragment.LATER : moreFragments ? Fragment.FIRST : Fragment.NONE;
  info.l4Offset = o + ihl;
  info.l4Length = totalLength - ihl;
  return Skip.NONE;
}
