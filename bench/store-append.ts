/**
 * Appending sessions to DuckDB, each way into a fresh file inside one transaction, on the
 * sessions of the synthetic capture:
 * - native (the store's way): the flow table's SessionBatches read by a table function of
 *   native/netlog_store.cc, which fills DuckDB's chunks with hot rows on DuckDB's threads, into
 *   one INSERT ... SELECT into the hot table (native-scan.ts);
 * - scan (the store's way where that addon is not built, and until 12-08): the batches copied
 *   column by column into the chunks of a table function in JavaScript, SQL making the hot rows
 *   (addresses and ids as numbers, session-chunk.ts);
 * - scan-text (the store's way until 12-07): the same scan, the record's columns stored, their
 *   text made inside DuckDB;
 * - staged: the same batches appended to a temporary table, then the INSERT ... SELECT from it;
 * - row: the appender's row API, one call per value, from records (text columns stored);
 * - chunk: data chunks of 2,048 rows from records through setColumns (likewise);
 * - csv: records as text through DuckDB's CSV reader (a RAM file, one INSERT; likewise);
 * - floor: DuckDB alone, no JavaScript in the timed part: the staged rows already in a temporary
 *   table (appended before the clock starts), timed is only the INSERT ... SELECT that makes
 *   the hot rows and its COMMIT. What any way in from JavaScript adds to this, so the most such
 *   a store can reach on this machine.
 *   node dist/bench/store-append.js native|scan|scan-text|staged|row|chunk|csv|floor CAPTURE
 */
