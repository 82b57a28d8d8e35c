import { Fragment, IPPROTO_TCP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type PacketInfo } from '../decode/packet-info.js';
import { NetlogError } from '../errors.js';
import { Endpoint, History, tcpConnState, udpConnState } from './conn-state.js';
import { FlowSlots, KEY_WORDS, NIL, resized } from './flow-slots.js';
import { PresetIdentity, type FlowIdentifier, type IdentityRefs } from './flow-identifier.js';
import { senderIsOriginator } from './flow-origin.js';
import { fmix } from './hash-mix.js';
import { HistoryText } from './history-text.js';
import { BATCH_ROWS, HISTORY_CODES, ROW_IPV4, ROW_IPV6, SessionBatch, STILL_OPEN } from './session-batch.js';
import { CONN_STATES, END_REASONS, type ConnState, type EndReason, type SessionRecord } from './session-record.js';

export interface FlowTimeouts {
  /** Idle timeout of an established TCP connection, seconds (default 2 h). */
  tcpEstablishedS: number;
  /** Idle timeout of a TCP connection in its handshake, half-open or closing, seconds (30). */
  tcpTransientS: number;
  /** Idle timeout of a UDP exchange, seconds (60). */
  udpS: number;
  /** After FIN both ways, or a RST: how long late packets (the last ACK, a retransmitted FIN
   *  whose ACK was lost, a second RST) still join the session before it is recorded, seconds
   *  (1). A new SYN on the 4-tuple records it at once. */
  lingerS: number;
}

export const DEFAULT_TIMEOUTS: FlowTimeouts = { tcpEstablishedS: 7200, tcpTransientS: 30, udpS: 60, lingerS: 1 };
export const DEFAULT_MAX_FLOWS = 1_000_000;

export interface FlowTrackerOptions {
  maxFlows?: number;
  /** Slots allocated up front (default INITIAL_SLOTS; they double on demand up to maxFlows). */
  initialFlows?: number;
  timeouts?: Partial<FlowTimeouts>;
  /**
   * Receives finished sessions, in the order they end, a batch at a time: when the batch is
   * full, and at `deliver()` (call it after each run of packets, so sessions are not held back).
   * The batch is reused after the call: copy what you keep.
   */
  onSessions?: (batch: SessionBatch) => void;
  /** Receives each finished session as a record, at once (simpler and slower than onSessions). */
  onSession?: (record: SessionRecord) => void;
  /** Fills orgId, siteId, clientId, userId, siteResourceId, and decides scope, once per flow. */
  identifier?: FlowIdentifier;
}

// Lists a flow sits on, one per idle timeout; each ordered by last activity.
const LIST_UDP = 0;
const LIST_TCP_ESTABLISHED = 1;
const LIST_TCP_TRANSIENT = 2;
const LIST_LINGER = 3;
const LISTS = 4;

// Per-flow flags.
const F_TCP = 1;
/** The originator is the key's "hi" endpoint (the key orders endpoints, not roles). */
const F_ORIG_IS_HI = 2;
const F_SEQ_KNOWN_ORIG = 4;
const F_SEQ_KNOWN_RESP = 8;
/** Ended by FIN both ways (linger list) or by RST. */
const F_ENDED_FIN = 16;
const F_ENDED_RST = 32;

const HISTORY_MAX = HISTORY_CODES; // 9 letters, each at most once per direction

/** A flow's identity refs in FlowTracker.ids: four words (the fourth unused), so that a
 *  slot's refs never straddle two cache lines. */
export const ID_WORDS = 4;
const ID_GENERATION = 0;
const ID_CLIENT = 1;
const ID_RESOURCE = 2;

/**
 * Turns decoded TCP/UDP packets into sessions. One flow per symmetric 5-tuple in FlowSlots;
 * TCP follows Zeek's endpoint states, counts payload bytes from sequence space and keeps Zeek's
 * history letters; UDP counts payload lengths. Every way a flow ends (FIN, RST, idle timeout,
 * LRU eviction, end of capture, shutdown) goes through `end`, which emits exactly one
 * SessionRecord. Per packet nothing is allocated: the key is built in a reused probe and all
 * state lives in typed arrays.
 */
