import { Fragment, IPPROTO_TCP, IPPROTO_UDP, type PacketInfo } from '../decode/packet-info.js';

/**
 * Decoded packets passed from the decoding thread to the flow table's thread through shared
 * memory: a ring of SLOTS slots of SLOT_PACKETS packets each. A packet is what the flow table
 * reads of a PacketInfo (addresses, ports, sequence number, payload length, protocol, flags,
 * fragment) in WORDS 32-bit words, and its timestamp in two float64s. The writer fills a slot,
 * marks it full and wakes the reader; the reader handles it, marks it empty and wakes the
 * writer. Nothing is allocated per packet or per slot: the one SharedArrayBuffer is the ring.
 *
 * Runs: real traffic comes in trains, a bulk transfer's segments one after another (51% of the
 * 5.58M packets of bench:peers' real capture continue the packet before them). The writer marks
 * in a run's first packet how many packets after it continue it: the same flow and direction,
 * TCP with the same flags (ACK, or ACK and PSH) and each segment starting where the one before
 * ended, or UDP; no fragments. The reader may account the run's packets at once
 * (FlowTracker.packetRun) instead of one by one; every packet is still in the ring, so it reads
 * them one by one when the flow table's state asks for that.
 */
/**
 * Slots in a replay's ring (9.4 MB). With both threads' packet work in C++ they go at about the
 * same pace, each with its own stalls (a read from the file, a burst of sessions ending), and a
 * ring of 8 kept each waiting for the other about 30% of the time (node --cpu-prof). Scratch,
 * the real capture to JSON lines, four runs each, alternating: 8 slots 1.00-1.12 s, 16
 * 0.86-1.07, 32 0.74-0.84, 64 0.79-0.92; into DuckDB, two runs each, 1.21-1.23 s against
 * 1.06-1.17 s with 32.
 */
export const SLOTS = 32;
export const SLOT_PACKETS = 4096;
export const WORDS = 14;
/** Bytes a slot takes: its packets, and its two header words (state, count). */
const SLOT_BYTES = 2 * 4 + SLOT_PACKETS * (2 * 8 + WORDS * 4);
/** Words of RingWriter.saveState. */
export const WRITER_STATE_WORDS = 17;

// Slot states, in `header[slot]`; the packet count of a slot is `header[slots + slot]`.
const EMPTY = 0;
const FULL = 1;
/** No more packets: the writer has finished (the slot carries none). */
const END = 2;

// Words 12 and 13 of a run's first packet: how many packets after it continue it (0 in every
// other packet), and their payload bytes. A packet that carries its flow's identity, looked up
// ahead (identity-ahead.ts), is in no run, and the two words hold the client's and the
// resource's positions instead.
const RUN_COUNT = 12;
const RUN_BYTES = 13;
const PRESET_CLIENT = 12;
const PRESET_RESOURCE = 13;
/** Flag sets a TCP run may have: ACK, ACK|PSH (no SYN, FIN, RST). */
const RUN_TCP_FLAGS_ACK = 0x10;
const RUN_TCP_FLAGS_ACK_PSH = 0x18;

// meta word: TCP flags (9 bits), protocol (8), IP version (4), fragment (2), preset identity (2).
const PROTOCOL_SHIFT = 9;
const VERSION_SHIFT = 17;
const FRAGMENT_SHIFT = 21;
const PRESET_SHIFT = 23;

/**
 * A ring of `slots` slots (a replay's: SLOTS; bench/flow-table-alone.ts makes one that holds a
 * whole capture, so that the writer never waits).
 */
export function createRing(slots = SLOTS): SharedArrayBuffer {
  return new SharedArrayBuffer(slots * SLOT_BYTES);
}

class RingView {
  /** Slots in the ring, from its size (createRing). */
  protected readonly slots: number;
  protected readonly header: Int32Array;
  protected readonly ts: Float64Array;
  protected readonly words: Uint32Array;

  constructor(ring: SharedArrayBuffer) {
    const slots = ring.byteLength / SLOT_BYTES;
    this.slots = slots;
    // The header (two words a slot, 8 bytes, so the timestamps after it stay aligned), the
    // timestamps, the words.
    this.header = new Int32Array(ring, 0, 2 * slots);
    this.ts = new Float64Array(ring, 8 * slots, slots * SLOT_PACKETS * 2);
    this.words = new Uint32Array(ring, 8 * slots + slots * SLOT_PACKETS * 16, slots * SLOT_PACKETS * WORDS);
  }

