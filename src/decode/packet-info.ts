/**
 * Why a packet did not yield a TCP or UDP header. Counted per reason; never thrown.
 * The numeric value indexes the decoder's counters.
 */
export const Skip = {
  NONE: 0,
  LINKTYPE_UNSUPPORTED: 1,
  LINK_TRUNCATED: 2,
  NOT_IP: 3,
  IP_TRUNCATED: 4,
  IP_VERSION_BAD: 5,
  IP_HEADER_BAD: 6,
  IPV6_EXTENSION_BAD: 7,
  OTHER_TRANSPORT: 8,
  TRANSPORT_TRUNCATED: 9,
  TCP_HEADER_BAD: 10,
  UDP_HEADER_BAD: 11,
  FRAGMENT_UNMATCHED: 12,
} as const;
export type SkipReason = (typeof Skip)[keyof typeof Skip];

/** Stable names for counters, logs and metrics, indexed by SkipReason. */
export const SKIP_REASON_NAMES: readonly string[] = [
  'decoded',
  'linktype-unsupported',
  'link-truncated',
  'not-ip',
  'ip-truncated',
  'ip-version-bad',
  'ip-header-bad',
  'ipv6-extension-bad',
  'other-transport',
  'transport-truncated',
  'tcp-header-bad',
  'udp-header-bad',
  'fragment-unmatched',
];

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** A datagram's place in IP fragmentation. */
export const Fragment = {
  /** Not fragmented (or an atomic fragment, RFC 6946). */
  NONE: 0,
  /** Offset 0 with more to come: carries the transport header. */
  FIRST: 1,
  /** A later fragment: ports come from the first; no transport header of its own. */
  LATER: 2,
} as const;

// TCP flag bits (RFC 9293 section 3.1, plus ECN bits of RFC 3168 and NS of RFC 3540).
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/**
 * The decoded view of one packet, written in place by the decoder and reused for every packet:
 * nothing here is allocated per packet. Addresses are 32-bit words in network order: an IPv4
 * address is `src0`/`dst0` with the other words 0; IPv6 uses all four.
 */
export class PacketInfo {
  ipVersion = 0;
  protocol = 0;
  src0 = 0;
  src1 = 0;
  src2 = 0;
  src3 = 0;
  dst0 = 0;
  dst1 = 0;
  dst2 = 0;
  dst3 = 0;
  srcPort = 0;
  dstPort = 0;
  /** TCP flags byte, with NS as bit 8. */
  tcpFlags = 0;
  /** TCP sequence and acknowledgement numbers, unsigned 32-bit. */
  seq = 0;
  ack = 0;
  /**
   * Transport payload bytes this packet carries, from the IP length fields (not the captured
   * length): TCP data after the header, UDP data after its 8 bytes; for a later fragment, the
   * fragment's data.
   */
  payloadLength = 0;
  /** One of Fragment. */
  fragment = 0;
  ipId = 0;
  /** Offset of the transport header in the packet buffer. */
  l4Offset = 0;
  /** Bytes from the transport header to the end of the IP payload, per the IP length fields. */
  l4Length = 0;
  /** The IP length claimed more than the frame holds and was cut to the frame. */
  lengthClamped = false;
  /**
   * Not the decoder's: the identity of the flow this packet would open, when a replay's
   * decoding thread looked it up ahead (flow-identifier.ts PresetIdentity; 0: not looked up),
   * with the client's and resource's positions in the org map (-1: none).
   */
  presetIdentity = 0;
  presetClient = -1;
  presetResource = -1;
}
