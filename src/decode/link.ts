import { Skip } from './packet-info.js';

/** LINKTYPE_ values (tcpdump.org/linktypes.html) that carry IP and that netlog walks. */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  /** DLT_RAW as some systems write it in place of LINKTYPE_RAW. */
  RAW_DLT12: 12,
  RAW_DLT14: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

const SUPPORTED = new Set<number>(Object.values(LinkType));

export function isSupportedLinkType(linkType: number): boolean {
  return SUPPORTED.has(linkType);
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
// 802.1Q C-tag, 802.1ad S-tag, and the pre-standard QinQ tags some switches still send.
const ETHERTYPE_8021Q = 0x8100;
const ETHERTYPE_8021AD = 0x88a8;
const ETHERTYPE_QINQ_9100 = 0x9100;
const ETHERTYPE_QINQ_9200 = 0x9200;

/**
 * Returns the offset of the IP header in `b` for a packet at `off` of `capLen` captured bytes,
 * or the negated Skip reason. Raw and IP link types start at IP; the others are walked to it.
 */
export function networkOffset(b: Buffer, off: number, capLen: number, linkType: number): number {
  const end = off + capLen;
  switch (linkType) {
    case LinkType.RAW:
    case LinkType.RAW_DLT12:
    case LinkType.RAW_DLT14:
    case LinkType.IPV4:
    case LinkType.IPV6:
      return off;
    case LinkType.ETHERNET: {
      let p = off + 12;
      if (p + 2 > end) return -Skip.LINK_TRUNCATED;
      let type = (b[p]! << 8) | b[p + 1]!;
      while (
        type === ETHERTYPE_8021Q ||
        type === ETHERTYPE_8021AD ||
        type === ETHERTYPE_QINQ_9100 ||
        type === ETHERTYPE_QINQ_9200
      ) {
        p += 4;
        if (p + 2 > end) return -Skip.LINK_TRUNCATED;
        type = (b[p]! << 8) | b[p + 1]!;
      }
      return etherTypeIsIp(type) ? p + 2 : -Skip.NOT_IP;
    }
    case LinkType.LINUX_SLL: {
      // 16-byte header; protocol (an EtherType) in its last two bytes.
      if (off + 16 > end) return -Skip.LINK_TRUNCATED;
      return etherTypeIsIp((b[off + 14]! << 8) | b[off + 15]!) ? off + 16 : -Skip.NOT_IP;
    }
    case LinkType.LINUX_SLL2: {
      // 20-byte header; protocol first.
      if (off + 20 > end) return -Skip.LINK_TRUNCATED;
      return etherTypeIsIp((b[off]! << 8) | b[off + 1]!) ? off + 20 : -Skip.NOT_IP;
    }
    case LinkType.NULL:
    case LinkType.LOOP: {
      // A 4-byte address family: host order for NULL (so either order), network order for
      // LOOP. AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24, 28 or 30 (the BSDs).
      if (off + 4 > end) return -Skip.LINK_TRUNCATED;
      const family = b[off] !== 0 ? b[off]! : b[off + 3]!;
      return family === 2 || family === 10 || family === 24 || family === 28 || family === 30
        ? off + 4
        : -Skip.NOT_IP;
    }
    default:
      return -Skip.LINKTYPE_UNSUPPORTED;
  }
}

function etherTypeIsIp(type: number): boolean {
  return type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6;
}
