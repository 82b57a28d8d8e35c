import { Fragment, IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_SYN, type PacketInfo } from '../decode/packet-info.js';
import { PresetIdentity, type IdentityRefs } from '../flow/flow-identifier.js';
import { senderIsOriginator } from '../flow/flow-origin.js';
import { fmix } from '../flow/hash-mix.js';
import { IdentityMatcher, type IdentityMatcherData } from '../identity/identity-matcher.js';
import { flattenMatcher } from '../identity/flat-matcher.js';

/**
 * UDP 5-tuples remembered: 2^16 slots, one hash each. An overwritten slot costs one more
 * look-up here for a flow already open; a collision, a look-up on the flow table's thread.
 */
const UDP_SEEN_BITS = 16;

/**
 * A replay's decoding thread looks up the identity of new flows, so the flow table's thread,
 * the one that bounds a replay, does not (an org map of 100k clients and resources costs a
 * look-up's worth of cache misses per flow). It cannot know which packets open flows, so it
 * takes the likely ones: a SYN, and a UDP packet whose 5-tuple it has not seen lately (a small
 * table of hashes: a request's answer, or the next datagram of a stream, finds it there). The
 * answer rides in the ring with the packet (PacketInfo.presetIdentity); the flow table takes
 * it if the packet opens a flow and looks up itself for any other new flow (a connection first
 * seen mid-stream, a UDP flow whose hash was overwritten). Either way the answer is the same:
 * the same matcher, the same originator (senderIsOriginator), the same generation of the map.
 */
export class IdentityAhead {
  private readonly matcher: IdentityMatcher;
  private readonly refs: IdentityRefs = { generation: 0, client: -1, resource: -1 };
  private readonly origin = [0, 0, 0, 0];
  private readonly responder = [0, 0, 0, 0];
  /** Hash tags (odd, 0: empty) of recent UDP 5-tuples, by slot. The decoding addon reads and
   *  writes it too (native-decode.ts), as mark() does, for the packets it looks up itself. */
  readonly udpSeen = new Int32Array(1 << UDP_SEEN_BITS);
  private flat: Int32Array | null = null;

  constructor(private readonly data: IdentityMatcherData) {
    this.matcher = IdentityMatcher.from(data);
  }

  /** The matcher as the decoding addon takes it (flat-matcher.ts): as the map made it, or
   *  made here on first use when the data came without it. */
  get flattened(): Int32Array {
    return (this.flat ??= this.data.flat ?? flattenMatcher(this.data));
  }

  /** Sets `info`'s preset identity: looked up for a packet likely to open a flow, else NONE. */
  mark(info: PacketInfo): void {
    info.presetIdentity = PresetIdentity.NONE;
    if (info.fragment !== Fragment.NONE) return;
    if (info.protocol === IPPROTO_TCP) {
      if ((info.tcpFlags & (TCP_SYN | TCP_ACK)) !== TCP_SYN) return;
    } else if (info.protocol !== IPPROTO_UDP || this.seenUdp(info)) return;
    const senderIsOrig = senderIsOriginator(info);
    const a = senderIsOrig ? this.origin : this.responder;
    const b = senderIsOrig ? this.responder : this.origin;
    a[0] = info.src0; a[1] = info.src1; a[2] = info.src2; a[3] = info.src3;
    b[0] = info.dst0; b[1] = info.dst1; b[2] = info.dst2; b[3] = info.dst3;
    const refs = this.refs;
    const protocol = info.protocol === IPPROTO_TCP ? 'tcp' : 'udp';
    const inScope = this.matcher.match(info.ipVersion === 6 ? 6 : 4, this.origin, this.responder, protocol, senderIsOrig ? info.dstPort : info.srcPort, refs);
    info.presetIdentity = inScope ? PresetIdentity.IN_SCOPE : PresetIdentity.OUT_OF_SCOPE;
    info.presetClient = refs.client;
    info.presetResource = refs.resource;
  }

  /** Whether the packet's 5-tuple (either direction) was seen lately; remembers it if not. */
  private seenUdp(info: PacketInfo): boolean {
    // Endpoint hashes added, so both directions give the same sum.
    const h = fmix(endpoint(info.src0, info.src1, info.src2, info.src3, info.srcPort) + endpoint(info.dst0, info.dst1, info.dst2, info.dst3, info.dstPort));
    const slot = h >>> (32 - UDP_SEEN_BITS);
    const tag = h | 1;
    if (this.udpSeen[slot] === tag) return true;
    this.udpSeen[slot] = tag;
    return false;
  }
}

function endpoint(w0: number, w1: number, w2: number, w3: number, port: number): number {
  return fmix(w0 ^ Math.imul(w1, 0x85ebca6b) ^ Math.imul(w2, 0xc2b2ae35) ^ Math.imul(w3, 0x27d4eb2f) ^ Math.imul(port + 1, 0x9e3779b1));
}
