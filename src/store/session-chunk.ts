import { availableParallelism } from 'node:os';
import type { DuckDBConnection, DuckDBDataChunk, DuckDBType } from '@duckdb/node-api';
import type { DataChunk } from '@duckdb/node-bindings';
import { duckdbApi, duckdbBindings as duckdb } from './duckdb.js';
import { BATCH_ROWS, ROW_IPV6, STILL_OPEN, type SessionBatch } from '../flow/session-batch.js';
import { CONN_STATES, END_REASONS, PROTOCOLS } from '../flow/session-record.js';

const enumSql = (members: readonly string[]) => `ENUM(${members.map((m) => `'${m}'`).join(', ')})`;

/**
 * The hot table, `sessions_hot`: one row per session, the record's fields in its order
 * (Pangolin's ten first), except that the two endpoints and the session id are kept as the
 * numbers they are made of. `timestamp` stays Pangolin's integer unix seconds;
 * startedAt/endedAt are TIMESTAMP (microseconds, UTC); bytes and packets BIGINT; ids INTEGER;
 * history and the org map's text ids VARCHAR; protocol, state and endReason ENUMs (one byte
 * each). An endpoint is its IPv4 address or IPv6 halves (IPV6_COLUMNS) and port, or its text
 * (`sourceText`: rows made from records, and rows stored before this layout); the session id
 * is two 32-bit words, or its text likewise.
 * Readers see the text through the view `sessions` (SESSIONS_VIEW), which has exactly the
 * record's columns: a store of earlier versions had them as stored VARCHARs, and making and
 * compressing that text was most of DuckDB's work per session. For 77,682 sessions, INSERT
 * and COMMIT took 50-57 + 58-69 ms with the three texts stored and 12-13 + 12-16 ms with their
 * numbers (scratch, DuckDB alone, one thread, three runs each); the text is now made only for
 * the rows a query reads, and once when compaction writes a day to Parquet.
 */
export const HOT_TABLE = 'sessions_hot';

/**
 * An IPv6 endpoint's address as two numbers, its high and low 64 bits, as an IPv4 one is held
 * as one: the text is made by SQL for the rows read (ipv6Sql), not by the store for every
 * session it writes. The store made it, as strings, from 8bae4fa until these columns: ~40 ms
 * and ~24 ms of garbage collection of a 250k-session write whose fifth is IPv6 (profiles,
 * scratch), and DuckDB stored and compressed the text. Added to a file of an earlier version
 * by ADD_IPV6_COLUMNS, NULL in its rows (which hold their text).
 */
const IPV6_COLUMNS = ['sourceIp6Hi', 'sourceIp6Lo', 'destIp6Hi', 'destIp6Lo'] as const;
type Ipv6Column = (typeof IPV6_COLUMNS)[number];

/** The IPv6 columns for a hot table made before them (run after CREATE_HOT_TABLE). */
export const ADD_IPV6_COLUMNS = IPV6_COLUMNS.map((c) => `ALTER TABLE ${HOT_TABLE} ADD COLUMN IF NOT EXISTS "${c}" UBIGINT`);

/**
 * SQL of an IPv6 address's text from its two 64-bit halves, as address.ts formatIpv6 writes it
 * (RFC 5952): eight groups in hex, then the longest run of two or more zero groups (the first
 * on a tie) as `::`, found by trying runs of eight down to two in the text padded with colons
 * (test/store.test.ts compares it with formatIpv6). Lambdas over one-element lists name the
 * intermediate texts, so each is computed once per row.
 */
function ipv6Sql(hi: string, lo: string): string {
  const groups = [hi, lo].flatMap((half) => [48, 32, 16, 0].map((shift) => `printf('%x', ("${half}" >> ${shift}) & 65535)`));
  const runs = [8, 7, 6, 5, 4, 3, 2].map((n) => {
    const zeros = `:${Array<string>(n).fill('0').join(':')}:`;
    return `WHEN contains(f, '${zeros}') THEN regexp_replace(f, '${zeros}', '::')`;
  });
  const padded = `':' || concat_ws(':', ${groups.join(', ')}) || ':'`;
  // The padding off again, but for a run at either end, which keeps its `::`.
  const unpadded = `list_transform([CASE WHEN starts_with(r, '::') THEN r ELSE substr(r, 2) END], t -> CASE WHEN ends_with(t, '::') THEN t ELSE left(t, length(t) - 1) END)[1]`;
  return `list_transform([${padded}], f -> list_transform([CASE ${runs.join(' ')} ELSE f END], r -> ${unpadded})[1])[1]`;
}

