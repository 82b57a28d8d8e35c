import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { SESSION_FIELDS, type SessionRecord } from '../flow/session-record.js';
import { filterSql, type SessionFilter } from './session-filter.js';
import { withReadOnlyStore } from './read-only.js';

/** SESSION_FIELDS from `sessions_all`, times back to float unix seconds as in the record. */
const SELECT_RECORD = SESSION_FIELDS.map((f) =>
  f === 'startedAt' || f === 'endedAt' ? `epoch_us("${f}") / 1000000 AS "${f}"` : `"${f}"`,
).join(', ');

const NEWEST_FIRST = 'ORDER BY "startedAt" DESC, "sessionId"';

function toRecord(row: Record<string, DuckDBValue>): SessionRecord {
  const out: Record<string, unknown> = {};
  for (const f of SESSION_FIELDS) {
    const v = row[f];
    out[f] = typeof v === 'bigint' ? Number(v) : v;
  }
  return out as unknown as SessionRecord;
}

export interface SessionPage {
  sessions: SessionRecord[];
  /** Sessions matching the filter, all pages together. */
  total: number;
}

/** One page of sessions, newest first, on an open connection. */
export async function readSessions(c: DuckDBConnection, filter: SessionFilter): Promise<SessionRecord[]> {
  const { where, params } = filterSql(filter);
  const n = params.length;
  const page = await c.runAndReadAll(
    `SELECT ${SELECT_RECORD} FROM sessions_all ${where} ${NEWEST_FIRST} LIMIT $${n + 1} OFFSET $${n + 2}`,
    [...params, filter.limit, filter.offset],
  );
  return page.getRowObjects().map(toRecord);
}

/** One page of sessions, newest first, and the total that match, on an open connection. */
export async function readSessionPage(c: DuckDBConnection, filter: SessionFilter): Promise<SessionPage> {
  return { sessions: await readSessions(c, filter), total: await countSessions(c, filter) };
}

export async function countSessions(c: DuckDBConnection, filter: ExportFilter): Promise<number> {
  const { where, params } = filterSql({ ...filter, limit: 0, offset: 0 });
  const total = await c.runAndReadAll(`SELECT count(*) FROM sessions_all ${where}`, params);
  return Number(total.getRows()[0]![0]);
}

/** One page of sessions, newest first, and the total that match. */
export function querySessions(dbPath: string, filter: SessionFilter): Promise<SessionPage> {
  return withReadOnlyStore(dbPath, (c) => readSessionPage(c, filter));
}

/** A filter without paging: what an export selects. */
export type ExportFilter = Omit<SessionFilter, 'limit' | 'offset'>;

/** A DOUBLE of whole microseconds as JavaScript prints it: trailing zeros and dot dropped. */
const decimal6 = (x: string) => `rtrim(rtrim(printf('%.6f', ${x}), '0'), '.')`;
/** TIMESTAMP as float unix seconds, formatted from the exact microsecond count. */
const seconds6 = (col: string) =>
  `rtrim(rtrim(printf('%d.%06d', epoch_us(${col}) // 1000000, epoch_us(${col}) % 1000000), '0'), '.')`;
/** Text as the export writes it: formula-looking values prefixed with ', "" as an empty field. */
const safeText = (col: string) =>
  `NULLIF(CASE WHEN regexp_matches(${col}::VARCHAR, '^[-=+@\\t\\r]') THEN '''' || ${col}::VARCHAR ELSE ${col}::VARCHAR END, '')`;

const TEXT_FIELDS = new Set(['protocol', 'userId', 'sourceAddr', 'destAddr', 'state', 'history', 'endReason', 'sessionId', 'orgId']);

/** SESSION_FIELDS as the CSV export prints them, computed by DuckDB. */
const SELECT_CSV = SESSION_FIELDS.map((f) => {
  const col = `"${f}"`;
  if (f === 'startedAt' || f === 'endedAt') return `${seconds6(col)} AS ${col}`;
  if (f === 'duration') return `${decimal6(col)} AS ${col}`;
  if (TEXT_FIELDS.has(f)) return `${safeText(col)} AS ${col}`;
  return col;
}).join(', ');

/** The export's SELECT: every column already formatted as the CSV prints it. */
function csvSelect(filter: ExportFilter): { sql: string; params: DuckDBValue[] } {
  const { where, params } = filterSql({ ...filter, limit: 0, offset: 0 });
  return { sql: `SELECT ${SELECT_CSV} FROM sessions_all ${where} ${NEWEST_FIRST}`, params };
}

/** A formatted text field quoted as DuckDB's CSV writer quotes it (comma, quote or line break). */
const quoted = (x: string) => `CASE WHEN regexp_matches(${x}, '[",\n\r]') THEN '"' || replace(${x}, '"', '""') || '"' ELSE ${x} END`;

/**
 * Each row of the export as one CSV line, built by DuckDB: a streamed export then moves one
 * string per row into JavaScript instead of 22 values (3x the rows/s of per-value rows).
 */
function csvLineSelect(filter: ExportFilter): { sql: string; params: DuckDBValue[] } {
  const { sql, params } = csvSelect(filter);
  const fields = SESSION_FIELDS.map((f) => `coalesce(${quoted(`"${f}"::VARCHAR`)}, '')`).join(", ',', ");
  return { sql: `SELECT concat(${fields}) FROM (${sql})`, params };
}

/**
 * CSV export written by DuckDB's own CSV writer (COPY), so memory stays flat and no row passes
 * through JavaScript: the same bytes as `sessionCsvRow` gives for the same sessions, newest
 * first, header of field names. `out` may be /dev/stdout.
 */
export function exportCsv(dbPath: string, filter: ExportFilter, out: string): Promise<number> {
  return withReadOnlyStore(dbPath, async (c) => {
    const total = await countSessions(c, filter);
    const { sql, params } = csvSelect(filter);
    await c.run(`COPY (${sql}) TO $${params.length + 1} (FORMAT csv, HEADER true)`, [...params, out]);
    return total;
  });
}

/**
 * The same CSV as `exportCsv`, as text pieces of one DuckDB chunk (2048 rows) each, for a
 * response body or a stdout that DuckDB cannot open: DuckDB formats and quotes every line as its
 * CSV writer would (a field with a comma, quote or line break quoted; NULL empty). The caller
 * pulls the next piece when the client has taken the last, so memory stays flat.
 */
export async function* streamCsv(c: DuckDBConnection, filter: ExportFilter): AsyncGenerator<string> {
  const { sql, params } = csvLineSelect(filter);
  const result = await c.stream(sql, params);
  yield SESSION_FIELDS.join(',') + '\n';
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) return;
    yield (chunk.getColumnValues(0) as string[]).join('\n') + '\n';
  }
}

/** Parquet export in DuckDB itself: the same filter, zstd, written by COPY. */
export function exportParquet(dbPath: string, filter: ExportFilter, out: string): Promise<number> {
  const { where, params } = filterSql({ ...filter, limit: 0, offset: 0 });
  return withReadOnlyStore(dbPath, async (c) => {
    const n = params.length;
    await c.run(
      `COPY (SELECT * FROM sessions_all ${where} ${NEWEST_FIRST}) TO $${n + 1} (FORMAT parquet, COMPRESSION zstd)`,
      [...params, out],
    );
    const written = await c.runAndReadAll('SELECT count(*) FROM read_parquet($1)', [out]);
    return Number(written.getRows()[0]![0]);
  });
}
