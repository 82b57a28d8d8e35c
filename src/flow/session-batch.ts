import { formatEndpoint, formatIpv4 } from '../decode/address.js';
import type { FlowIdentifier, FlowIdentity } from './flow-identifier.js';
import { CONN_STATES, END_REASONS, PROTOCOLS, type SessionRecord } from './session-record.js';

/** Rows in a batch the flow table fills: DuckDB's vector size, so one batch is one chunk. */
export const BATCH_ROWS = 2048;
/** `endReason` of a session still open. */
export const STILL_OPEN = 255;

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** 8 lower-case hex digits of an unsigned 32-bit word. */
export function hex32(h: number): string {
  return HEX_BYTE[(h >>> 24) & 0xff]! + HEX_BYTE[(h >>> 16) & 0xff]! + HEX_BYTE[(h >>> 8) & 0xff]! + HEX_BYTE[h & 0xff]!;
}

/**
 * Finished (or open) sessions column by column: the SessionRecord's fields in typed arrays, so
 * that the flow table hands sessions on without an object per session, and the writers (JSON
 * lines, DuckDB's vectors) read numbers straight from the arrays.
 *
 * Numbers are float64 (exact integers up to 2^53), null as NaN. Codes index PROTOCOLS,
 * CONN_STATES and END_REASONS. An IPv4 endpoint is held as its address word and port, and its
 * text is made only by whoever needs it; an IPv6 endpoint (rare on a tunnel) and rows made from
 * records keep their text in `sourceText`/`destText`. Likewise the session id is two hash
 * words, or text in `sessionIdText`. Pangolin's `timestamp` and `duration` are not held: they
 * follow from startUs and endUs, for every writer the same way.
 *
 * Identity (orgId, siteId, clientId, userId, siteResourceId) is held by reference in rows the
 * flow table writes with an org map: the map generation and positions (`idGeneration`,
 * `idClient`, `idResource`) that `identifier` resolves. Writers that want the values call
 * resolveIdentity(); the JSON writer turns references into text it made once per client and
 * resource. A row with a negative idGeneration holds its identity in the value columns.
 */
export class SessionBatch {
  length = 0;
  readonly protocol: Uint8Array;
  readonly siteResourceId: Float64Array;
  readonly clientId: Float64Array;
  readonly userId: Array<string | null>;
  readonly sourceIp4: Uint32Array;
  readonly sourcePort: Uint16Array;
  readonly sourceText: Array<string | null>;
  readonly destIp4: Uint32Array;
  readonly destPort: Uint16Array;
  readonly destText: Array<string | null>;
  readonly bytesTx: Float64Array;
  readonly bytesRx: Float64Array;
  /** Unix microseconds of the first and last packet (NaN: still open). */
  readonly startUs: Float64Array;
  readonly endUs: Float64Array;
  readonly packetsTx: Float64Array;
  readonly packetsRx: Float64Array;
  readonly missedBytesTx: Float64Array;
  readonly missedBytesRx: Float64Array;
  readonly state: Uint8Array;
  readonly history: string[];
  /** END_REASONS index, STILL_OPEN while open. */
  readonly endReason: Uint8Array;
  readonly sessionIdHi: Uint32Array;
  readonly sessionIdLo: Uint32Array;
  readonly sessionIdText: Array<string | null>;
  readonly orgId: Array<string | null>;
  readonly siteId: Float64Array;
  readonly idGeneration: Int32Array;
  readonly idClient: Int32Array;
  readonly idResource: Int32Array;
  /** Resolves the rows' identity references (the flow table's identifier). */
  identifier: FlowIdentifier | null = null;