  /** The ring's timestamps and words, for the addons that write and read packets without
   *  push and read (native-decode.ts, native-flow.ts). */
  views(): { ts: Float64Array; words: Uint32Array } {
    return { ts: this.ts, words: this.words };
  }
}

/** Work the decoding thread does while it would wait for room in the ring (json-channel.ts). */
export interface WorkMeanwhile {
  /** Does what there is to do; true if there was something. */
  serve(): boolean;
  /** Waits until `words[index]` is `empty`, doing the work meanwhile. */
  wait(words: Int32Array, index: number, empty: number): void;
}

/** The decoding thread's end: blocks (Atomics.wait) while the next slot is still full. */
export class RingWriter extends RingView {
  /** Set: what this thread does while it waits for the reader, and after each slot it hands on. */
  meanwhile: WorkMeanwhile | null = null;
  private slot = 0;
  private count = 0;
  /** First word of the open run's first packet (-1: none), and what the run holds so far. */
  private runBase = -1;
  private runCount = 0;
  private runBytes = 0;
  // The run's flow and direction, as its first packet has them (not read back from the ring).
  private runMeta = 0;
  private runPorts = 0;
  private runSrc0 = 0;
  private runSrc1 = 0;
  private runSrc2 = 0;
  private runSrc3 = 0;
  private runDst0 = 0;
  private runDst1 = 0;
  private runDst2 = 0;
  private runDst3 = 0;
  private runHasPayload = false;
  /** TCP: the sequence number the next segment of the run starts at. */
  private runNextSeq = 0;

  push(info: PacketInfo, tsSec: number, tsNsec: number): void {
    if (this.count === 0) this.waitEmpty();
    const p = this.slot * SLOT_PACKETS + this.count++;
    this.ts[2 * p] = tsSec;
    this.ts[2 * p + 1] = tsNsec;
    const w = this.words;
    const b = p * WORDS;
    w[b] = info.src0;
    w[b + 1] = info.src1;
    w[b + 2] = info.src2;
    w[b + 3] = info.src3;
    w[b + 4] = info.dst0;
    w[b + 5] = info.dst1;
    w[b + 6] = info.dst2;
    w[b + 7] = info.dst3;
    const ports = (info.srcPort << 16) | info.dstPort;
    w[b + 8] = ports;
    w[b + 9] = info.seq;
    w[b + 10] = info.payloadLength;
    const preset = info.presetIdentity;
    const meta = info.tcpFlags | (info.protocol << PROTOCOL_SHIFT) | (info.ipVersion << VERSION_SHIFT) | (info.fragment << FRAGMENT_SHIFT) | (preset << PRESET_SHIFT);
    w[b + 11] = meta;
    if (preset !== 0) {
      w[b + PRESET_CLIENT] = info.presetClient;
      w[b + PRESET_RESOURCE] = info.presetResource;
      this.closeRun();
    } else if (
      this.runBase >= 0 &&
      meta === this.runMeta &&
      ports === this.runPorts &&
      info.src0 === this.runSrc0 &&
      info.dst0 === this.runDst0 &&
      info.src1 === this.runSrc1 &&
      info.src2 === this.runSrc2 &&
      info.src3 === this.runSrc3 &&
      info.dst1 === this.runDst1 &&
      info.dst2 === this.runDst2 &&
      info.dst3 === this.runDst3 &&
      // TCP: a segment where the last one ended, with payload if the run's first one had it.
      (info.protocol === IPPROTO_UDP || (info.seq === this.runNextSeq && info.payloadLength > 0 === this.runHasPayload))
    ) {
      w[b + RUN_COUNT] = 0;
      this.runNextSeq = (info.seq + info.payloadLength) >>> 0;
      this.runCount++;
      this.runBytes += info.payloadLength;
    } else {
      w[b + RUN_COUNT] = 0;
      this.startRun(b, meta, ports, info);
    }
    if (this.count === SLOT_PACKETS) this.publish(FULL);
  }

  /**
   * Before the next packet's words: waits for the current slot to be empty if nothing has been
   * written into it yet (push does so itself; native-decode.ts writes packets without push).
   */
  ready(): void {
    if (this.count === 0) this.waitEmpty();
  }

  /** Publishes the current slot if it is full (after packets written without push). */
  publishIfFull(): boolean {
    if (this.count !== SLOT_PACKETS) return false;
    this.publish(FULL);
    return true;
  }

