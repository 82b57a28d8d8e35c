import { writeSync } from 'node:fs';
import type { FlowIdentifier, FlowIdentity, IdentityColumns, IdentityRefs } from '../flow/flow-identifier.js';
import { BATCH_ROWS, ROW_TEXT, SessionBatch } from '../flow/session-batch.js';
import { JsonLineEncoder } from '../format/session-json.js';

/**
 * A replay's JSON lines written by its decoding thread. Encoding them was the largest part of
 * the flow table's thread's time after the flow table itself (~75 ms of a 0.48 s replay of the
 * bench capture; scratch, the same replay with the sessions counted and not written: 0.41 s),
 * while the decoding thread waited for room in the ring most of its time. So the flow table's
 * thread copies each batch of sessions into shared memory (its numeric columns: the native
 * writer reads nothing else) and the decoding thread, whenever it would wait, encodes them and
 * writes them to the output's file descriptor itself, in order.
 *
 * A batch that thread cannot write exactly (a row made from a record, with text in strings;
 * identity of a map generation it was not given) is encoded here and passes as bytes, in its
 * place, so the output is the same bytes in the same order as without the channel.
 *
 * Layout: a header of Int32 words (below), then SLOTS regions, each one session batch's
 * numeric columns or up to that many bytes of JSON text. The sender fills regions in order,
 * marks each FULL and rings the bell; the writer empties them in order and marks them EMPTY.
 */
const SLOTS = 16;
const REGION_BYTES = SessionBatch.numericBytes(BATCH_ROWS);
// Header words.
/** Bumped (and notified) whenever the writer may have something new to do. */
const BELL = 0;
/** The ring slot the decoding thread is waiting for (-1: none), for RingReader.release to ring the bell. */
const WAITING_ON = 1;
/** The sender has sent its last slot. */
const END = 2;
/** The output takes no more: its reader went away (READER_GONE, EPIPE) or a write failed (WRITE_FAILED). */
const CLOSED = 3;
const READER_GONE = 1;
const WRITE_FAILED = 2;
const SLOT_WORDS = 4; // then, per slot: state, kind, length
const HEADER_WORDS = SLOT_WORDS + 3 * SLOTS;
const HEADER_BYTES = Math.ceil((HEADER_WORDS * 4) / 8) * 8;
const EMPTY = 0;
const FULL = 1;
/** A region's kinds: rows of a session batch, or JSON text already made. */
const ROWS = 0;
const BYTES = 1;

/** The ids the decoding thread writes by reference: one map generation's, shared memory. */
export interface ChannelIdentity {
  generation: number;
  orgId: string | null;
  siteId: number | null;
  columns: IdentityColumns;
}

/** What the decoding thread is given (DecodeWorkerData.json). */
export interface JsonChannelData {
  shared: SharedArrayBuffer;
  fd: number;
  identity: ChannelIdentity | null;
}

/** Where the replay's JSON lines go when they may be written by its decoding thread (SessionWriter gives it). */
export interface JsonLinesTarget {
  /** The output's file descriptor, written with writeSync from the decoding thread. */
  fd: number;
  /** From now until null, sessions go through `sender` (and are counted by the target). */
  attach(sender: JsonChannelSender | null): void;
}

export function createJsonChannel(fd: number, identity: ChannelIdentity | null): JsonChannelData {
  return { shared: new SharedArrayBuffer(HEADER_BYTES + SLOTS * REGION_BYTES), fd, identity };
}

/** The ids the decoding thread's JSON writer may write by reference: the generation in force, if the identifier has columns. */
export function channelIdentity(identifier: FlowIdentifier | undefined): ChannelIdentity | null {
  const generation = identifier?.generation ?? -1;
  const columns = generation >= 0 ? (identifier!.columns?.(generation) ?? null) : null;
  if (columns === null) return null;
  const who: FlowIdentity = { orgId: null, siteId: null, clientId: null, userId: null, siteResourceId: null };
  identifier!.describe(generation, -1, -1, who);
  return { generation, orgId: who.orgId, siteId: who.siteId, columns };
}

const state = (slot: number) => SLOT_WORDS + 3 * slot;
const regionStart = (slot: number) => HEADER_BYTES + slot * REGION_BYTES;

/** A batch waiting for a free region: rows (numbers only) or text. */
type Pending = { kind: typeof ROWS; rows: SessionBatch } | { kind: typeof BYTES; bytes: Buffer };

/**
 * The flow table's end: takes each batch of sessions as the flow table hands it on (write),
 * never blocking; what finds no free region waits in order in `pending` until drain(), which
 * the replay awaits after each slot of packets, so memory stays bounded by the writer's pace.
 */
export class JsonChannelSender {
  private readonly header: Int32Array;
  /** The regions as batches, to copy rows into. */
  private readonly regions: SessionBatch[] = [];
  private next = 0;
  private readonly pending: Pending[] = [];
  /** Copies for pending rows, reused. */
  private readonly spare: SessionBatch[] = [];
  private readonly encoder = new JsonLineEncoder();
  /** A write failed on the decoding thread: its error, from its message (fail()). */
  failure: Error | null = null;
  private failureKnown: (e: Error) => void = () => {};
  private readonly failureCame = new Promise<Error>((resolve) => (this.failureKnown = resolve));