export const CREATE_HOT_TABLE = `CREATE TABLE IF NOT EXISTS ${HOT_TABLE} (
  "timestamp" BIGINT NOT NULL,
  "protocol" ${enumSql(PROTOCOLS)} NOT NULL,
  "siteResourceId" INTEGER,
  "clientId" INTEGER,
  "userId" VARCHAR,
  "sourceIp4" UINTEGER NOT NULL,
  "sourcePort" USMALLINT NOT NULL,
  "sourceText" VARCHAR,
  "destIp4" UINTEGER NOT NULL,
  "destPort" USMALLINT NOT NULL,
  "destText" VARCHAR,
  "duration" DOUBLE,
  "bytesTx" BIGINT NOT NULL,
  "bytesRx" BIGINT NOT NULL,
  "startedAt" TIMESTAMP NOT NULL,
  "endedAt" TIMESTAMP,
  "packetsTx" BIGINT NOT NULL,
  "packetsRx" BIGINT NOT NULL,
  "missedBytesTx" BIGINT NOT NULL,
  "missedBytesRx" BIGINT NOT NULL,
  "state" ${enumSql(CONN_STATES)} NOT NULL,
  "history" VARCHAR NOT NULL,
  "endReason" ${enumSql(END_REASONS)},
  "sessionIdHi" UINTEGER NOT NULL,
  "sessionIdLo" UINTEGER NOT NULL,
  "sessionIdText" VARCHAR,
  "orgId" VARCHAR,
  "siteId" INTEGER,
  ${IPV6_COLUMNS.map((c) => `"${c}" UBIGINT`).join(',\n  ')}
)`;

const endpoint = (text: string, ip: string, ip6Hi: string, ip6Lo: string, port: string) =>
  `coalesce("${text}", CASE WHEN "${ip6Hi}" IS NOT NULL THEN concat('[', ${ipv6Sql(ip6Hi, ip6Lo)}, ']:', "${port}") END, ` +
  `concat("${ip}" >> 24, '.', ("${ip}" >> 16) & 255, '.', ("${ip}" >> 8) & 255, '.', "${ip}" & 255, ':', "${port}"))`;

/** A hot row's record columns (the select list of SESSIONS_VIEW, and of the outbox's copy). */
export const RECORD_OF_HOT_ROW = [
  '"timestamp"',
  '"protocol"',
  '"siteResourceId"',
  '"clientId"',
  '"userId"',
  `${endpoint('sourceText', 'sourceIp4', 'sourceIp6Hi', 'sourceIp6Lo', 'sourcePort')} AS "sourceAddr"`,
  `${endpoint('destText', 'destIp4', 'destIp6Hi', 'destIp6Lo', 'destPort')} AS "destAddr"`,
  '"duration"',
  '"bytesTx"',
  '"bytesRx"',
  '"startedAt"',
  '"endedAt"',
  '"packetsTx"',
  '"packetsRx"',
  '"missedBytesTx"',
  '"missedBytesRx"',
  '"state"',
  '"history"',
  '"endReason"',
  `coalesce("sessionIdText", printf('%08x%08x', "sessionIdHi", "sessionIdLo")) AS "sessionId"`,
  '"orgId"',
  '"siteId"',
].join(', ');

/** `sessions`: the hot table with the record's columns, text made as rows are read. */
export const SESSIONS_VIEW = `CREATE OR REPLACE VIEW sessions AS SELECT ${RECORD_OF_HOT_ROW} FROM ${HOT_TABLE}`;

/**
 * A `sessions` table of an earlier version (the record's columns, stored) into the hot table,
 * its text kept as text, in one transaction with the caller's other statements: what
 * SessionStore.open runs when it finds one.
 */
export const MIGRATE_SESSIONS_TABLE = [
  `INSERT INTO ${HOT_TABLE} SELECT "timestamp", "protocol", "siteResourceId", "clientId", "userId",
    0, 0, "sourceAddr", 0, 0, "destAddr", "duration", "bytesTx", "bytesRx", "startedAt", "endedAt",
    "packetsTx", "packetsRx", "missedBytesTx", "missedBytesRx", "state", "history", "endReason",
    0, 0, "sessionId", "orgId", "siteId", NULL, NULL, NULL, NULL FROM sessions`,
  'DROP TABLE sessions',
];