  /**
   * The writer's place and its open run into `st` (STATE_WORDS words), for native-decode.ts,
   * which writes packets as push does and hands the state back through loadState. A run's base
   * is stored plus one, 0 meaning no run is open.
   */
  saveState(st: Uint32Array): void {
    st[0] = this.slot;
    st[1] = this.count;
    st[2] = this.runBase + 1;
    st[3] = this.runCount;
    st[4] = this.runBytes;
    st[5] = this.runMeta;
    st[6] = this.runPorts;
    st[7] = this.runSrc0;
    st[8] = this.runSrc1;
    st[9] = this.runSrc2;
    st[10] = this.runSrc3;
    st[11] = this.runDst0;
    st[12] = this.runDst1;
    st[13] = this.runDst2;
    st[14] = this.runDst3;
    st[15] = this.runHasPayload ? 1 : 0;
    st[16] = this.runNextSeq;
  }

  loadState(st: Uint32Array): void {
    this.count = st[1]!;
    this.runBase = st[2]! - 1;
    this.runCount = st[3]!;
    this.runBytes = st[4]!;
    this.runMeta = st[5]!;
    this.runPorts = st[6]! | 0; // push compares it with a signed (srcPort << 16) | dstPort
    this.runSrc0 = st[7]!;
    this.runSrc1 = st[8]!;
    this.runSrc2 = st[9]!;
    this.runSrc3 = st[10]!;
    this.runDst0 = st[11]!;
    this.runDst1 = st[12]!;
    this.runDst2 = st[13]!;
    this.runDst3 = st[14]!;
    this.runHasPayload = st[15] !== 0;
    this.runNextSeq = st[16]!;
  }

  /** Closes the open run and starts one at word `b` if its packet may begin one. */
  private startRun(b: number, meta: number, ports: number, info: PacketInfo): void {
    this.closeRun();
    if (info.fragment !== Fragment.NONE) return;
    const flags = info.tcpFlags;
    if (info.protocol !== IPPROTO_UDP && (info.protocol !== IPPROTO_TCP || (flags !== RUN_TCP_FLAGS_ACK && flags !== RUN_TCP_FLAGS_ACK_PSH))) return;
    this.runBase = b;
    this.runCount = 0;
    this.runBytes = 0;
    this.runMeta = meta;
    this.runPorts = ports;
    this.runSrc0 = info.src0;
    this.runSrc1 = info.src1;
    this.runSrc2 = info.src2;
    this.runSrc3 = info.src3;
    this.runDst0 = info.dst0;
    this.runDst1 = info.dst1;
    this.runDst2 = info.dst2;
    this.runDst3 = info.dst3;
    this.runHasPayload = info.payloadLength > 0;
    this.runNextSeq = (info.seq + info.payloadLength) >>> 0;
  }

  /** Writes the open run's figures into its first packet (a run never spans two slots). */
  private closeRun(): void {
    const r = this.runBase;
    if (r < 0) return;
    this.runBase = -1;
    if (this.runCount === 0) return;
    this.words[r + RUN_COUNT] = this.runCount;
    this.words[r + RUN_BYTES] = this.runBytes;
  }

  /** Hands on the last, partly filled slot and tells the reader there is no more. */
  finish(): void {
    if (this.count > 0) this.publish(FULL);
    this.waitEmpty();
    this.publish(END);
  }

  private waitEmpty(): void {
    const h = this.header;
    if (Atomics.load(h, this.slot) === EMPTY) return;
    // The ring is full (the reader empties slots in order, and this one, the oldest, is not).
    // Wait until the reader has emptied half of it, not only this slot, so that it wakes this
    // thread once per half ring rather than once per slot: each wake-up is a futex call for
    // both threads, and the flow table's thread, the one that sets a replay's pace, spent
    // 24-47 ms of a 2.5M-packet replay in release() (node --cpu-prof).
    const last = (this.slot + Math.max(1, this.slots >> 1) - 1) % this.slots;
    if (this.meanwhile !== null) return this.meanwhile.wait(h, last, EMPTY);
    // Wait on the state seen, not a second load: the slot may empty between two loads, and a
    // wait on EMPTY would then sleep for a wake-up that has already been sent.
    for (let state = Atomics.load(h, last); state !== EMPTY; state = Atomics.load(h, last)) Atomics.wait(h, last, state);
  }

  private publish(state: number): void {
    this.closeRun();
    this.header[this.slots + this.slot] = this.count;
    Atomics.store(this.header, this.slot, state);
    Atomics.notify(this.header, this.slot);
    this.slot = (this.slot + 1) % this.slots;
    this.count = 0;
    this.meanwhile?.serve();
  }
}

/** The flow table's end: waits without blocking the event loop (Atomics.waitAsync). */
export class RingReader extends RingView {
  private slot = 0;
  /** Told of each slot released (the decoding thread may be waiting on another word: json-channel.ts). */
  onRelease: ((slot: number) => void) | null = null;

