import { PacketInfo, Skip, type SkipReason } from './packet-info.js';

/**
 * TCP header (RFC 9293 section 3.1). Needs the 20 fixed bytes captured; options may be cut by
 * the snaplen. The payload length is the IP payload less the data offset, not what was captured.
 */
export function decodeTcp(b: Buffer, p: number, end: number, info: PacketInfo): SkipReason {
  if (p + 20 > end) return Skip.TRANSPORT_TRUNCATED;
  const dataOffset = (b[p + 12]! >> 4) * 4;
  if (dataOffset < 20 || dataOffset > info.l4Length) return Skip.TCP_HEADER_BAD;
  info.srcPort = (b[p]! << 8) | b[p + 1]!;
  info.dstPort = (b[p + 2]! << 8) | b[p + 3]!;
  info.seq = ((b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!) >>> 0;
  info.ack = ((b[p + 8]! << 24) | (b[p + 9]! << 16) | (b[p + 10]! << 8) | b[p + 11]!) >>> 0;
  info.tcpFlags = ((b[p + 12]! & 0x01) << 8) | b[p + 13]!;
  info.payloadLength = info.l4Length - dataOffset;
  return Skip.NONE;
}
