import { availableParallelism } from 'node:os';
import type { DuckDBConnection, DuckDBDataChunk, DuckDBType } from '@duckdb/node-api';
import type { DataChunk } from '@duckdb/node-bindings';
import { duckdbApi, duckdbBindings as duckdb } from './duckdb.js';
import { BATCH_ROWS, STILL_OPEN, type SessionBatch } from '../flow/session-batch.js';
import { CONN_STATES, END_REASONS, PROTOCOLS } from '../flow/session-record.js';

const enumSql = (members: readonly string[]) => `ENUM(${members.map((m) => `'${m}'`).join(', ')})`;

/**
 * The hot table, `sessions_hot`: one row per session, the record's fields in its order
 * (Pangolin's ten first), except that the two endpoints and the session id are kept as the
 * numbers they are made of. `timestamp` stays Pangolin's integer unix seconds;
 * startedAt/endedAt are TIMESTAMP (microseconds, UTC); bytes and packets BIGINT; ids INTEGER;
 * history and the org map's text ids VARCHAR; protocol, state and endReason ENUMs (one byte
 * each). An endpoint is its IPv4 address and port, or its text (`sourceText`: IPv6, and rows
 * stored before this layout); the session id is two 32-bit words, or its text likewise.
 * Readers see the text through the view `sessions` (SESSIONS_VIEW), which has exactly the
 * record's columns: a store of earlier versions had them as stored VARCHARs, and making and
 * compressing that text was most of DuckDB's work per session. For 77,682 sessions, INSERT
 * and COMMIT took 50-57 + 58-69 ms with the three texts stored and 12-13 + 12-16 ms with their
 * numbers (scratch, DuckDB alone, one thread, three runs each); the text is now made only for
 * the rows a query reads, and once when compaction writes a day to Parquet.
 */
export const HOT_TABLE = 'sessions_hot';

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
  "siteId" INTEGER
)`;

const endpoint = (text: string, ip: string, port: string) =>
  `coalesce("${text}", concat("${ip}" >> 24, '.', ("${ip}" >> 16) & 255, '.', ("${ip}" >> 8) & 255, '.', "${ip}" & 255, ':', "${port}"))`;

/** A hot row's record columns (the select list of SESSIONS_VIEW, and of the outbox's copy). */
export const RECORD_OF_HOT_ROW = [
  '"timestamp"',
  '"protocol"',
  '"siteResourceId"',
  '"clientId"',
  '"userId"',
  `${endpoint('sourceText', 'sourceIp4', 'sourcePort')} AS "sourceAddr"`,
  `${endpoint('destText', 'destIp4', 'destPort')} AS "destAddr"`,
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
    0, 0, "sessionId", "orgId", "siteId" FROM sessions`,
  'DROP TABLE sessions',
];

type Kind = 'double' | 'u32' | 'u16' | 'enum' | 'text' | 'code';
type BatchColumn = Exclude<keyof SessionBatch, 'length' | 'capacity' | 'full' | 'record' | 'records' | 'pushRecord' | 'pushRows' | 'clear' | 'resolveIdentity' | 'resolveTexts' | 'resolveText' | 'identifier'>;

interface StagedColumn {
  /** A SessionBatch column, or the history's code (HistoryCodes), filled with the history. */
  name: BatchColumn | 'historyCode';
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
];

const SQL_OF_KIND: Record<Kind, string> = { double: 'DOUBLE', u32: 'UINTEGER', u16: 'USMALLINT', text: 'VARCHAR', enum: '', code: 'UINTEGER' };
const WIDTH: Record<Kind, number> = { double: 8, u32: 4, u16: 2, enum: 1, text: 0, code: 4 };

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
].join(', ');

function duckType(c: StagedColumn): DuckDBType {
  const { DOUBLE, UINTEGER, USMALLINT, ENUM, VARCHAR } = duckdbApi;
  switch (c.kind) {
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
 * turns a code back into its text from a list in its SQL (`list`): a history first seen while
 * a chunk is filled goes as text and is queued, and the next write's list codes it. Sessions
 * share a few histories (8 in the bench's synthetic capture, 3 in its real one), so after the
 * first write nearly every row has a code. At most MAX_HISTORY_CODES texts get one; past that
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
  b.resolveTexts();
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
    } else if (col.kind === 'text') {
      const texts = b[col.name] as Array<string | null>;
      for (let i = 0; i < rows; i++) {
        const t = texts[i];
        if (t != null) duckdb.vector_assign_string_element(vector, i, t);
        else bits[i >> 3]! &= ~(1 << (i & 7));
      }
    } else {
      const array = b[col.name] as Float64Array | Uint32Array | Uint16Array | Uint8Array;
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

/** A chunk shaped like the staged row, for appending staged rows (see CREATE_STAGING_TABLE). */
export function createStagedChunk(): DuckDBDataChunk {
  return duckdbApi.DuckDBDataChunk.create(STAGED_TYPES);
}

const SCAN_FUNCTION = 'netlog_session_rows';

/**
 * The batches of one write as a table function, `netlog_session_rows()`, that DuckDB scans
 * straight into `INSERT ... SELECT` (insertScannedRows). DuckDB asks for a chunk at a time
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
export class SessionRowsScan {
  private batches: SessionBatch[] = [];
  private next = 0;
  private readonly validity = new Uint8Array(BATCH_ROWS / 8);
  private readonly codes = new Uint32Array(BATCH_ROWS);
  /** The histories' codes (insertScannedRows makes them text again). */
  readonly histories = new HistoryCodes();

  constructor(connection: DuckDBConnection) {
    connection.registerTableFunction(
      duckdbApi.DuckDBTableFunction.create({
        name: SCAN_FUNCTION,
        bindFunction: (bind) => STAGED.forEach((c, i) => bind.addResultColumn(c.name, STAGED_TYPES[i]!)),
        // Batches are independent: DuckDB's threads may each take some.
        initFunction: (init) => init.setMaxThreads(availableParallelism()),
        mainFunction: (_info, output) => this.produce(output),
      }),
    );
  }

  /** The batches the next scan reads (each once). */
  load(batches: SessionBatch[]): void {
    this.batches = batches;
    this.next = 0;
  }

  /** Lets go of the batches (after the write, whether it went in or not). */
  clear(): void {
    this.batches = [];
    this.next = 0;
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
  return `INSERT INTO ${table} SELECT ${scannedHotRow(scan.histories)} FROM ${SCAN_FUNCTION}()`;
}

/** The same batches into `table` with the record's columns, text made and stored (the layout
 *  of earlier versions, kept to compare: bench/store-append.ts). */
export function insertScannedRecords(table: string, scan: SessionRowsScan): string {
  return `INSERT INTO ${table} SELECT ${RECORD_OF_HOT_ROW} FROM (SELECT ${scannedHotRow(scan.histories)} FROM ${SCAN_FUNCTION}())`;
}

/** SQL that moves the rows of CREATE_STAGING_TABLE (histories as text) into `table` and empties it. */
export function moveStagedRows(table: string): string[] {
  return [`INSERT INTO ${table} SELECT ${hotRow('"history"')} FROM session_rows`, 'DELETE FROM session_rows'];
}
