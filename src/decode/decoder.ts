import type { PacketBatch } from '../capture/packet-batch.js';
import { FragmentTable } from './fragments.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import { networkOffset } from './link.js';
import { Fragment, IPPROTO_TCP, IPPROTO_UDP, PacketInfo, SKIP_REASON_NAMES, Skip, type SkipReason } from './packet-info.js';
import { decodeTcp } from './tcp.js';
import { decodeUdp } from './udp.js';

/**
 * Walks link → IP → TCP/UDP for one packet at a time into one reused PacketInfo, the way
 * gopacket's DecodingLayerParser fills preallocated layers. A packet that cannot be walked is
 * counted under its reason and skipped; nothing here throws or allocates per packet.
 */
export class Decoder {
  readonly info = new PacketInfo();
  /** Packets per SkipReason; index 0 counts packets decoded to TCP or UDP. */
  readonly counts = new Float64Array(SKIP_REASON_NAMES.length);
  /** Packets decoded with an IP length cut to the frame (counted, not skipped). */
  lengthsClamped = 0;
  private readonly fragments = new FragmentTable();

  /** Decodes packet `i` of a batch. */
  decodeAt(batch: PacketBatch, i: number): SkipReason {
    return this.decode(batch.buf, batch.dataOffset[i]!, batch.capturedLength[i]!, batch.originalLength[i]!, batch.linkType[i]!);
  }

  /**
   * Decodes the packet at `buf[offset .. offset+capturedLength)`; `originalLength` is its
   * length on the wire. Returns Skip.NONE when `info` holds a TCP or UDP packet.
   */
  decode(buf: Buffer, offset: number, capturedLength: number, originalLength: number, linkType: number): SkipReason {
    const r = this.walk(buf, offset, capturedLength, originalLength, linkType);
    this.counts[r]!++;
    return r;
  }

  private walk(b: Buffer, off: number, capLen: number, origLen: number, linkType: number): SkipReason {
    const l3 = networkOffset(b, off, capLen, linkType);
    if (l3 < 0) return -l3 as SkipReason;
    const end = off + capLen;
    // Some writers record an original length below the captured one; the frame is at least
    // what was captured.
    const wireEnd = off + (origLen > capLen ? origLen : capLen);
    if (l3 >= end) return Skip.IP_TRUNCATED;
    const version = b[l3]! >> 4;
    const info = this.info;
    let r: SkipReason;
    if (version === 4) r = decodeIpv4(b, l3, end, wireEnd, info);
    else if (version === 6) r = decodeIpv6(b, l3, end, wireEnd, info);
    else return Skip.IP_VERSION_BAD;
    if (r !== Skip.NONE) return r;
    if (info.lengthClamped) this.lengthsClamped++;

    const protocol = info.protocol;
    if (protocol !== IPPROTO_TCP && protocol !== IPPROTO_UDP) return Skip.OTHER_TRANSPORT;
    if (info.fragment === Fragment.LATER) {
      if (!this.fragments.recall(info)) return Skip.FRAGMENT_UNMATCHED;
      info.tcpFlags = 0;
      info.payloadLength = info.l4Length;
      return Skip.NONE;
    }
    r = protocol === IPPROTO_TCP ? decodeTcp(b, info.l4Offset, end, info) : decodeUdp(b, info.l4Offset, end, info);
    if (r === Skip.NONE && info.fragment === Fragment.FIRST) this.fragments.remember(info);
    return r;
  }

  /** Counters as { reason name: packets }, for logs, metrics and tests; zero counts left out. */
  tally(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]! > 0) out[SKIP_REASON_NAMES[i]!] = this.counts[i]!;
    return out;
  }
}
