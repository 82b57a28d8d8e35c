import type { PacketInfo } from '../decode/packet-info.js';

/**
 * Decoded packets passed from the decoding thread to the flow table's thread through shared
 * memory: a ring of SLOTS slots of SLOT_PACKETS packets each. A packet is what the flow table
 * reads of a PacketInfo (addresses, ports, sequence number, payload length, protocol, flags,
 * fragment) in WORDS 32-bit words, and its timestamp in two float64s. The writer fills a slot,
 * marks it full and wakes the reader; the reader handles it, marks it empty and wakes the
 * writer. Nothing is allocated per packet or per slot: the one SharedArrayBuffer is the ring.
 */
export const SLOTS = 8;
export const SLOT_PACKETS = 4096;
const WORDS = 12;

// Slot states, in `header[slot]`; the packet count of a slot is `header[SLOTS + slot]`.
const EMPTY = 0;
const FULL = 1;
/** No more packets: the writer has finished (the slot carries none). */
const END = 2;
const HEADER_BYTES = 8 * Math.ceil((2 * SLOTS * 4) / 8);

// meta word: TCP flags (9 bits), protocol (8), IP version (4), fragment (2).
const PROTOCOL_SHIFT = 9;
const VERSION_SHIFT = 17;
const FRAGMENT_SHIFT = 21;

export function createRing(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + SLOTS * SLOT_PACKETS * (2 * 8 + WORDS * 4));
}

class RingView {
  protected readonly header: Int32Array;
  protected readonly ts: Float64Array;
  protected readonly words: Uint32Array;

  constructor(ring: SharedArrayBuffer) {
    this.header = new Int32Array(ring, 0, 2 * SLOTS);
    this.ts = new Float64Array(ring, HEADER_BYTES, SLOTS * SLOT_PACKETS * 2);
    this.words = new Uint32Array(ring, HEADER_BYTES + SLOTS * SLOT_PACKETS * 16, SLOTS * SLOT_PACKETS * WORDS);
  }
}

/** The decoding thread's end: blocks (Atomics.wait) while the next slot is still full. */
export class RingWriter extends RingView {
  private slot = 0;
  private count = 0;

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
    w[b + 8] = (info.srcPort << 16) | info.dstPort;
    w[b + 9] = info.seq;
    w[b + 10] = info.payloadLength;
    w[b + 11] = info.tcpFlags | (info.protocol << PROTOCOL_SHIFT) | (info.ipVersion << VERSION_SHIFT) | (info.fragment << FRAGMENT_SHIFT);
    if (this.count === SLOT_PACKETS) this.publish(FULL);
  }

  /** Hands on the last, partly filled slot and tells the reader there is no more. */
  finish(): void {
    if (this.count > 0) this.publish(FULL);
    this.waitEmpty();
    this.publish(END);
  }

  private waitEmpty(): void {
    // Wait on the state seen, not a second load: the slot may empty between two loads, and a
    // wait on EMPTY would then sleep for a wake-up that has already been sent.
    for (let state = Atomics.load(this.header, this.slot); state !== EMPTY; state = Atomics.load(this.header, this.slot)) {
      Atomics.wait(this.header, this.slot, state);
    }
  }

  private publish(state: number): void {
    this.header[SLOTS + this.slot] = this.count;
    Atomics.store(this.header, this.slot, state);
    Atomics.notify(this.header, this.slot);
    this.slot = (this.slot + 1) % SLOTS;
    this.count = 0;
  }
}

/** The flow table's end: waits without blocking the event loop (Atomics.waitAsync). */
export class RingReader extends RingView {
  private slot = 0;

  /**
   * The next full slot's packet count, or -1 when the writer has finished. `failed` is asked
   * while waiting, so a writer thread that died does not leave the reader waiting for ever.
   */
  async next(failed: () => unknown): Promise<number> {
    const h = this.header;
    for (;;) {
      const state = Atomics.load(h, this.slot);
      if (state === FULL) return h[SLOTS + this.slot]!;
      if (state === END) return -1;
      const failure = failed();
      if (failure) throw failure;
      const wait = Atomics.waitAsync(h, this.slot, EMPTY, 200);
      if (wait.async) await wait.value;
    }
  }

  /** Packet `i` of the current slot into `info` (its timestamp: tsSec(i), tsNsec(i)). */
  read(i: number, info: PacketInfo): void {
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
  }

  tsSec(i: number): number {
    return this.ts[2 * (this.slot * SLOT_PACKETS + i)]!;
  }

  tsNsec(i: number): number {
    return this.ts[2 * (this.slot * SLOT_PACKETS + i) + 1]!;
  }

  /** The current slot is handled: the writer may fill it again. */
  release(): void {
    Atomics.store(this.header, this.slot, EMPTY);
    Atomics.notify(this.header, this.slot);
    this.slot = (this.slot + 1) % SLOTS;
  }
}