  /**
   * The next full slot's packet count, or -1 when the writer has finished. `failed` is asked
   * while waiting, so a writer thread that died does not leave the reader waiting for ever;
   * `gone` (the writer's thread ended) cuts a wait short. Without it, a wait on a writer that
   * died before finishing kept nothing alive: Atomics.waitAsync does not hold Node's event
   * loop, so the process ended with status 0 and no word (seen with a decoding thread that
   * failed to load).
   */
  async next(failed: () => unknown, gone?: Promise<unknown>): Promise<number> {
    const h = this.header;
    for (;;) {
      const state = Atomics.load(h, this.slot);
      if (state === FULL) return h[this.slots + this.slot]!;
      if (state === END) return -1;
      const failure = failed();
      if (failure) throw failure;
      const wait = Atomics.waitAsync(h, this.slot, EMPTY, 200);
      if (wait.async) await (gone ? Promise.race([wait.value, gone]) : wait.value);
    }
  }

  /**
   * Packet `i` of the current slot into `info` (its timestamp: tsSec(i), tsNsec(i)). Returns how
   * many packets after it continue its run (0: none; then read them or skip them).
   */
  read(i: number, info: PacketInfo): number {
    const p = this.slot * SLOT_PACKETS + i;
    const w = this.words;
    const b = p * WORDS;
    info.src0 = w[b]!;
    info.src1 = w[b + 1]!;
    info.src2 = w[b + 2]!;
    info.src3 = w[b + 3]!;
    info.dst0 = w[b + 4]!;
    info.dst1 = w[b + 5]!;
    info.dst2 = w[b + 6]!;
    info.dst3 = w[b + 7]!;
    const ports = w[b + 8]!;
    info.srcPort = ports >>> 16;
    info.dstPort = ports & 0xffff;
    info.seq = w[b + 9]!;
    info.payloadLength = w[b + 10]!;
    const meta = w[b + 11]!;
    info.tcpFlags = meta & 0x1ff;
    info.protocol = (meta >>> PROTOCOL_SHIFT) & 0xff;
    info.ipVersion = (meta >>> VERSION_SHIFT) & 0xf;
    info.fragment = (meta >>> FRAGMENT_SHIFT) & 0x3;
    const preset = meta >>> PRESET_SHIFT;
    info.presetIdentity = preset;
    if (preset === 0) return w[b + RUN_COUNT]!;
    info.presetClient = w[b + PRESET_CLIENT]! | 0;
    info.presetResource = w[b + PRESET_RESOURCE]! | 0;
    return 0; // the run words hold the identity
  }

  /** The run's payload bytes after packet `i`. */
  runBytes(i: number): number {
    return this.words[(this.slot * SLOT_PACKETS + i) * WORDS + RUN_BYTES]!;
  }

  /**
   * Packet time (µs, as FlowTracker.packet reckons it) of the latest of packets `i` .. `i + n`,
   * and in `gap[0]` the longest time from one of them to the latest before it.
   */
  runTimes(i: number, n: number, gap: Float64Array): number {
    const ts = this.ts;
    let t = 2 * (this.slot * SLOT_PACKETS + i);
    let latest = ts[t]! * 1e6 + Math.floor(ts[t + 1]! / 1000);
    let longest = 0;
    for (const end = t + 2 * n; t < end; ) {
      t += 2;
      const us = ts[t]! * 1e6 + Math.floor(ts[t + 1]! / 1000);
      if (us > latest) {
        if (us - latest > longest) longest = us - latest;
        latest = us;
      }
    }
    gap[0] = longest;
    return latest;
  }

  tsSec(i: number): number {
    return this.ts[2 * (this.slot * SLOT_PACKETS + i)]!;
  }

  tsNsec(i: number): number {
    return this.ts[2 * (this.slot * SLOT_PACKETS + i) + 1]!;
  }

  /** Index in the ring of the current slot's first packet. */
  get slotBase(): number {
    return this.slot * SLOT_PACKETS;
  }

  /** Moves on to the next slot, leaving this one full (a reader that reads the ring again). */
  skip(): void {
    this.slot = (this.slot + 1) % this.slots;
  }

  /** The current slot is handled: the writer may fill it again. */
  release(): void {
    const slot = this.slot;
    Atomics.store(this.header, slot, EMPTY);
    Atomics.notify(this.header, slot);
    this.slot = (slot + 1) % this.slots;
    this.onRelease?.(slot);
  }
}