type Kind = 'double' | 'u32' | 'u16' | 'enum' | 'text' | 'code' | 'ipv6';
type BatchColumn = Exclude<
  keyof SessionBatch,
  'length' | 'capacity' | 'full' | 'record' | 'records' | 'pushRecord' | 'pushRows' | 'pushNumeric' | 'clear' | 'resolveIdentity' | 'resolveText' | 'historyText' | 'identifier'
>;

interface StagedColumn {
  /** A SessionBatch column, the history's code (HistoryCodes), filled with the history, or
   *  half an IPv6 address, from the batch's words (kind ipv6). */
  name: BatchColumn | 'historyCode' | Ipv6Column;
  kind: Kind;
  /** Null where a double is NaN, an enum is STILL_OPEN, a text is null. */
  nullable: boolean;
  members?: readonly string[];
}

/**
 * A stored row before SQL finishes it: SessionBatch's columns as they are. A batch goes to
 * DuckDB by copying each numeric column into its vector whole (one call per column per
 * batch); only the rare texts (IPv6 endpoints, org map ids) cross one value at a time, and a
 * history as its code where HistoryCodes has one (else as text). SQL then makes the hot row
 * (hotRow): casts, times, the duration and the history's text.
 */
const STAGED: readonly StagedColumn[] = [
  { name: 'protocol', kind: 'enum', nullable: false, members: PROTOCOLS },
  { name: 'siteResourceId', kind: 'double', nullable: true },
  { name: 'clientId', kind: 'double', nullable: true },
  { name: 'userId', kind: 'text', nullable: true },
  { name: 'sourceIp4', kind: 'u32', nullable: false },
  { name: 'sourcePort', kind: 'u16', nullable: false },
  { name: 'sourceText', kind: 'text', nullable: true },
  { name: 'destIp4', kind: 'u32', nullable: false },
  { name: 'destPort', kind: 'u16', nullable: false },
  { name: 'destText', kind: 'text', nullable: true },
  { name: 'bytesTx', kind: 'double', nullable: false },
  { name: 'bytesRx', kind: 'double', nullable: false },
  { name: 'startUs', kind: 'double', nullable: false },
  { name: 'endUs', kind: 'double', nullable: true },
  { name: 'packetsTx', kind: 'double', nullable: false },
  { name: 'packetsRx', kind: 'double', nullable: false },
  { name: 'missedBytesTx', kind: 'double', nullable: false },
  { name: 'missedBytesRx', kind: 'double', nullable: false },
  { name: 'state', kind: 'enum', nullable: false, members: CONN_STATES },
  { name: 'history', kind: 'text', nullable: true },
  { name: 'historyCode', kind: 'code', nullable: true },
  { name: 'endReason', kind: 'enum', nullable: true, members: END_REASONS },
  { name: 'sessionIdHi', kind: 'u32', nullable: false },
  { name: 'sessionIdLo', kind: 'u32', nullable: false },
  { name: 'sessionIdText', kind: 'text', nullable: true },
  { name: 'orgId', kind: 'text', nullable: true },
  { name: 'siteId', kind: 'double', nullable: true },
  ...IPV6_COLUMNS.map((name) => ({ name, kind: 'ipv6' as const, nullable: true })),
];

const SQL_OF_KIND: Record<Kind, string> = { double: 'DOUBLE', u32: 'UINTEGER', u16: 'USMALLINT', text: 'VARCHAR', enum: '', code: 'UINTEGER', ipv6: 'UBIGINT' };
const WIDTH: Record<Kind, number> = { double: 8, u32: 4, u16: 2, enum: 1, text: 0, code: 4, ipv6: 8 };

/** The staged rows as a temporary table: the store's former way in, kept to compare
 *  (bench/store-append.ts). */
export const CREATE_STAGING_TABLE = `CREATE TEMP TABLE IF NOT EXISTS session_rows (\n${STAGED.map(
  (c) => `  "${c.name}" ${c.kind === 'enum' ? enumSql(c.members!) : SQL_OF_KIND[c.kind]}`,
).join(',\n')}\n)`;

/**
 * The hot table's row of a staged row, column for column, named as the hot table's; `history`
 * is the SQL of the history's text.
 */
