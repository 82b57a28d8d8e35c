import { formatEndpoint, formatIpv4, Ipv6TextCache } from '../decode/address.js';
import type { FlowIdentifier, FlowIdentity } from './flow-identifier.js';
import { HistoryText } from './history-text.js';
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
 * CONN_STATES and END_REASONS. An endpoint the flow table writes is held as its address word
 * (IPv4) or four words (IPv6) and port, and its text is made only by whoever needs it: the
 * native JSON writer writes it from the words, the store keeps the words (its view makes the
 * text), and resolveText() puts an IPv6 endpoint's text in `sourceText`/`destText` for the
 * others (records, the TypeScript JSON writer). Rows made from records keep their text there.
 * Likewise the session id is two hash
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
  // The numeric columns are views of one buffer, made from NUMERIC_COLUMNS in the constructor.
  declare readonly protocol: Uint8Array;
  declare readonly siteResourceId: Float64Array;
  declare readonly clientId: Float64Array;
  readonly userId: Array<string | null>;
  declare readonly sourceIp4: Uint32Array;
  declare readonly sourcePort: Uint16Array;
  readonly sourceText: Array<string | null>;
  declare readonly destIp4: Uint32Array;
  declare readonly destPort: Uint16Array;
  readonly destText: Array<string | null>;
  declare readonly bytesTx: Float64Array;
  declare readonly bytesRx: Float64Array;
  /** Unix microseconds of the first and last packet (NaN: still open). */
  declare readonly startUs: Float64Array;
  declare readonly endUs: Float64Array;
  declare readonly packetsTx: Float64Array;
  declare readonly packetsRx: Float64Array;
  declare readonly missedBytesTx: Float64Array;
  declare readonly missedBytesRx: Float64Array;
  declare readonly state: Uint8Array;
  readonly history: string[];
  /** END_REASONS index, STILL_OPEN while open. */
  declare readonly endReason: Uint8Array;
  declare readonly sessionIdHi: Uint32Array;
  declare readonly sessionIdLo: Uint32Array;
  readonly sessionIdText: Array<string | null>;
  readonly orgId: Array<string | null>;
  declare readonly siteId: Float64Array;
  declare readonly idGeneration: Int32Array;
  declare readonly idClient: Int32Array;
  declare readonly idResource: Int32Array;
  /**
   * What the native JSON writer may read (native/netlog_json.cc): ROW_TEXT for a row with
   * text in JavaScript strings (made from a record), or ROW_IPV4 / ROW_IPV6 for a row the flow
   * table wrote, whose endpoints are in sourceIp4/destIp4 or, four words each, in
   * sourceIp6/destIp6, and whose history is in historyCodes as well as in `history`.
   */
  declare readonly rowKind: Uint8Array;
  declare readonly sourceIp6: Uint32Array;
  declare readonly destIp6: Uint32Array;
  /** History codes (conn-state.ts: event * 2 + 0 originator | 1 responder), HISTORY_CODES a row. */
  declare readonly historyCodes: Uint8Array;
  declare readonly historyLength: Uint8Array;
  /** The numeric columns, all in one buffer, and their byte offsets in the native writer's order. */
  readonly numeric: Uint8Array;
  readonly nativeLayout: Int32Array;
  /** Resolves the rows' identity references (the flow table's identifier). */
  identifier: FlowIdentifier | null = null;

  /**
   * `backing`: the numeric columns in that memory (SessionBatch.numericBytes(capacity) from
   * `byteOffset`, a multiple of 8) rather than a buffer of their own; a replay's JSON lines
   * pass so to its decoding thread (json-channel.ts).
   */
  constructor(
    readonly capacity = BATCH_ROWS,
    backing?: { buffer: ArrayBuffer | SharedArrayBuffer; byteOffset: number },
  ) {
    // Every numeric column in one buffer, widest elements first so each is aligned, so the
    // native writer takes a batch as one buffer and a table of offsets.
    const bytes = SessionBatch.numericBytes(capacity);
    const buffer = backing?.buffer ?? new ArrayBuffer(bytes);
    const base = backing?.byteOffset ?? 0;
    this.numeric = new Uint8Array(buffer, base, bytes);
    const columns: Record<string, NumericArray> = {};
    let at = base;
    for (const c of NUMERIC_COLUMNS) {
      columns[c.name] = new c.type(buffer as ArrayBuffer, at, c.stride * capacity);
      at += c.type.BYTES_PER_ELEMENT * c.stride * capacity;
    }
    this.nativeLayout = Int32Array.from(NATIVE_ORDER, (name) => columns[name]!.byteOffset - base);
    Object.assign(this, columns);
    this.idGeneration.fill(-1);
    const text = () => new Array<string | null>(capacity).fill(null);
    this.userId = text();
    this.sourceText = text();
    this.destText = text();
    this.history = new Array<string>(capacity).fill('');
    this.sessionIdText = text();
    this.orgId = text();
  }

  /** Bytes the numeric columns of a batch of `capacity` rows take. */
  static numericBytes(capacity: number): number {
    let bytes = 0;
    for (const c of NUMERIC_COLUMNS) bytes += c.type.BYTES_PER_ELEMENT * c.stride * capacity;
    return bytes;
  }

  get full(): boolean {
    return this.length === this.capacity;
  }

  /** The row as a SessionRecord (for the text formats, the live view and tests). */
  record(i: number): SessionRecord {
    this.resolveRow(i);
    this.resolveText(i);
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
    this.rowKind[i] = ROW_TEXT;
  }

  /**
   * Row `i`'s history letters: its text, or, for a row that holds numbers only (a batch in
   * shared memory, read on another thread: json-channel.ts), made from its codes.
   */
  historyText(i: number): string {
    const text = this.history[i]!;
    if (text !== '' || this.rowKind[i] === ROW_TEXT) return text;
    return HISTORY_TEXT.of(this.historyCodes, HISTORY_CODES * i, this.historyLength[i]!);
  }

  /** Writes the identity of rows held by reference into the value columns. */
  resolveIdentity(): void {
    for (let i = 0; i < this.length; i++) this.resolveRow(i);
  }

  /**
   * Row `i`'s IPv6 endpoints as text, if the flow table left them as words. Made here rather
   * than by the flow table for every IPv6 session: a replay to JSON lines never reads it (the
   * native writer writes the words), and on the flow table's thread it took ~40 ms of a
   * replay of the bench capture (a fifth of its sessions IPv6; scratch profiles).
   */
  resolveText(i: number): void {
    if (this.rowKind[i] !== ROW_IPV6 || this.sourceText[i] !== null) return;
    const s = this.sourceIp6;
    const d = this.destIp6;
    const k = 4 * i;
    this.sourceText[i] = formatEndpoint(IPV6_TEXT.text(s[k]!, s[k + 1]!, s[k + 2]!, s[k + 3]!), this.sourcePort[i]!);
    this.destText[i] = formatEndpoint(IPV6_TEXT.text(d[k]!, d[k + 1]!, d[k + 2]!, d[k + 3]!), this.destPort[i]!);
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
    // Its identity is text in strings now, which only the JavaScript writer reads; so are its
    // endpoints (it can no longer say it has words).
    this.resolveText(i);
    this.rowKind[i] = ROW_TEXT;
  }

  /** Appends rows [start, start + count) of `from` (a batch about to be reused); room is the caller's care. */
  pushRows(from: SessionBatch, start: number, count: number): void {
    // References travel as they are while both batches resolve them the same way.
    if (this.identifier === null) this.identifier = from.identifier;
    else if (from.identifier !== this.identifier) for (let i = start; i < start + count; i++) from.resolveRow(i);
    const at = this.length;
    this.pushNumeric(from, start, count);
    for (const name of NULLABLE_TEXT_COLUMNS) {
      const to = this[name];
      const src = from[name];
      for (let i = 0; i < count; i++) to[at + i] = src[start + i]!;
    }
    for (let i = 0; i < count; i++) this.history[at + i] = from.history[start + i]!;
    this.length = at + count;
  }

  /**
   * Appends the numeric columns of rows [start, start + count) of `from`, not their text
   * (length is the caller's care): rows whose rowKind says they have none, for a reader that
   * takes numbers only (the native JSON writer on another thread).
   */
  pushNumeric(from: SessionBatch, start: number, count: number): void {
    const at = this.length;
    // Most or all of a batch into an empty one of the same size (the store takes the flow
    // table's full batches so): one copy of the numeric buffer rather than one per column.
    if (start === 0 && at === 0 && from.capacity === this.capacity && 2 * count >= this.capacity) this.numeric.set(from.numeric);
    else for (const { name, stride } of NUMERIC_COLUMNS) this[name].set(from[name].subarray(stride * start, stride * (start + count)), stride * at);
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
type NumericArray = Float64Array | Uint32Array | Int32Array | Uint16Array | Uint8Array;
type NumericArrayType = Float64ArrayConstructor | Uint32ArrayConstructor | Int32ArrayConstructor | Uint16ArrayConstructor | Uint8ArrayConstructor;

/** SessionBatch.rowKind values. */
export const ROW_TEXT = 0;
export const ROW_IPV4 = 1;
export const ROW_IPV6 = 2;
/** History codes a row holds at most: 9 events, each once per direction. */
export const HISTORY_CODES = 18;

/** The numeric columns, widest elements first (so one buffer holds them aligned), with the elements a row has. */
const NUMERIC_COLUMNS: readonly { name: Exclude<NumericColumn, 'numeric' | 'nativeLayout'>; type: NumericArrayType; stride: number }[] = [
  ...(['startUs', 'endUs', 'bytesTx', 'bytesRx', 'packetsTx', 'packetsRx', 'missedBytesTx', 'missedBytesRx', 'siteResourceId', 'clientId', 'siteId'] as const).map((name) => ({ name, type: Float64Array, stride: 1 })),
  ...(['sourceIp4', 'destIp4', 'sessionIdHi', 'sessionIdLo'] as const).map((name) => ({ name, type: Uint32Array, stride: 1 })),
  { name: 'sourceIp6', type: Uint32Array, stride: 4 },
  { name: 'destIp6', type: Uint32Array, stride: 4 },
  ...(['idGeneration', 'idClient', 'idResource'] as const).map((name) => ({ name, type: Int32Array, stride: 1 })),
  ...(['sourcePort', 'destPort'] as const).map((name) => ({ name, type: Uint16Array, stride: 1 })),
  ...(['protocol', 'state', 'endReason', 'rowKind', 'historyLength'] as const).map((name) => ({ name, type: Uint8Array, stride: 1 })),
  { name: 'historyCodes', type: Uint8Array, stride: HISTORY_CODES },
];

/** The columns in the order of native/netlog_json.cc's Column enum. */
export const NATIVE_ORDER = [
  'startUs', 'endUs', 'bytesTx', 'bytesRx', 'packetsTx', 'packetsRx', 'missedBytesTx', 'missedBytesRx',
  'sourceIp4', 'destIp4', 'sourceIp6', 'destIp6', 'sessionIdHi', 'sessionIdLo',
  'idGeneration', 'idClient', 'idResource', 'sourcePort', 'destPort',
  'protocol', 'state', 'endReason', 'rowKind', 'historyLength', 'historyCodes',
] as const;
/** How many: the addon says how many it reads, and is used only when the two agree. */
export const NATIVE_COLUMNS = NATIVE_ORDER.length;

const NULLABLE_TEXT_COLUMNS: readonly NullableTextColumn[] = ['userId', 'sourceText', 'destText', 'sessionIdText', 'orgId'];

/** History text for historyText. */
const HISTORY_TEXT = new HistoryText();
/** IPv6 text for resolveText: a tunnel's sessions come from few addresses. */
const IPV6_TEXT = new Ipv6TextCache();
/** Scratch for resolveRow: describe() fills it, nothing is allocated per row. */
const RESOLVED: FlowIdentity = { orgId: null, siteId: null, clientId: null, userId: null, siteResourceId: null };

function orNull(n: number): number | null {
  return Number.isNaN(n) ? null : n;
}