  constructor(
    private readonly data: JsonChannelData,
    private readonly identifier: FlowIdentifier | null,
    private readonly failed: () => unknown,
    private readonly gone: Promise<unknown>,
  ) {
    this.header = new Int32Array(data.shared, 0, HEADER_WORDS);
    for (let s = 0; s < SLOTS; s++) this.regions.push(new SessionBatch(BATCH_ROWS, { buffer: data.shared, byteOffset: regionStart(s) }));
  }

  /** The output's reader went away, or a write failed: what comes now is dropped. */
  get closed(): boolean {
    return Atomics.load(this.header, CLOSED) !== 0;
  }

  /** The decoding thread's message that a write failed. */
  fail(e: Error): void {
    this.failure = e;
    this.failureKnown(e);
  }

  /**
   * The write error, if the output closed on one (null: its reader went away, or it is open).
   * The flag is shared at once, the error comes in a message: this waits for it, so a failure
   * is never taken for a reader gone away (which ends a replay quietly).
   */
  async writeError(): Promise<Error | null> {
    if (Atomics.load(this.header, CLOSED) !== WRITE_FAILED) return null;
    return Promise.race([this.failureCame, this.gone.then(() => this.failure ?? new Error('writing the JSON lines failed'))]);
  }

  write(b: SessionBatch): void {
    if (b.length === 0) return;
    if (this.writable(b)) {
      if (this.pending.length === 0 && this.free()) return this.sendRows(b);
      const copy = this.spare.pop() ?? new SessionBatch(BATCH_ROWS);
      copy.length = 0;
      copy.pushNumeric(b, 0, b.length);
      copy.length = b.length;
      this.pending.push({ kind: ROWS, rows: copy });
    } else {
      this.encoder.encode(b);
      for (const chunk of this.encoder.take()) {
        for (let at = 0; at < chunk.length; at += REGION_BYTES) this.pending.push({ kind: BYTES, bytes: Buffer.from(chunk.subarray(at, at + REGION_BYTES)) });
        this.encoder.recycle(chunk);
      }
    }
    this.pump();
  }

  /** Waits until every batch is in a region (the decoding thread has taken all but SLOTS). */
  async drain(): Promise<void> {
    for (this.pump(); this.pending.length > 0; this.pump()) {
      if (this.failure) throw this.failure;
      const failure = this.failed();
      if (failure) throw failure;
      const wait = Atomics.waitAsync(this.header, state(this.next), FULL, 200);
      if (wait.async) await Promise.race([wait.value, this.gone]);
    }
  }

  /** After the last write: drains, then tells the decoding thread there is no more. */
  async close(): Promise<void> {
    await this.drain();
    Atomics.store(this.header, END, 1);
    this.ring();
  }

  /** RingReader.release: ring slot `slot` is free again; wakes the decoding thread if it waits for it. */
  released(slot: number): void {
    if (Atomics.load(this.header, WAITING_ON) === slot) this.ring();
  }

  /**
   * Can the decoding thread write every row of `b`? Rows the flow table wrote hold numbers
   * only; their identity must be of the generation it was given (a reload mid-replay makes
   * another).
   */
  private writable(b: SessionBatch): boolean {
    const given = this.data.identity?.generation ?? -1;
    for (let i = 0; i < b.length; i++) {
      if (b.rowKind[i] === ROW_TEXT) return false;
      const g = b.idGeneration[i]!;
      if (g >= 0 && (g !== given || b.identifier !== this.identifier)) return false;
    }
    return true;
  }

  private free(): boolean {
    return Atomics.load(this.header, state(this.next)) === EMPTY;
  }

  private pump(): void {
    while (this.pending.length > 0 && this.free()) {
      const p = this.pending.shift()!;
      if (p.kind === ROWS) {
        this.sendRows(p.rows);
        this.spare.push(p.rows);
      } else {
        new Uint8Array(this.data.shared, regionStart(this.next), p.bytes.length).set(p.bytes);
        this.send(BYTES, p.bytes.length);
      }
    }
  }

  private sendRows(b: SessionBatch): void {
    const region = this.regions[this.next]!;
    region.length = 0;
    region.pushNumeric(b, 0, b.length);
    this.send(ROWS, b.length);
  }

  private send(kind: number, length: number): void {
    const h = this.header;
    const at = state(this.next);
    h[at + 1] = kind;
    h[at + 2] = length;
    Atomics.store(h, at, FULL);
    this.ring();
    this.next = (this.next + 1) % SLOTS;
  }

  private ring(): void {
    Atomics.add(this.header, BELL, 1);
    Atomics.notify(this.header, BELL);
  }
}