const hotRow = (history: string) => [
  'floor("startUs" / 1000000)::BIGINT AS "timestamp"',
  '"protocol"',
  '"siteResourceId"::INTEGER AS "siteResourceId"',
  '"clientId"::INTEGER AS "clientId"',
  '"userId"',
  '"sourceIp4"',
  '"sourcePort"',
  '"sourceText"',
  '"destIp4"',
  '"destPort"',
  '"destText"',
  '("endUs" - "startUs") / 1000000 AS "duration"',
  '"bytesTx"::BIGINT AS "bytesTx"',
  '"bytesRx"::BIGINT AS "bytesRx"',
  'make_timestamp("startUs"::BIGINT) AS "startedAt"',
  'make_timestamp("endUs"::BIGINT) AS "endedAt"',
  '"packetsTx"::BIGINT AS "packetsTx"',
  '"packetsRx"::BIGINT AS "packetsRx"',
  '"missedBytesTx"::BIGINT AS "missedBytesTx"',
  '"missedBytesRx"::BIGINT AS "missedBytesRx"',
  '"state"',
  `${history} AS "history"`,
  '"endReason"',
  '"sessionIdHi"',
  '"sessionIdLo"',
  '"sessionIdText"',
  '"orgId"',
  '"siteId"::INTEGER AS "siteId"',
  ...IPV6_COLUMNS.map((c) => `"${c}"`),
].join(', ');

function duckType(c: StagedColumn): DuckDBType {
  const { DOUBLE, UINTEGER, USMALLINT, ENUM, VARCHAR, UBIGINT } = duckdbApi;
  switch (c.kind) {
    case 'ipv6':
      return UBIGINT;
    case 'double':
      return DOUBLE;
    case 'u32':
    case 'code':
      return UINTEGER;
    case 'u16':
      return USMALLINT;
    case 'enum':
      return ENUM(c.members as string[]);
    case 'text':
      return VARCHAR;
  }
}

const STAGED_TYPES = STAGED.map(duckType);

/**
 * Codes for history texts, so that a row's history crosses into DuckDB as a number copied with
 * its column, not as a string assigned one row at a time (half of filling a chunk: 0.13 of
 * 0.26 us a row, scratch /tmp/exp/fill.mjs on the synthetic capture's sessions). The INSERT
 * turns a code back into its text from a list in its SQL (`list`): a history new to it is queued
 * when SessionRowsScan.load looks the write's batches up, and that write's list codes it. Sessions
 * share a few histories (8 in the bench's synthetic capture, 3 in its real one), so the list
 * stays short and every row has a code. At most MAX_HISTORY_CODES texts get one; past that
 * (hostile input), text. A join with a table of the codes cost DuckDB more than the strings
 * cost JavaScript: INSERT of 250,828 rows 384-452 ms with the join, 276-289 with the list
 * (scratch /tmp/exp/ins.mjs, two DuckDB threads).
 */
export class HistoryCodes {
  private readonly codes = new Map<string, number>();
  private readonly texts: string[] = [];
  /** Texts seen without a code, coded by the next `list`. */
  private readonly queued = new Set<string>();

  /** The code of `text` (1 and up), or 0 (then it is queued for the next write). */
  codeOf(text: string): number {
    const code = this.codes.get(text);
    if (code !== undefined) return code;
    if (this.texts.length + this.queued.size < MAX_HISTORY_CODES) this.queued.add(text);
    return 0;
  }

  /** The texts by code, as a DuckDB list literal (1-based, as codes are); codes the queued first. */
  list(): string {
    for (const text of this.queued) {
      this.texts.push(text);
      this.codes.set(text, this.texts.length);
    }
    this.queued.clear();
    return `[${this.texts.map((t) => `'${t.replaceAll("'", "''")}'`).join(', ')}]::VARCHAR[]`;
  }
}

const MAX_HISTORY_CODES = 1024;

/**
 * Fills `chunk` (STAGED's columns, at least b.length rows) with the rows of `b`: numeric
 * columns copied from the batch's typed arrays as they are, validity masks made from NaN /
 * STILL_OPEN / null, texts assigned one by one; histories as codes where `histories` has one.
 * `validity` is scratch of BATCH_ROWS bits, `codes` of BATCH_ROWS words.
 */
