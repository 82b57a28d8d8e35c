import { Fragment, PacketInfo, Skip, type SkipReason } from './packet-info.js';

/**
 * UDP header (RFC 768). The payload length is the UDP length field less 8, checked against the
 * IP payload. Two cases use the IP payload instead: the first fragment of a fragmented datagram
 * (whose UDP length spans all fragments; the later ones add their own bytes) and length 0 in an
 * IPv6 jumbogram (RFC 2675 section 4).
 */
export function decodeUdp(b: Buffer, p: number, end: number, info: PacketInfo): SkipReason {
  if (p + 8 > end) return Skip.TRANSPORT_TRUNCATED;
  if (info.l4Length < 8) return Skip.UDP_HEADER_BAD;
  const udpLength = (b[p + 4]! << 8) | b[p + 5]!;
  info.srcPort = (b[p]! << 8) | b[p + 1]!;
  info.dstPort = (b[p + 2]! << 8) | b[p + 3]!;
  info.tcpFlags = 0;
  info.seq = 0;
  info.ack = 0;
  if (info.fragment === Fragment.FIRST || (udpLength === 0 && info.ipVersion === 6)) {
    info.payloadLength = info.l4Length - 8;
    return Skip.NONE;
  }
  if (udpLength < 8 || udpLength > info.l4Length) return Skip.UDP_HEADER_BAD;
  info.payloadLength = udpLength - 8;
  return Skip.NONE;
}