export class FlowTracker {
  readonly timeouts: FlowTimeouts;
  private readonly timeoutUs: Float64Array;
  /** How often (packet time) idle flows are swept: every second, or the shortest timeout. */
  private readonly sweepIntervalUs: number;
  private readonly slots: FlowSlots;
  private readonly onSessions: (batch: SessionBatch) => void;
  /** Ended sessions not yet handed on. */
  private readonly batch: SessionBatch;
  private readonly historyText = new HistoryText();
  private readonly probe = new Uint32Array(KEY_WORDS);
  /** Packet time of the next expiry sweep, µs. */
  private nextSweepUs = 0;
  /** Latest packet time seen, µs: the tracker's clock. */
  nowUs = 0;
  /** The slot of the last packet's flow (NIL once that flow ended). */
  private lastSlot = NIL;

  // Per-flow state (index = slot; [2 * slot + 0] originator, [2 * slot + 1] responder).
  private flags = new Uint8Array(0);
  private firstUs = new Float64Array(0);
  private lastUs = new Float64Array(0);
  private packets = new Float64Array(0);
  /** UDP: payload bytes. TCP: sequence-space high-water mark relative to seqBase. */
  private bytes = new Float64Array(0);
  private missed = new Float64Array(0);
  /** The most recent sequence gap, relative [start, end), so a late segment can fill it. */
  private holeStart = new Float64Array(0);
  private holeEnd = new Float64Array(0);
  private seqBase = new Uint32Array(0);
  private endpoint = new Uint8Array(0);
  private historySeen = new Uint32Array(0);
  private history = new Uint8Array(0);
  private historyLength = new Uint8Array(0);
  /**
   * Identity refs of the flow, ID_WORDS words a slot: the org map generation (-1 out of scope,
   * -2 no identifier) and the client's and resource's positions in it. One array, not three:
   * a flow's refs are written at its start and read at its end, long after, so each array was
   * a cache miss of its own there (with a 100k map, create() took 17 ms more of a replay of
   * the bench capture than without; scratch profiles).
   */
  private ids = new Int32Array(0);
  private readonly refs: IdentityRefs = { generation: 0, client: -1, resource: -1 };
  private readonly identifier: FlowIdentifier | undefined;
  private readonly origin = [0, 0, 0, 0];
  private readonly responder = [0, 0, 0, 0];
  /** Sessions that ended out of scope: counted, never recorded. */
  outOfScope = 0;
  /** The identifier generation whose look-ups ahead are taken (-1: none; identifyAheadFrom). */
  private aheadGeneration = -1;
  /** New flows whose identity was looked up ahead, by a replay's decoding thread. */
  identifiedAhead = 0;

  /** Bumped whenever the table's arrays are replaced (it grew): a fast path that holds them
   *  (native-flow.ts) registers them again. */
  layout = 0;

  /** Flows ended so far, by reason. */
  readonly ended: Record<EndReason, number> = { fin: 0, rst: 0, idle: 0, evicted: 0, shutdown: 0, 'capture-end': 0 };