export function fillStagedChunk(chunk: DataChunk, b: SessionBatch, validity: Uint8Array, codes: Uint32Array, histories: HistoryCodes | null): void {
  b.resolveIdentity();
  const rows = b.length;
  if (rows > BATCH_ROWS) throw new Error(`a batch of ${rows} rows is more than a chunk holds`);
  const bits = validity;
  for (let c = 0; c < STAGED.length; c++) {
    const col = STAGED[c]!;
    const vector = duckdb.data_chunk_get_vector(chunk, c);
    if (col.nullable) bits.fill(0xff);
    if (col.name === 'history') {
      const texts = b.history;
      for (let i = 0; i < rows; i++) {
        const code = histories === null ? 0 : histories.codeOf(texts[i]!);
        codes[i] = code;
        if (code === 0) duckdb.vector_assign_string_element(vector, i, texts[i]!);
        else bits[i >> 3]! &= ~(1 << (i & 7));
      }
    } else if (col.name === 'historyCode') {
      duckdb.copy_data_to_vector(vector, 0, codes.buffer as ArrayBuffer, codes.byteOffset, rows * 4);
      for (let i = 0; i < rows; i++) if (codes[i] === 0) bits[i >> 3]! &= ~(1 << (i & 7));
    } else if (col.kind === 'ipv6') {
      // A row of the flow table's with an IPv6 endpoint holds its four words (rowKind); the
      // half as a little-endian uint64, its lower word first. Other rows: NULL.
      const words = col.name === 'sourceIp6Hi' || col.name === 'sourceIp6Lo' ? b.sourceIp6 : b.destIp6;
      const first = col.name.endsWith('Hi') ? 0 : 2;
      const halves = IPV6_HALVES;
      for (let i = 0; i < rows; i++) {
        if (b.rowKind[i] === ROW_IPV6) {
          halves[2 * i] = words[4 * i + first + 1]!;
          halves[2 * i + 1] = words[4 * i + first]!;
        } else bits[i >> 3]! &= ~(1 << (i & 7));
      }
      duckdb.copy_data_to_vector(vector, 0, halves.buffer as ArrayBuffer, halves.byteOffset, rows * WIDTH.ipv6);
    } else if (col.kind === 'text') {
      const texts = b[col.name as BatchColumn] as Array<string | null>;
      for (let i = 0; i < rows; i++) {
        const t = texts[i];
        if (t != null) duckdb.vector_assign_string_element(vector, i, t);
        else bits[i >> 3]! &= ~(1 << (i & 7));
      }
    } else {
      const array = b[col.name as BatchColumn] as Float64Array | Uint32Array | Uint16Array | Uint8Array;
      duckdb.copy_data_to_vector(vector, 0, array.buffer as ArrayBuffer, array.byteOffset, rows * WIDTH[col.kind]);
      if (col.nullable) {
        const none = col.kind === 'enum' ? STILL_OPEN : NaN;
        for (let i = 0; i < rows; i++) {
          const v = array[i]!;
          if (v === none || v !== v) bits[i >> 3]! &= ~(1 << (i & 7));
        }
      }
    }
    if (col.nullable) {
      duckdb.vector_ensure_validity_writable(vector);
      duckdb.copy_data_to_vector_validity(vector, 0, bits.buffer as ArrayBuffer, 0, Math.ceil(rows / 8));
    }
  }
  duckdb.data_chunk_set_size(chunk, rows);
}

/** fillStagedChunk's scratch for a column of IPv6 halves (two words a row). */
const IPV6_HALVES = new Uint32Array(2 * BATCH_ROWS);

/** A chunk shaped like the staged row, for appending staged rows (see CREATE_STAGING_TABLE). */
export function createStagedChunk(): DuckDBDataChunk {
  return duckdbApi.DuckDBDataChunk.create(STAGED_TYPES);
}

const SCAN_FUNCTION = 'netlog_session_rows';
let jsScans = 0;

/**
 * Batches of sessions as a table function DuckDB reads hot rows from: the store's way in. The
 * native scan (native-scan.ts) where its addon is built, else this file's SessionRowsScan.
 */
export interface RowsScan {
  /** The batches the next write reads (each once); untouched until clear(). */
  load(batches: SessionBatch[]): void;
  clear(): void;
  /** SQL that moves the loaded batches into `table` (the hot table's columns) as hot rows. */
  insertRows(table: string): string;
}