/**
 * The decoding thread's end: encodes the regions in order (JsonLineEncoder, as the flow table's
 * thread would) and writes them to the descriptor. serve() does what is there; wait() is the
 * decoding thread's wait for room in its ring (RingWriter), serving meanwhile.
 */
export class JsonChannelWriter {
  private readonly header: Int32Array;
  private readonly regions: SessionBatch[] = [];
  private next = 0;
  private readonly encoder = new JsonLineEncoder();
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));

  constructor(
    private readonly data: JsonChannelData,
    /** A write failed (other than EPIPE): said once, then the rest is dropped. */
    private readonly onFailure: (e: NodeJS.ErrnoException) => void,
  ) {
    this.header = new Int32Array(data.shared, 0, HEADER_WORDS);
    const identifier = data.identity && new ChannelIdentifier(data.identity);
    for (let s = 0; s < SLOTS; s++) {
      const region = new SessionBatch(BATCH_ROWS, { buffer: data.shared, byteOffset: regionStart(s) });
      region.identifier = identifier;
      this.regions.push(region);
    }
  }

  /** Encodes and writes every full region, in order; true if there was one. */
  serve(): boolean {
    const h = this.header;
    let any = false;
    for (let at = state(this.next); Atomics.load(h, at) === FULL; at = state(this.next)) {
      const length = h[at + 2]!;
      if (Atomics.load(h, CLOSED) === 0) {
        if (h[at + 1] === ROWS) {
          const region = this.regions[this.next]!;
          region.length = length;
          // Text a row of the last batch here had made for the JavaScript writer (resolveText).
          region.sourceText.fill(null, 0, length);
          region.destText.fill(null, 0, length);
          this.encoder.encode(region);
          for (const chunk of this.encoder.take()) {
            this.output(chunk);
            this.encoder.recycle(chunk);
          }
        } else this.output(new Uint8Array(this.data.shared, regionStart(this.next), length));
      }
      Atomics.store(h, at, EMPTY);
      Atomics.notify(h, at);
      this.next = (this.next + 1) % SLOTS;
      any = true;
    }
    return any;
  }

  /** Waits until word `index` of `words` (a ring slot's state) is `empty`, serving meanwhile. */
  wait(words: Int32Array, index: number, empty: number): void {
    const h = this.header;
    for (;;) {
      const bell = Atomics.load(h, BELL);
      // Either the reader sees this before it empties the slot, and rings, or this sees the slot empty.
      Atomics.store(h, WAITING_ON, index);
      if (Atomics.load(words, index) === empty) break;
      if (this.serve()) continue;
      Atomics.wait(h, BELL, bell, 1000); // the time-out only bounds a lost ring
    }
    Atomics.store(h, WAITING_ON, -1);
  }

  /** After the captures: serves until the sender says it has sent all. */
  finish(): void {
    const h = this.header;
    for (;;) {
      const bell = Atomics.load(h, BELL);
      const end = Atomics.load(h, END) !== 0; // read first: what was sent before it is served next
      if (this.serve()) continue;
      if (end) return;
      Atomics.wait(h, BELL, bell, 1000);
    }
  }

  /** Writes all of `bytes`; a descriptor that is non-blocking (a pipe Node opened) may take it in parts. */
  private output(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      try {
        at += writeSync(this.data.fd, bytes, at, bytes.length - at);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'EAGAIN') {
          Atomics.wait(this.sleeper, 0, 0, 1); // its reader is behind: it paces this thread
          continue;
        }
        const gone = err.code === 'EPIPE';
        Atomics.store(this.header, CLOSED, gone ? READER_GONE : WRITE_FAILED);
        if (!gone) this.onFailure(err);
        return;
      }
    }
  }
}

/** A map generation's identity from its shared columns, for the JSON encoder on the decoding thread. */
class ChannelIdentifier implements FlowIdentifier {
  readonly generation: number;

  constructor(private readonly id: ChannelIdentity) {
    this.generation = id.generation;
  }

  identify(_version: 4 | 6, _origin: readonly number[], _responder: readonly number[], _protocol: 'tcp' | 'udp', _port: number, _out: IdentityRefs): boolean {
    throw new Error('a replay\'s JSON writer does not look identity up');
  }

  describe(generation: number, client: number, resource: number, out: FlowIdentity): void {
    if (generation !== this.generation) throw new Error(`map generation ${generation} was not given to the JSON writer`);
    const c = this.id.columns;
    out.orgId = this.id.orgId;
    out.siteId = this.id.siteId;
    out.clientId = client >= 0 ? c.clientIds[client]! : null;
    out.userId = client >= 0 ? (JSON.parse(Buffer.from(c.userJson.subarray(client === 0 ? 0 : c.userJsonEnd[client - 1], c.userJsonEnd[client])).toString('utf8')) as string | null) : null;
    out.siteResourceId = resource >= 0 ? c.resourceIds[resource]! : null;
  }

  columns(generation: number): IdentityColumns | null {
    return generation === this.generation ? this.id.columns : null;
  }
}