  constructor(options: FlowTrackerOptions) {
    const maxFlows = options.maxFlows ?? DEFAULT_MAX_FLOWS;
    if (!Number.isInteger(maxFlows) || maxFlows < 1) {
      throw new NetlogError('ERR_CONFIG_INVALID', `max flows must be a positive integer, not ${maxFlows}`);
    }
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    for (const [name, v] of Object.entries(this.timeouts)) {
      if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v))) {
        throw new NetlogError('ERR_CONFIG_INVALID', `timeout ${name} must be a number of seconds >= 0, not ${v}`);
      }
    }
    const t = this.timeouts;
    this.timeoutUs = Float64Array.from([t.udpS, t.tcpEstablishedS, t.tcpTransientS, t.lingerS], (s) => s * 1e6);
    this.sweepIntervalUs = Math.min(1e6, ...this.timeoutUs);
    const onSession = options.onSession;
    if (options.onSessions) {
      this.onSessions = options.onSessions;
      this.batch = new SessionBatch(BATCH_ROWS);
    } else if (onSession) {
      this.onSessions = (b) => onSession(b.record(0));
      this.batch = new SessionBatch(1);
    } else {
      throw new NetlogError('ERR_CONFIG_INVALID', 'FlowTracker needs onSessions or onSession');
    }
    this.identifier = options.identifier;
    this.batch.identifier = options.identifier ?? null;
    this.slots = new FlowSlots(maxFlows, LISTS, (cap) => this.grow(cap), options.initialFlows);
  }

  /** Flows open now. */
  get openFlows(): number {
    return this.slots.count;
  }

  private grow(cap: number): void {
    this.layout++;
    this.flags = resized(this.flags, cap);
    this.firstUs = resized(this.firstUs, cap);
    this.lastUs = resized(this.lastUs, cap);
    this.packets = resized(this.packets, 2 * cap);
    this.bytes = resized(this.bytes, 2 * cap);
    this.missed = resized(this.missed, 2 * cap);
    this.holeStart = resized(this.holeStart, 2 * cap);
    this.holeEnd = resized(this.holeEnd, 2 * cap);
    this.seqBase = resized(this.seqBase, 2 * cap);
    this.endpoint = resized(this.endpoint, 2 * cap);
    this.historySeen = resized(this.historySeen, cap);
    this.history = resized(this.history, HISTORY_MAX * cap);
    this.historyLength = resized(this.historyLength, cap);
    this.ids = resized(this.ids, ID_WORDS * cap);
  }

  /** Accounts one decoded TCP or UDP packet captured at `tsSec` + `tsNsec`. */
  packet(info: PacketInfo, tsSec: number, tsNsec: number): void {
    const now = tsSec * 1e6 + Math.floor(tsNsec / 1000);
    if (now > this.nowUs) this.nowUs = now;
    if (this.nowUs >= this.nextSweepUs) {
      this.expire(this.nowUs);
      this.nextSweepUs = this.nowUs + this.sweepIntervalUs;
    }

    // Symmetric key: the lower (address, port) endpoint first, so both directions meet.
    const p = this.probe;
    const srcLow = lessEndpoint(info);
    if (srcLow) {
      p[0] = info.src0; p[1] = info.src1; p[2] = info.src2; p[3] = info.src3;
      p[4] = info.dst0; p[5] = info.dst1; p[6] = info.dst2; p[7] = info.dst3;
      p[8] = ((info.srcPort << 16) | info.dstPort) >>> 0;
    } else {
      p[0] = info.dst0; p[1] = info.dst1; p[2] = info.dst2; p[3] = info.dst3;
      p[4] = info.src0; p[5] = info.src1; p[6] = info.src2; p[7] = info.src3;
      p[8] = ((info.dstPort << 16) | info.srcPort) >>> 0;
    }
    p[9] = (info.ipVersion << 8) | info.protocol;
    const tcp = info.protocol === IPPROTO_TCP;
    const flags = tcp ? info.tcpFlags : 0;

    // Packets come in runs of one flow (a bulk transfer, a request and its answer): the last
    // packet's slot is tried before the hash table.
    let s = this.lastSlot;
    let h = 0;
    let hashed = false;
    if (s === NIL || !this.slots.holds(s, p)) {
      h = hashKey(p);
      hashed = true;
      s = this.slots.find(p, h);
    }
    if (s !== NIL && now - this.lastUs[s]! > this.timeoutUs[this.slots.listOf[s]!]!) {
      // Idle past its timeout, and the sweep has not come round yet: the old session is over.
      this.end(s, this.endReason(s, 'idle'));
      s = NIL;
    }
    if (s !== NIL && tcp && (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN && this.startsNewConnection(s, info, srcLow)) {
      this.end(s, this.endReason(s, 'idle'));
      s = NIL;
    }
    if (s === NIL) s = this.create(p, hashed ? h : hashKey(p), info, srcLow, now);
    this.lastSlot = s;

    const fromOrig = srcLow === ((this.flags[s]! & F_ORIG_IS_HI) === 0);
    const d = 2 * s + (fromOrig ? 0 : 1);
    this.packets[d]!++;
    if (now > this.lastUs[s]!) this.lastUs[s] = now;
    if (tcp) this.tcpPacket(s, d, fromOrig, info);
    else this.bytes[d]! += info.payloadLength;
    this.slots.touch(s, this.listFor(s));
  }

  /**
   * Accounts, at once, `count` packets that came right after the packet just given to packet()
   * (`info`) and continue it: the same flow and direction, TCP with its flags (ACK, or ACK and
   * PSH), each segment where the one before ended, or UDP; together `bytes` of payload, the
   * latest at `latestUs`, none more than `gapUs` after the latest before it (the decoding
   * thread marks such runs: decoded-ring.ts). Returns false, having changed nothing, unless
   * that gives exactly what packet() one by one would: no sweep falls due, no gap is an idle
   * timeout, and a TCP run starts at its direction's high-water mark, so that each segment only
   * raises it (a retransmission or a filled gap takes packet()).
   */
  packetRun(info: PacketInfo, count: number, bytes: number, latestUs: number, gapUs: number): boolean {
    const s = this.lastSlot;
    if (s === NIL) return false;
    if (latestUs >= this.nextSweepUs || gapUs > this.timeoutUs[this.slots.listOf[s]!]!) return false;
    const fromOrig = lessEndpoint(info) === ((this.flags[s]! & F_ORIG_IS_HI) === 0);
    const d = 2 * s + (fromOrig ? 0 : 1);
    if (info.protocol !== IPPROTO_TCP) this.bytes[d]! += bytes;
    else if (bytes > 0) {
      const high = this.bytes[d]!;
      if (((info.seq + info.payloadLength) >>> 0) !== ((this.seqBase[d]! + high) >>> 0)) return false;
      this.bytes[d] = high + bytes;
    }
    this.packets[d]! += count;
    if (latestUs > this.nowUs) this.nowUs = latestUs;
    if (latestUs > this.lastUs[s]!) this.lastUs[s] = latestUs;
    return true;
  }

  /**
   * The table's arrays, for the replay's fast path (src/replay/native-flow.ts), which updates
   * them as packet() and packetRun() would for the packets that neither open nor end a flow.
   * Valid until `layout` changes.
   */
  fastPathArrays() {
    const { capacity, key, hash, chainNext, buckets, bucketMask, listPrev, listNext, listOf, listHead, listTail, freeStack, maxFlows } = this.slots;
    return {
      capacity, key, hash, chainNext, buckets, bucketMask, listPrev, listNext, listOf, listHead, listTail, freeStack, maxFlows,
      flags: this.flags, firstUs: this.firstUs, lastUs: this.lastUs, packets: this.packets, bytes: this.bytes, missed: this.missed,
      holeStart: this.holeStart, holeEnd: this.holeEnd, seqBase: this.seqBase, endpoint: this.endpoint,
      historySeen: this.historySeen, history: this.history, historyLength: this.historyLength, ids: this.ids, timeoutUs: this.timeoutUs,
    };
  }

  /**
   * Into `c`, for the fast path (CLOCK_WORDS words, native/netlog_flow.cc Clock): nowUs,
   * nextSweepUs and the last packet's flow (word 3 is the fast path's own), the free slots'
   * stack top and the flows open, how a flow it creates gets its identity (0: no identifier;
   * 1: from a look-up ahead of `aheadGeneration` if the packet carries one, the generation in
   * force; 2: never, FlowTracker creates every flow) and that generation, and identifiedAhead.
   */
  saveClock(c: Float64Array): void {
    c[0] = this.nowUs;
    c[1] = this.nextSweepUs;
    c[2] = this.lastSlot;
    c[4] = this.slots.freeTop;
    c[5] = this.slots.count;
    c[6] = this.identifier === undefined ? 0 : this.aheadGeneration === this.identifier.generation ? 1 : 2;
    c[7] = this.aheadGeneration;
    c[8] = this.identifiedAhead;
  }

  /** What the fast path moved on: the clock, the last packet's flow, the flows it created. */
  loadClock(c: Float64Array): void {
    this.nowUs = c[0]!;
    this.lastSlot = c[2]!;
    this.slots.freeTop = c[4]!;
    this.slots.count = c[5]!;
    this.identifiedAhead = c[8]!;
  }

  /**
   * A SYN on a 4-tuple already in the table is a new connection (ephemeral port reuse) when the
   * old one has ended (FIN both ways or RST), or when its sequence number is not the old
   * originator's ISN (a retransmitted SYN repeats it).
   */
  private startsNewConnection(s: number, info: PacketInfo, srcLow: boolean): boolean {
    const f = this.flags[s]!;
    if (f & (F_ENDED_FIN | F_ENDED_RST)) return true;
    const fromOrig = srcLow === ((f & F_ORIG_IS_HI) === 0);
    if (!fromOrig) return false;
    const os = this.endpoint[2 * s]!;
    if (os === Endpoint.CLOSED || os === Endpoint.RESET) return true;
    return (f & F_SEQ_KNOWN_ORIG) !== 0 && ((info.seq + 1) >>> 0) !== this.seqBase[2 * s];
  }

  private create(p: Uint32Array, h: number, info: PacketInfo, srcLow: boolean, now: number): number {
    if (this.slots.full) this.evictOne();
    const tcp = info.protocol === IPPROTO_TCP;
    const s = this.slots.allocate(p, h, tcp ? LIST_TCP_TRANSIENT : LIST_UDP);
    // Originator: the SYN sender; the receiver of a SYN-ACK; otherwise the sender unless its
    // port looks like the service (a well-known port, the lower one if both are), as Zeek
    // decides for connections first seen mid-stream. A flip is marked '^' in the history.
    const senderIsOrig = senderIsOriginator(info);
    const flipped = !senderIsOrig;
    this.flags[s] = (tcp ? F_TCP : 0) | (senderIsOrig === srcLow ? 0 : F_ORIG_IS_HI);
    this.firstUs[s] = now;
    this.lastUs[s] = now;
    for (let d = 2 * s; d < 2 * s + 2; d++) {
      this.packets[d] = 0;
      this.bytes[d] = 0;
      this.missed[d] = 0;
      this.holeStart[d] = 0;
      this.holeEnd[d] = 0;
      this.seqBase[d] = 0;
      this.endpoint[d] = Endpoint.INACTIVE;
    }
    this.historySeen[s] = 0;
    this.historyLength[s] = 0;
    if (flipped) this.addHistory(s, History.FLIPPED, true);
    if (this.identifier) this.identify(s, info, senderIsOrig);
    else this.ids[ID_WORDS * s + ID_GENERATION] = -2;
    return s;
  }

  /**
   * Takes the identity a replay's decoding thread looked up ahead for packets that open flows
   * (PacketInfo.presetIdentity), while the identifier's generation is still `generation`, the
   * one those look-ups used; after a reload the flow table looks up again itself.
   */
  identifyAheadFrom(generation: number): void {
    this.aheadGeneration = generation;
  }

  /**
   * Asks the identifier once, with the originator and responder of the new flow, unless the
   * packet brings the answer (identifyAheadFrom).
   */
  private identify(s: number, info: PacketInfo, senderIsOrig: boolean): void {
    const preset = info.presetIdentity;
    if (preset !== PresetIdentity.NONE && this.aheadGeneration === this.identifier!.generation) {
      this.identifiedAhead++;
      const at = ID_WORDS * s;
      this.ids[at + ID_GENERATION] = preset === PresetIdentity.IN_SCOPE ? this.aheadGeneration : -1;
      this.ids[at + ID_CLIENT] = info.presetClient;
      this.ids[at + ID_RESOURCE] = info.presetResource;
      return;
    }
    const o = this.origin;
    const r = this.responder;
    const a = senderIsOrig ? o : r;
    const b = senderIsOrig ? r : o;
    a[0] = info.src0; a[1] = info.src1; a[2] = info.src2; a[3] = info.src3;
    b[0] = info.dst0; b[1] = info.dst1; b[2] = info.dst2; b[3] = info.dst3;
    const responderPort = senderIsOrig ? info.dstPort : info.srcPort;
    const version = info.ipVersion === 6 ? 6 : 4;
    const refs = this.refs;
    const inScope = this.identifier!.identify(version, o, r, info.protocol === IPPROTO_TCP ? 'tcp' : 'udp', responderPort, refs);
    const at = ID_WORDS * s;
    this.ids[at + ID_GENERATION] = inScope ? refs.generation : -1;
    this.ids[at + ID_CLIENT] = refs.client;
    this.ids[at + ID_RESOURCE] = refs.resource;
  }

  private tcpPacket(s: number, d: number, fromOrig: boolean, info: PacketInfo): void {
    const flags = info.tcpFlags;
    const len = info.payloadLength;
    const knownBit = fromOrig ? F_SEQ_KNOWN_ORIG : F_SEQ_KNOWN_RESP;
    const e = this.endpoint;
    const peer = fromOrig ? d + 1 : d - 1;

    if (info.fragment === Fragment.LATER) {
      // No TCP header: its bytes extend the segment its first fragment began.
      this.bytes[d]! += len;
      return;
    }
    if (flags & TCP_SYN) {
      this.addHistory(s, flags & TCP_ACK ? History.SYN_ACK : History.SYN, fromOrig);
      if ((this.flags[s]! & knownBit) === 0) {
        this.seqBase[d] = (info.seq + 1) >>> 0; // the SYN takes one sequence number
        this.flags[s]! |= knownBit;
      }
      if (e[d] === Endpoint.INACTIVE) e[d] = flags & TCP_ACK ? Endpoint.SYN_ACK_SENT : Endpoint.SYN_SENT;
    } else if ((this.flags[s]! & knownBit) === 0) {
      this.seqBase[d] = info.seq; // mid-stream: count from the first sequence number seen
      this.flags[s]! |= knownBit;
    }

    if (len > 0 && (flags & TCP_RST) === 0) {
      this.addHistory(s, History.DATA, fromOrig);
      this.sequenceSpace(s, d, fromOrig, info.seq + (flags & TCP_SYN ? 1 : 0), len);
    }

    if (flags & TCP_RST) {
      this.addHistory(s, History.RST, fromOrig);
      e[d] = Endpoint.RESET;
      this.flags[s]! |= F_ENDED_RST;
      return;
    }
    if (flags & TCP_FIN) {
      this.addHistory(s, History.FIN, fromOrig);
      if (e[d] !== Endpoint.RESET) e[d] = Endpoint.CLOSED;
      if (e[peer] === Endpoint.CLOSED) this.flags[s]! |= F_ENDED_FIN;
      return;
    }
    if ((flags & TCP_SYN) === 0) {
      if (len === 0 && flags & TCP_ACK) this.addHistory(s, History.ACK, fromOrig);
      const st = e[d]!;
      if (st === Endpoint.SYN_SENT || st === Endpoint.SYN_ACK_SENT) {
        e[d] = Endpoint.ESTABLISHED;
        if (e[peer] === Endpoint.SYN_SENT || e[peer] === Endpoint.SYN_ACK_SENT) e[peer] = Endpoint.ESTABLISHED;
      } else if (st === Endpoint.INACTIVE) {
        e[d] = e[peer] === Endpoint.SYN_SENT || e[peer] === Endpoint.SYN_ACK_SENT ? Endpoint.ESTABLISHED : Endpoint.PARTIAL;
      }
    }
  }

  /**
   * Payload [seq, seq + len) of direction d against its high-water mark, in sequence numbers
   * relative to seqBase, unwrapped across 2^32 (RFC 9293 modular comparison). Bytes are the
   * high-water mark: a retransmission adds nothing; a jump past it is a gap counted in
   * `missed`, which a late segment filling the latest gap gives back.
   */
  private sequenceSpace(s: number, d: number, fromOrig: boolean, seq: number, len: number): void {
    const high = this.bytes[d]!;
    const highSeq = (this.seqBase[d]! + high) >>> 0;
    let start = high + ((seq - highSeq) | 0);
    let end = start + len;
    if (end <= 0) {
      this.addHistory(s, History.RETRANSMIT, fromOrig);
      return;
    }
    if (start < 0) start = 0;
    if (start > high) {
      this.missed[d]! += start - high;
      this.holeStart[d] = high;
      this.holeEnd[d] = start;
      this.addHistory(s, History.GAP, fromOrig);
    } else if (end <= high) {
      // At or below the mark: a retransmission, or a late segment filling the latest gap.
      const hs = this.holeStart[d]!;
      const he = this.holeEnd[d]!;
      const fillStart = start > hs ? start : hs;
      const fillEnd = end < he ? end : he;
      if (fillEnd > fillStart) {
        this.missed[d]! -= fillEnd - fillStart;
        if (fillStart === hs) this.holeStart[d] = fillEnd;
        else if (fillEnd === he) this.holeEnd[d] = fillStart;
        else this.holeEnd[d] = fillStart; // a middle piece: keep the lower part as the hole
      } else {
        this.addHistory(s, History.RETRANSMIT, fromOrig);
      }
      return;
    }
    if (end > high) this.bytes[d] = end;
  }

  private addHistory(s: number, event: number, fromOrig: boolean): void {
    const bit = 1 << (event * 2 + (fromOrig ? 0 : 1));
    if (this.historySeen[s]! & bit) return;
    this.historySeen[s]! |= bit;
    const n = this.historyLength[s]!;
    this.history[s * HISTORY_MAX + n] = event * 2 + (fromOrig ? 0 : 1);
    this.historyLength[s] = n + 1;
  }

  private listFor(s: number): number {
    const f = this.flags[s]!;
    if ((f & F_TCP) === 0) return LIST_UDP;
    if (f & (F_ENDED_FIN | F_ENDED_RST)) return LIST_LINGER;
    return isEstablished(this.endpoint[2 * s]!) && isEstablished(this.endpoint[2 * s + 1]!)
      ? LIST_TCP_ESTABLISHED
      : LIST_TCP_TRANSIENT;
  }

  /** Ends every flow idle past its list's timeout at packet (or wall) time `nowUs`. */
  expire(nowUs: number): void {
    const slots = this.slots;
    for (let list = 0; list < LISTS; list++) {
      const limit = nowUs - this.timeoutUs[list]!;
      for (let s = slots.listTail[list]!; s !== NIL && this.lastUs[s]! <= limit; s = slots.listTail[list]!) {
        this.end(s, this.endReason(s, 'idle'));
      }
    }
  }

  /** The table is full: the least recently active flow of all lists makes room. */
  private evictOne(): void {
    const slots = this.slots;
    let victim = NIL;
    for (let list = 0; list < LISTS; list++) {
      const t = slots.listTail[list]!;
      if (t !== NIL && (victim === NIL || this.lastUs[t]! < this.lastUs[victim]!)) victim = t;
    }
    this.end(victim, this.endReason(victim, 'evicted'));
  }

  /** Ends every open flow, oldest activity first, and delivers: at end of capture or at shutdown. */
  flush(reason: 'capture-end' | 'shutdown'): void {
    for (;;) {
      let oldest = NIL;
      for (let list = 0; list < LISTS; list++) {
        const t = this.slots.listTail[list]!;
        if (t !== NIL && (oldest === NIL || this.lastUs[t]! < this.lastUs[oldest]!)) oldest = t;
      }
      if (oldest === NIL) break;
      this.end(oldest, this.endReason(oldest, reason));
    }
    this.deliver();
  }

  /** Sessions open now, as records with `duration: null` (for live views). */
  openSessions(): SessionRecord[] {
    const out: SessionRecord[] = [];
    const one = new SessionBatch(1);
    one.identifier = this.batch.identifier;
    for (let list = 0; list < LISTS; list++) {
      for (let s = this.slots.listHead[list]!; s !== NIL; s = this.slots.listNext[s]!) {
        if (this.ids[ID_WORDS * s + ID_GENERATION] === -1) continue;
        one.clear();
        this.writeRow(s, STILL_OPEN, one);
        out.push(one.record(0));
      }
    }
    return out;
  }

  /** Hands on the sessions ended since the last delivery, if any. */
  deliver(): void {
    if (this.batch.length === 0) return;
    this.onSessions(this.batch);
    this.batch.clear();
  }

  /**
   * Why flow `s` ends now: a connection already closed by RST or by FIN both ways (lingering)
   * ended that way, whatever comes round to record it; otherwise `cause`.
   */
  private endReason(s: number, cause: EndReason): EndReason {
    const f = this.flags[s]!;
    return f & F_ENDED_RST ? 'rst' : f & F_ENDED_FIN ? 'fin' : cause;
  }

  /** The one place a flow ends: its row is written (or, out of scope, counted) and its slot freed. */
  private end(s: number, reason: EndReason): void {
    this.ended[reason]++;
    if (this.ids[ID_WORDS * s + ID_GENERATION] !== -1) {
      this.writeRow(s, END_REASON_CODE[reason], this.batch);
      if (this.batch.full) this.deliver();
    } else {
      this.outOfScope++;
    }
    if (s === this.lastSlot) this.lastSlot = NIL;
    this.slots.release(s);
  }

  /**
   * Flow `s` as the next row of `batch`; `reason` is an END_REASONS index, or STILL_OPEN.
   * Numbers only, except the history (shared strings).
   */
  private writeRow(s: number, reason: number, batch: SessionBatch): void {
    const i = batch.length++;
    const k = this.slots.key;
    const b = s * KEY_WORDS;
    const f = this.flags[s]!;
    // The key holds the lower endpoint first; the record wants the originator first.
    const o = f & F_ORIG_IS_HI ? b + 4 : b;
    const r = f & F_ORIG_IS_HI ? b : b + 4;
    const ports = k[b + 8]!;
    batch.sourcePort[i] = f & F_ORIG_IS_HI ? ports & 0xffff : ports >>> 16;
    batch.destPort[i] = f & F_ORIG_IS_HI ? ports >>> 16 : ports & 0xffff;
    if (k[b + 9]! >>> 8 === 6) {
      batch.rowKind[i] = ROW_IPV6;
      batch.sourceIp4[i] = 0;
      batch.destIp4[i] = 0;
      // Their text is made by whoever needs it (SessionBatch.resolveText).
      for (let w = 0; w < 4; w++) {
        batch.sourceIp6[4 * i + w] = k[o + w]!;
        batch.destIp6[4 * i + w] = k[r + w]!;
      }
    } else {
      batch.rowKind[i] = ROW_IPV4;
      batch.sourceIp4[i] = k[o]!;
      batch.destIp4[i] = k[r]!;
    }
    const d = 2 * s;
    const tcp = (f & F_TCP) !== 0;
    const historyLength = this.historyLength[s]!;
    const history = this.historyText.of(this.history, s * HISTORY_MAX, historyLength);
    batch.historyLength[i] = historyLength;
    for (let h = 0; h < historyLength; h++) batch.historyCodes[HISTORY_MAX * i + h] = this.history[s * HISTORY_MAX + h]!;
    const firstUs = this.firstUs[s]!;
    const open = reason === STILL_OPEN;
    batch.protocol[i] = tcp ? 0 : 1;
    batch.startUs[i] = firstUs;
    batch.endUs[i] = open ? NaN : this.lastUs[s]!;
    batch.bytesTx[i] = this.bytes[d]!;
    batch.bytesRx[i] = this.bytes[d + 1]!;
    batch.packetsTx[i] = this.packets[d]!;
    batch.packetsRx[i] = this.packets[d + 1]!;
    batch.missedBytesTx[i] = this.missed[d]!;
    batch.missedBytesRx[i] = this.missed[d + 1]!;
    batch.state[i] = CONN_STATE_CODE[
      tcp
        ? tcpConnState(this.endpoint[d]!, this.endpoint[d + 1]!, this.bytes[d]!, this.bytes[d + 1]!, history)
        : udpConnState(this.packets[d]!, this.packets[d + 1]!)
    ];
    batch.history[i] = history;
    batch.endReason[i] = reason;
    sessionId(firstUs, k, b, batch, i);
    // Identity by reference: resolved by whichever writer needs the values (see SessionBatch).
    const at = ID_WORDS * s;
    const generation = this.ids[at + ID_GENERATION]!;
    batch.idGeneration[i] = generation;
    batch.idClient[i] = this.ids[at + ID_CLIENT]!;
    batch.idResource[i] = this.ids[at + ID_RESOURCE]!;
    if (generation < 0) {
      batch.siteId[i] = NaN;
      batch.clientId[i] = NaN;
      batch.siteResourceId[i] = NaN;
    }
  }
}