/**
 * The batches of one write as a table function, `netlog_session_rows_N()`, that DuckDB scans
 * straight into `INSERT ... SELECT` (insertScannedRows): the store's way in where the native
 * scan (native-scan.ts, since 12-08) is not built, and its reference in the tests, which
 * compare the rows the two write. DuckDB asks for a chunk at a time
 * from its own threads; the binding runs each request on this thread, which copies one
 * batch (BATCH_ROWS, a DuckDB vector's size) into the chunk it is given. The former way,
 * an appender into a temporary table and then INSERT ... SELECT from it, spent 0.21-0.28 s
 * of this thread appending 250,828 sessions; a count(*) over the scan of the same sessions
 * takes 0.10 s in all, and the rest of a write (expressions, compression) runs on DuckDB's
 * threads. SessionStore went 380-409k -> 529-535k sessions/s (bench/store-outbox.ts).
 * Requests are served only when this thread turns its event loop: a replay whose ring stays
 * full turns it once per slot of packets while a write is in progress (SessionStore.caughtUp).
 * That was first tried with DuckDB on two threads, which then waited for chunks at a trickle:
 * the 20M-packet replay into DuckDB took 22.2 -> 30.0 s of CPU for no gain in wall time; a
 * replay's store now runs DuckDB on one (row-group.ts), and the turn pays.
 */
export class SessionRowsScan implements RowsScan {
  /** The table function, one name a scan (two scans on one instance must not share one). */
  readonly functionName = `${SCAN_FUNCTION}_${++jsScans}`;
  private batches: SessionBatch[] = [];
  private next = 0;
  private readonly validity = new Uint8Array(BATCH_ROWS / 8);
  private readonly codes = new Uint32Array(BATCH_ROWS);
  /** The histories' codes (insertScannedRows makes them text again). */
  readonly histories = new HistoryCodes();

  constructor(connection: DuckDBConnection) {
    connection.registerTableFunction(
      duckdbApi.DuckDBTableFunction.create({
        name: this.functionName,
        bindFunction: (bind) => STAGED.forEach((c, i) => bind.addResultColumn(c.name, STAGED_TYPES[i]!)),
        // Batches are independent: DuckDB's threads may each take some.
        initFunction: (init) => init.setMaxThreads(availableParallelism()),
        mainFunction: (_info, output) => this.produce(output),
      }),
    );
  }

  /**
   * The batches the next scan reads (each once). Their histories are looked up first, so that
   * the write's list (insertScannedRows) codes the ones new to it: a store's first write, a
   * replay's first row group, sends codes too rather than a string a row.
   */
  load(batches: SessionBatch[]): void {
    for (const b of batches) for (let i = 0; i < b.length; i++) this.histories.codeOf(b.history[i]!);
    this.batches = batches;
    this.next = 0;
  }

  /** Lets go of the batches (after the write, whether it went in or not). */
  clear(): void {
    this.batches = [];
    this.next = 0;
  }

  insertRows(table: string): string {
    return insertScannedRows(table, this);
  }

  private produce(output: DuckDBDataChunk): void {
    // A chunk of no rows ends the scan, so empty batches are passed over.
    while (this.next < this.batches.length && this.batches[this.next]!.length === 0) this.next++;
    const b = this.batches[this.next++];
    if (b === undefined) duckdb.data_chunk_set_size(output.chunk, 0);
    else fillStagedChunk(output.chunk, b, this.validity, this.codes, this.histories);
  }
}

/** The scan's hot rows, histories made text from `histories`' codes. */
const scannedHotRow = (histories: HistoryCodes) => hotRow(`coalesce(list_extract(${histories.list()}, "historyCode"), "history")`);

/** SQL that moves the batches loaded into `scan` into `table` as hot rows. */
export function insertScannedRows(table: string, scan: SessionRowsScan): string {
  return `INSERT INTO ${table} SELECT ${scannedHotRow(scan.histories)} FROM ${scan.functionName}()`;
}

/** The same batches into `table` with the record's columns, text made and stored (the layout
 *  of earlier versions, kept to compare: bench/store-append.ts). */
export function insertScannedRecords(table: string, scan: SessionRowsScan): string {
  return `INSERT INTO ${table} SELECT ${RECORD_OF_HOT_ROW} FROM (SELECT ${scannedHotRow(scan.histories)} FROM ${scan.functionName}())`;
}

/** SQL that moves the rows of CREATE_STAGING_TABLE (histories as text) into `table` and empties it. */
export function moveStagedRows(table: string): string[] {
  return [`INSERT INTO ${table} SELECT ${hotRow('"history"')} FROM session_rows`, 'DELETE FROM session_rows'];
}