import { rmSync, writeFileSync } from 'node:fs';
import type { DuckDBAppender, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { SessionBatch } from '../src/flow/session-batch.js';
import type { SessionRecord } from '../src/flow/session-record.js';
import { replay } from '../src/replay/replay.js';
import {
  CREATE_HOT_TABLE,
  CREATE_STAGING_TABLE,
  HOT_TABLE,
  SESSIONS_VIEW,
  SessionRowsScan,
  createStagedChunk,
  fillStagedChunk,
  insertScannedRecords,
  moveStagedRows,
} from '../src/store/session-chunk.js';
import { BATCH_ROWS } from '../src/flow/session-batch.js';
import { NativeRowsScan } from '../src/store/native-scan.js';
import { WRITE_MEMORY_LIMIT } from '../src/store/session-store.js';
import { duckdbApi } from '../src/store/duckdb.js';

// The store's own copy of @duckdb/node-api (its bundle once built: duckdb.ts), so that the
// classes here and SessionRowsScan's are one module's.
const { BIGINT, DOUBLE, DuckDBDataChunk, DuckDBInstance, DuckDBTimestampValue, INTEGER, TIMESTAMP, VARCHAR } = duckdbApi;

/** Row-API columns: the store's first way of appending, kept here for the comparison. */
interface SessionColumn {
  name: keyof SessionRecord;
  sql: string;
  append: (a: DuckDBAppender, r: SessionRecord) => void;
}

const big = (a: DuckDBAppender, v: number) => a.appendBigInt(BigInt(v));
const text = (a: DuckDBAppender, v: string | null) => (v === null ? a.appendNull() : a.appendVarchar(v));
const int = (a: DuckDBAppender, v: number | null) => (v === null ? a.appendNull() : a.appendInteger(v));
// Whole microseconds since 1970: the precision of the record's times.
const micros = (a: DuckDBAppender, seconds: number | null) =>
  seconds === null ? a.appendNull() : a.appendTimestamp(new DuckDBTimestampValue(BigInt(Math.round(seconds * 1e6))));

const SESSION_COLUMNS: readonly SessionColumn[] = [
  { name: 'timestamp', sql: 'BIGINT NOT NULL', append: (a, r) => big(a, r.timestamp) },
  { name: 'protocol', sql: 'VARCHAR NOT NULL', append: (a, r) => a.appendVarchar(r.protocol) },
  { name: 'siteResourceId', sql: 'INTEGER', append: (a, r) => int(a, r.siteResourceId) },
  { name: 'clientId', sql: 'INTEGER', append: (a, r) => int(a, r.clientId) },
  { name: 'userId', sql: 'VARCHAR', append: (a, r) => text(a, r.userId) },
  { name: 'sourceAddr', sql: 'VARCHAR NOT NULL', append: (a, r) => a.appendVarchar(r.sourceAddr) },
  { name: 'destAddr', sql: 'VARCHAR NOT NULL', append: (a, r) => a.appendVarchar(r.destAddr) },
  { name: 'duration', sql: 'DOUBLE', append: (a, r) => (r.duration === null ? a.appendNull() : a.appendDouble(r.duration)) },
  { name: 'bytesTx', sql: 'BIGINT NOT NULL', append: (a, r) => big(a, r.bytesTx) },
  { name: 'bytesRx', sql: 'BIGINT NOT NULL', append: (a, r) => big(a, r.bytesRx) },
  { name: 'startedAt', sql: 'TIMESTAMP NOT NULL', append: (a, r) => micros(a, r.startedAt) },
  { name: 'endedAt', sql: 'TIMESTAMP', append: (a, r) => micros(a, r.endedAt) },
  { name: 'packetsTx', sql: 'BIGINT NOT NULL', append: (a, r) => big(a, r.packetsTx) },
  { name: 'packetsRx', sql: 'BIGINT NOT NULL', append: (a, r) => big(a, r.packetsRx) },
  { name: 'missedBytesTx', sql: 'BIGINT NOT NULL', append: (a, r) => big(a, r.missedBytesTx) },
  { name: 'missedBytesRx', sql: 'BIGINT NOT NULL', append: (a, r) => big(a, r.missedBytesRx) },
  { name: 'state', sql: 'VARCHAR NOT NULL', append: (a, r) => a.appendVarchar(r.state) },
  { name: 'history', sql: 'VARCHAR NOT NULL', append: (a, r) => a.appendVarchar(r.history) },
  { name: 'endReason', sql: 'VARCHAR', append: (a, r) => text(a, r.endReason) },
  { name: 'sessionId', sql: 'VARCHAR NOT NULL', append: (a, r) => a.appendVarchar(r.sessionId) },
  { name: 'orgId', sql: 'VARCHAR', append: (a, r) => text(a, r.orgId) },
  { name: 'siteId', sql: 'INTEGER', append: (a, r) => int(a, r.siteId) },
];

const CREATE_SESSIONS_TABLE = `CREATE TABLE IF NOT EXISTS sessions (\n${SESSION_COLUMNS.map(
  (c) => `  "${c.name}" ${c.sql}`,
).join(',\n')}\n)`;

/** DuckDB types of SESSION_COLUMNS, by position, for column-wise data chunks. */
const SESSION_COLUMN_TYPES: readonly DuckDBType[] = SESSION_COLUMNS.map((c) => {
  const t = c.sql.split(' ')[0];
  return t === 'BIGINT' ? BIGINT : t === 'INTEGER' ? INTEGER : t === 'DOUBLE' ? DOUBLE : t === 'TIMESTAMP' ? TIMESTAMP : VARCHAR;
});

/** A record field as the DuckDBValue its column takes. */
function toDuckValue(column: number, v: unknown): DuckDBValue {
  if (v === null || v === undefined) return null;
  const type = SESSION_COLUMN_TYPES[column];
  if (type === BIGINT) return BigInt(v as number);
  if (type === TIMESTAMP) return new DuckDBTimestampValue(BigInt(Math.round((v as number) * 1e6)));
  return v as DuckDBValue;
}

/**
 * A record as one line of the store's load CSV: values exactly as stored (times as integer
 * microseconds, null as an empty unquoted field, text quoted when it holds a comma, quote or
 * line break). Not the export CSV: nothing is prefixed against spreadsheets here.
 */
function storeCsvRow(r: SessionRecord): string {
  let line = '';
  for (let i = 0; i < SESSION_COLUMNS.length; i++) {
    const c = SESSION_COLUMNS[i]!;
    const v = r[c.name];
    if (i > 0) line += ',';
    if (v === null) continue;
    if (SESSION_COLUMN_TYPES[i] === TIMESTAMP) line += Math.round((v as number) * 1e6);
    else if (typeof v === 'number') line += v;
    else line += v === '' || /[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v; // "" is not null
  }
  return line + '\n';
}

/** INSERT reading a file of storeCsvRow lines with DuckDB's CSV reader, types fixed. */
function insertFromCsv(file: string): string {
  const columns = SESSION_COLUMNS.map((c, i) => `'${c.name}': '${SESSION_COLUMN_TYPES[i] === TIMESTAMP ? 'BIGINT' : c.sql.split(' ')[0]}'`);
  const select = SESSION_COLUMNS.map((c, i) =>
    SESSION_COLUMN_TYPES[i] === TIMESTAMP ? `make_timestamp("${c.name}") AS "${c.name}"` : `"${c.name}"`,
  );
  const quoted = file.replaceAll("'", "''");
  return (
    `INSERT INTO sessions SELECT ${select.join(', ')} FROM read_csv('${quoted}', header = false, auto_detect = false, ` +
    `quote = '"', escape = '"', nullstr = '', allow_quoted_nulls = false, columns = {${columns.join(', ')}})`
  );
}

const [mode, capture] = process.argv.slice(2) as ['row' | 'chunk' | 'csv' | 'staged' | 'native' | 'scan' | 'scan-text' | 'floor', string];
const batchwise = mode === 'staged' || mode === 'native' || mode === 'scan' || mode === 'scan-text' || mode === 'floor';
/** Into the hot table (the store's layout), or a table of the record's columns. */
const hot = batchwise && mode !== 'scan-text';
const records: SessionRecord[] = [];
const batches: SessionBatch[] = [];
await replay([capture], {
  onSessions: (b) => {
    if (!batchwise) return records.push(...b.records());
    batches.push(b.copy());
  },
});
const sessions = batchwise ? batches.reduce((n, b) => n + b.length, 0) : records.length;

const path = `/tmp/netlog-bench-append-${process.pid}.duckdb`;
rmSync(path, { force: true });
// The store's settings (session-store.ts): unordered inserts, its memory limit; DuckDB's threads.
const instance = await DuckDBInstance.create(path, { preserve_insertion_order: 'false', memory_limit: WRITE_MEMORY_LIMIT });
const c = await instance.connect();
if (hot) {
  await c.run(CREATE_HOT_TABLE);
  await c.run(SESSIONS_VIEW);
} else await c.run(CREATE_SESSIONS_TABLE);
await c.run(CREATE_STAGING_TABLE);

/** The batches as staged rows, chunk by chunk, through `appender` (into session_rows). */
function appendStaged(appender: DuckDBAppender): void {
  const chunk = createStagedChunk();
  const validity = new Uint8Array(BATCH_ROWS / 8);
  const codes = new Uint32Array(BATCH_ROWS);
  for (const b of batches) {
    fillStagedChunk(chunk.chunk, b, validity, codes, null);
    appender.appendDataChunk(chunk);
    chunk.reset();
  }
}

if (mode === 'floor') {
  const staging = await c.createAppender('session_rows');
  appendStaged(staging);
  staging.closeSync();
}
// The scan as the store has it, its load() timed: the native one slots the write's text (native-scan.ts), the
// JavaScript one codes its histories (session-chunk.ts).
const scan = mode === 'native' ? NativeRowsScan.on(c) : mode === 'scan' || mode === 'scan-text' ? new SessionRowsScan(c) : null;
if (mode === 'native' && scan === null) throw new Error('the native scan is not built (npm ci builds native/)');
const start = process.hrtime.bigint();
await c.run('BEGIN TRANSACTION');
const appender = scan !== null || mode === 'floor' ? null : await c.createAppender(mode === 'staged' ? 'session_rows' : 'sessions');
if (mode === 'floor') {
  const [insert] = moveStagedRows(HOT_TABLE); // its INSERT ... SELECT; the staged rows stay
  await c.run(insert!);
} else if (appender === null) {
  scan!.load(batches);
  await c.run(mode === 'scan-text' ? insertScannedRecords('sessions', scan as SessionRowsScan) : scan!.insertRows(HOT_TABLE));
} else if (mode === 'row') {
  for (const r of records) {
    for (const col of SESSION_COLUMNS) col.append(appender, r);
    appender.endRow();
  }
} else if (mode === 'staged') {
  appendStaged(appender);
} else if (mode === 'csv') {
  // Text in a RAM file, read by DuckDB's own CSV reader in one INSERT.
  const file = `/dev/shm/netlog-bench-${process.pid}.csv`;
  writeFileSync(file, records.map(storeCsvRow).join(''));
  await c.run(insertFromCsv(file));
  rmSync(file);
} else {
  const types: DuckDBType[] = [...SESSION_COLUMN_TYPES];
  for (let i = 0; i < records.length; i += 2048) {
    const rows = records.slice(i, i + 2048);
    const chunk = DuckDBDataChunk.create(types, rows.length);
    chunk.setColumns(SESSION_COLUMNS.map((col, ci): DuckDBValue[] => rows.map((r) => toDuckValue(ci, r[col.name]))));
    appender.appendDataChunk(chunk);
  }
}
appender?.closeSync();
if (mode === 'staged') for (const statement of moveStagedRows(HOT_TABLE)) await c.run(statement);
await c.run('COMMIT');
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const n = (await c.runAndReadAll('SELECT count(*) FROM sessions')).getRows()[0]![0];
c.closeSync();
instance.closeSync();
rmSync(path, { force: true });
rmSync(`${path}.wal`, { force: true });
process.stdout.write(
  JSON.stringify({ mode, sessions: Number(n), seconds, sessionsPerSecond: sessions / seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n',
);