const CONN_STATE_CODE = Object.fromEntries(CONN_STATES.map((c, i) => [c, i])) as Record<ConnState, number>;
const END_REASON_CODE = Object.fromEntries(END_REASONS.map((c, i) => [c, i])) as Record<EndReason, number>;

/** Both sides of a connection in data transfer (seen from the handshake or mid-stream). */
function isEstablished(state: number): boolean {
  return state === Endpoint.ESTABLISHED || state === Endpoint.PARTIAL;
}

/** Does the packet's source endpoint sort before its destination (address words, then port)? */
function lessEndpoint(i: PacketInfo): boolean {
  if (i.src0 !== i.dst0) return i.src0 < i.dst0;
  if (i.src1 !== i.dst1) return i.src1 < i.dst1;
  if (i.src2 !== i.dst2) return i.src2 < i.dst2;
  if (i.src3 !== i.dst3) return i.src3 < i.dst3;
  return i.srcPort <= i.dstPort;
}

/**
 * The ten key words into a 32-bit hash: each word times an odd constant of its own (a
 * bijection of that word), the products xor-ed, then murmur3's finalizer. The ten products do
 * not wait for one another, as a word-by-word mix's chain of ten rounds does; that chain was
 * about an eighth of the flow table's time per packet on real traffic (node --cpu-prof,
 * bench/flow-table-alone.ts).
 */
