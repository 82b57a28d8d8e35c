import { ID_WORDS, type FlowTracker } from '../flow/flow-tracker.js';
import { KEY_WORDS } from '../flow/flow-slots.js';
import { loadAddon } from '../native-addon.js';
import { WORDS, type RingReader } from './decoded-ring.js';

interface FlowBinding {
  register(arrays: ReturnType<FlowTracker['fastPathArrays']> & { ringTs: Float64Array; ringWords: Uint32Array; clock: Float64Array }): unknown;
  track(handle: unknown, slotBase: number, from: number, to: number): number;
  unregister(handle: unknown): void;
  layout: { words: number; keyWords: number; historyMax: number; clockWords: number; idWords: number };
}

/** FlowTracker's HISTORY_MAX and the clock's words (saveClock, loadClock, and the count taken). */
const HISTORY_MAX = 18;
const CLOCK_WORDS = 9;
const TAKEN = 3;

let binding: FlowBinding | null | undefined;

/** The flow addon (native/netlog_flow.cc), if built and laid out as this code is. */
function flowBinding(): FlowBinding | null {
  if (binding !== undefined) return binding;
  const b = loadAddon<FlowBinding>('netlog_flow');
  const l = b?.layout;
  binding = l && l.words === WORDS && l.keyWords === KEY_WORDS && l.historyMax === HISTORY_MAX && l.clockWords === CLOCK_WORDS && l.idWords === ID_WORDS ? b : null;
  return binding;
}

/**
 * A replay's flow table with its fast path in C++ (native/netlog_flow.cc): the packets of a
 * ring slot go to the addon, which takes every one that does not end a flow (nor falls on an
 * expiry sweep) and updates FlowTracker's own arrays exactly as packet() and packetRun()
 * would, creating new flows as create() would while the table has a free slot and a flow's
 * identity is none or came with its packet; at any other packet it stops, FlowTracker handles
 * that one, and the addon goes on after it. FlowTracker stays the flow table: it grows,
 * ends, sweeps, evicts, looks identity up and writes every session row.
 */
export class NativeFlowPath {
  private readonly clock = new Float64Array(CLOCK_WORDS);
  private handle: unknown = null;
  private layout = -1;
  private readonly ring: { ts: Float64Array; words: Uint32Array };

  private constructor(
    private readonly binding: FlowBinding,
    private readonly tracker: FlowTracker,
    reader: RingReader,
  ) {
    this.ring = reader.views();
  }

  /** Null when the addon is not built (FlowTracker then takes every packet). */
  static create(tracker: FlowTracker, reader: RingReader): NativeFlowPath | null {
    const b = flowBinding();
    return b && new NativeFlowPath(b, tracker, reader);
  }

  /** Packets the addon took. */
  get taken(): number {
    return this.clock[TAKEN]!;
  }

  /**
   * Takes what it can of packets `from` .. `to` - 1 of the reader's current slot, in order;
   * returns the first it did not take (`to` when it took them all).
   */
  track(reader: RingReader, from: number, to: number): number {
    const tracker = this.tracker;
    if (tracker.layout !== this.layout) {
      this.dispose();
      this.handle = this.binding.register({ ...tracker.fastPathArrays(), ringTs: this.ring.ts, ringWords: this.ring.words, clock: this.clock });
      this.layout = tracker.layout;
    }
    tracker.saveClock(this.clock);
    const next = this.binding.track(this.handle, reader.slotBase, from, to);
    tracker.loadClock(this.clock);
    return next;
  }

  /** Lets the addon go of the table's and the ring's arrays (it held them until collected). */
  dispose(): void {
    if (this.handle !== null) this.binding.unregister(this.handle);
    this.handle = null;
    this.layout = -1;
  }
}
