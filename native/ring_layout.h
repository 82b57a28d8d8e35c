// Shared by the replay's addons (netlog_decode.cc writes the ring, netlog_flow.cc reads it): a
// decoded packet's place in src/replay/decoded-ring.ts, which checks each addon's exported
// `layout` against its own when it loads it, and the header values both read.
#pragma once
#include <cstdint>

namespace netlog {

constexpr uint32_t SLOT_PACKETS = 4096;
// A packet's words: source and destination address (4 each), ports, seq, payload, meta, then
// a run's count and bytes, or, for a packet carrying its flow's identity, the client's and the
// resource's positions.
constexpr uint32_t WORDS = 14;
constexpr uint32_t RUN_COUNT = 12;
constexpr uint32_t RUN_BYTES = 13;
constexpr uint32_t PRESET_CLIENT = 12;
constexpr uint32_t PRESET_RESOURCE = 13;
// The meta word: TCP flags (9 bits), protocol (8), IP version (4), fragment (2), preset identity (2).
constexpr int PROTOCOL_SHIFT = 9;
constexpr int VERSION_SHIFT = 17;
constexpr int FRAGMENT_SHIFT = 21;
constexpr int PRESET_SHIFT = 23;

constexpr uint32_t IPPROTO_TCP = 6;
constexpr uint32_t IPPROTO_UDP = 17;
constexpr uint32_t TCP_FIN = 0x01;
constexpr uint32_t TCP_SYN = 0x02;
constexpr uint32_t TCP_RST = 0x04;
constexpr uint32_t TCP_ACK = 0x10;

// flow-origin.ts senderIsOriginator: is the sender of the packet that opens a flow its
// originator? A SYN's sender, a SYN-ACK's receiver; otherwise the sender, unless its port
// looks like the service (well known, and the lower if both are). The decoding addon decides
// so for its look-ups ahead, the flow addon for the flows it creates.
inline bool senderIsOriginator(uint32_t protocol, uint32_t tcpFlags, uint32_t srcPort, uint32_t dstPort) {
  if (protocol == IPPROTO_TCP && (tcpFlags & TCP_SYN) != 0) return (tcpFlags & TCP_ACK) == 0;
  const bool looksLikeService = srcPort < 1024 && (dstPort >= 1024 || srcPort < dstPort);
  return !looksLikeService;
}

}  // namespace netlog