  constructor(readonly capacity = BATCH_ROWS) {
    const f64 = () => new Float64Array(capacity);
    const text = () => new Array<string | null>(capacity).fill(null);
    this.protocol = new Uint8Array(capacity);
    this.siteResourceId = f64();
    this.clientId = f64();
    this.userId = text();
    this.sourceIp4 = new Uint32Array(capacity);
    this.sourcePort = new Uint16Array(capacity);
    this.sourceText = text();
    this.destIp4 = new Uint32Array(capacity);
    this.destPort = new Uint16Array(capacity);
    this.destText = text();
    this.bytesTx = f64();
    this.bytesRx = f64();
    this.startUs = f64();
    this.endUs = f64();
    this.packetsTx = f64();
    this.packetsRx = f64();
    this.missedBytesTx = f64();
    this.missedBytesRx = f64();
    this.state = new Uint8Array(capacity);
    this.history = new Array<string>(capacity).fill('');
    this.endReason = new Uint8Array(capacity);
    this.sessionIdHi = new Uint32Array(capacity);
    this.sessionIdLo = new Uint32Array(capacity);
    this.sessionIdText = text();
    this.orgId = text();
    this.siteId = f64();
    this.idGeneration = new Int32Array(capacity).fill(-1);
    this.idClient = new Int32Array(capacity);
    this.idResource = new Int32Array(capacity);
  }

  get full(): boolean {
    return this.length === this.capacity;
  }

  /** The row as a SessionRecord (for the text formats, the live view and tests). */
  record(i: number): SessionRecord {
    this.resolveRow(i);
    const startUs = this.startUs[i]!;
    const endUs = this.endUs[i]!;
    const reason = this.endReason[i]!;
    return {
      timestamp: Math.floor(startUs / 1e6),
      protocol: PROTOCOLS[this.protocol[i]!]!,
      siteResourceId: orNull(this.siteResourceId[i]!),
      clientId: orNull(this.clientId[i]!),
      userId: this.userId[i]!,
      sourceAddr: this.sourceText[i] ?? formatEndpoint(formatIpv4(this.sourceIp4[i]!), this.sourcePort[i]!),
      destAddr: this.destText[i] ?? formatEndpoint(formatIpv4(this.destIp4[i]!), this.destPort[i]!),
      duration: Number.isNaN(endUs) ? null : (endUs - startUs) / 1e6,
      bytesTx: this.bytesTx[i]!,
      bytesRx: this.bytesRx[i]!,
      startedAt: startUs / 1e6,
      endedAt: Number.isNaN(endUs) ? null : endUs / 1e6,
      packetsTx: this.packetsTx[i]!,
      packetsRx: this.packetsRx[i]!,
      missedBytesTx: this.missedBytesTx[i]!,
      missedBytesRx: this.missedBytesRx[i]!,
      state: CONN_STATES[this.state[i]!]!,
      history: this.history[i]!,
      endReason: reason === STILL_OPEN ? null : END_REASONS[reason]!,
      sessionId: this.sessionIdText[i] ?? hex32(this.sessionIdHi[i]!) + hex32(this.sessionIdLo[i]!),
      orgId: this.orgId[i]!,
      siteId: orNull(this.siteId[i]!),
    };
  }