function hashKey(p: Uint32Array): number {
  return fmix(
    Math.imul(p[0]!, 0x9e3779b1) ^
      Math.imul(p[1]!, 0x85ebca6b) ^
      Math.imul(p[2]!, 0xc2b2ae35) ^
      Math.imul(p[3]!, 0x27d4eb2f) ^
      Math.imul(p[4]!, 0x165667b1) ^
      Math.imul(p[5]!, 0xd3a2646d) ^
      Math.imul(p[6]!, 0xfd7046c5) ^
      Math.imul(p[7]!, 0xb55a4f09) ^
      Math.imul(p[8]!, 0x7feb352d) ^
      Math.imul(p[9]!, 0x846ca68b),
  );
}

/**
 * Two independent 32-bit mixes (murmur3 finalizer) of the start time and the flow key (which
 * holds protocol, addresses and ports), written as two words (16 hex digits when shown as
 * text, high word first): the same input always gives the
 * same id, and two sessions share one only if they start in the same microsecond on the same
 * 5-tuple, which a new SYN on a 4-tuple cannot (time moves on).
 */
function sessionId(firstUs: number, key: Uint32Array, b: number, batch: SessionBatch, row: number): void {
  const tHi = Math.floor(firstUs / 4294967296);
  const tLo = firstUs >>> 0;
  let h1 = mix(0x9747b28c ^ tLo, tHi);
  let h2 = mix(0x5bd1e995 ^ tHi, tLo);
  for (let i = 0; i < KEY_WORDS; i++) {
    h1 = mix(h1, key[b + i]!);
    h2 = mix(h2 ^ 0x27d4eb2f, key[b + KEY_WORDS - 1 - i]!);
  }
  batch.sessionIdHi[row] = fmix(h1) >>> 0;
  batch.sessionIdLo[row] = fmix(h2) >>> 0;
}

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
