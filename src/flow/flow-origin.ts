import { IPPROTO_TCP, TCP_ACK, TCP_SYN, type PacketInfo } from '../decode/packet-info.js';

/**
 * Whether the sender of the packet that opens a flow is its originator: a SYN's sender, a
 * SYN-ACK's receiver; otherwise the sender, unless its port looks like the service, as Zeek
 * decides for connections first seen mid-stream. The flow table decides so for each new flow,
 * and a replay's decoding thread does the same when it looks a new flow's identity up ahead.
 */
export function senderIsOriginator(info: PacketInfo): boolean {
  if (info.protocol === IPPROTO_TCP && (info.tcpFlags & TCP_SYN) !== 0) return (info.tcpFlags & TCP_ACK) === 0;
  return !looksLikeService(info.srcPort, info.dstPort);
}

/** True when the source port is the likely service: well known, and lower if both are. */
function looksLikeService(srcPort: number, dstPort: number): boolean {
  if (srcPort >= 1024) return false;
  return dstPort >= 1024 || srcPort < dstPort;
}