  records(): SessionRecord[] {
    const out: SessionRecord[] = new Array(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.record(i);
    return out;
  }

  /**
   * Appends a record as a row (for sessions that exist as records: tests, tools). Its
   * `timestamp` and `duration` are taken to follow from its times, as the flow table makes them.
   */
  pushRecord(r: SessionRecord): void {
    const i = this.length++;
    this.protocol[i] = PROTOCOLS.indexOf(r.protocol);
    this.siteResourceId[i] = r.siteResourceId ?? NaN;
    this.clientId[i] = r.clientId ?? NaN;
    this.userId[i] = r.userId;
    this.sourceText[i] = r.sourceAddr;
    this.destText[i] = r.destAddr;
    this.bytesTx[i] = r.bytesTx;
    this.bytesRx[i] = r.bytesRx;
    this.startUs[i] = Math.round(r.startedAt * 1e6);
    this.endUs[i] = r.endedAt === null ? NaN : Math.round(r.endedAt * 1e6);
    this.packetsTx[i] = r.packetsTx;
    this.packetsRx[i] = r.packetsRx;
    this.missedBytesTx[i] = r.missedBytesTx;
    this.missedBytesRx[i] = r.missedBytesRx;
    this.state[i] = CONN_STATES.indexOf(r.state);
    this.history[i] = r.history;
    this.endReason[i] = r.endReason === null ? STILL_OPEN : END_REASONS.indexOf(r.endReason);
    this.sessionIdText[i] = r.sessionId;
    this.orgId[i] = r.orgId;
    this.siteId[i] = r.siteId ?? NaN;
    this.idGeneration[i] = -1;
  }

  /** Writes the identity of rows held by reference into the value columns. */
  resolveIdentity(): void {
    for (let i = 0; i < this.length; i++) this.resolveRow(i);
  }

  private resolveRow(i: number): void {
    const generation = this.idGeneration[i]!;
    if (generation < 0) return;
    const who = RESOLVED;
    this.identifier!.describe(generation, this.idClient[i]!, this.idResource[i]!, who);
    this.orgId[i] = who.orgId;
    this.siteId[i] = who.siteId ?? NaN;
    this.clientId[i] = who.clientId ?? NaN;
    this.userId[i] = who.userId;
    this.siteResourceId[i] = who.siteResourceId ?? NaN;
    this.idGeneration[i] = -1;
  }

  /** Appends rows [start, start + count) of `from` (a batch about to be reused); room is the caller's care. */
  pushRows(from: SessionBatch, start: number, count: number): void {
    // References travel as they are while both batches resolve them the same way.
    if (this.identifier === null) this.identifier = from.identifier;
    else if (from.identifier !== this.identifier) for (let i = start; i < start + count; i++) from.resolveRow(i);
    const at = this.length;
    for (const name of NUMERIC_COLUMNS) this[name].set(from[name].subarray(start, start + count), at);
    for (const name of NULLABLE_TEXT_COLUMNS) {
      const to = this[name];
      const src = from[name];
      for (let i = 0; i < count; i++) to[at + i] = src[start + i]!;
    }
    for (let i = 0; i < count; i++) this.history[at + i] = from.history[start + i]!;
    this.length = at + count;
  }

  /** A batch of its own holding these rows, for a holder that keeps them past the reuse. */
  copy(): SessionBatch {
    const copy = new SessionBatch(this.length);
    copy.pushRows(this, 0, this.length);
    return copy;
  }

  /** Empties the batch; text references are dropped so the strings can be collected. */
  clear(): void {
    for (const name of NULLABLE_TEXT_COLUMNS) this[name].fill(null, 0, this.length);
    this.history.fill('', 0, this.length);
    this.idGeneration.fill(-1, 0, this.length);
    this.length = 0;
  }
}

type NumericColumn = { [K in keyof SessionBatch]: SessionBatch[K] extends Float64Array | Uint32Array | Int32Array | Uint16Array | Uint8Array ? K : never }[keyof SessionBatch];
type NullableTextColumn = 'userId' | 'sourceText' | 'destText' | 'sessionIdText' | 'orgId';

const NUMERIC_COLUMNS: readonly NumericColumn[] = [
  'protocol', 'siteResourceId', 'clientId', 'sourceIp4', 'sourcePort', 'destIp4', 'destPort', 'bytesTx', 'bytesRx', 'startUs', 'endUs', 'packetsTx', 'packetsRx', 'missedBytesTx', 'missedBytesRx', 'state',
  'endReason', 'sessionIdHi', 'sessionIdLo', 'siteId', 'idGeneration', 'idClient', 'idResource',
];
const NULLABLE_TEXT_COLUMNS: readonly NullableTextColumn[] = ['userId', 'sourceText', 'destText', 'sessionIdText', 'orgId'];

/** Scratch for resolveRow: describe() fills it, nothing is allocated per row. */
const RESOLVED: FlowIdentity = { orgId: null, siteId: null, clientId: null, userId: null, siteResourceId: null };

function orNull(n: number): number | null {
  return Number.isNaN(n) ? null : n;
}
