import type { DuckDBConnection } from '@duckdb/node-api';
import { SESSION_FIELDS } from '../flow/session-record.js';
import { HOT_TABLE, RECORD_OF_HOT_ROW } from './session-chunk.js';

/**
 * The outbox: sessions committed to the store that a sink (ClickHouse) has not yet confirmed.
 * Each batch is appended to `sink_staging` (hot rows), then copied into the hot table and, with
 * a sequence number from `sink_seq` and as the record's columns, into `sink_outbox`, all in the
 * batch's one transaction; so a session
 * is in the outbox if and only if it is in the store, whatever crashes when. The shipper deletes rows only after
 * the sink has them: the lowest sequence number left is the cursor.
 */
export const CREATE_OUTBOX = [
  'CREATE SEQUENCE IF NOT EXISTS sink_seq START 1',
  // Empty between transactions: an earlier version's, with the record's columns, is replaced.
  `DROP TABLE IF EXISTS sink_staging`,
  `CREATE TABLE sink_staging AS FROM ${HOT_TABLE} LIMIT 0`,
  'CREATE TABLE IF NOT EXISTS sink_outbox AS SELECT 0::BIGINT AS seq, * FROM sessions LIMIT 0',
  // This store's name at the sink: with the sequence number, what makes a row's delivery idempotent.
  'CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)',
  `INSERT INTO store_meta SELECT 'storeId', uuid()::VARCHAR WHERE NOT EXISTS (SELECT 1 FROM store_meta WHERE key = 'storeId')`,
];

/** Inside the batch's transaction, after the batch was appended to `sink_staging`. */
export const MOVE_STAGED = [
  `INSERT INTO ${HOT_TABLE} SELECT * FROM sink_staging`,
  `INSERT INTO sink_outbox SELECT nextval('sink_seq'), ${RECORD_OF_HOT_ROW} FROM sink_staging`,
  'DELETE FROM sink_staging',
];

export async function storeId(c: DuckDBConnection): Promise<string> {
  const r = await c.runAndReadAll(`SELECT value FROM store_meta WHERE key = 'storeId'`);
  return r.getRows()[0]![0] as string;
}

/** Waiting sessions, column-wise: what a sink needs to send them and to check for them. */
export interface OutboxRows {
  seqs: number[];
  orgIds: Array<string | null>;
  siteIds: Array<number | null>;
  timestamps: number[];
  /** Each session as its JSON record (the fields and names of `replay --format jsonl`, in
   *  SESSION_FIELDS order, so `orgId` and `siteId` come last), written by DuckDB. */
  json: string[];
}

/** The record's fields as DuckDB's to_json writes them: times back to float unix seconds. */
const JSON_RECORD = `to_json({${SESSION_FIELDS.map((f) =>
  f === 'startedAt' || f === 'endedAt' ? `'${f}': epoch_us("${f}") / 1000000` : `'${f}': "${f}"`,
).join(', ')}})`;

/**
 * The oldest `limit` sessions waiting, in sequence order. DuckDB builds each row's JSON, so a
 * batch crosses into JavaScript as one string per row rather than 22 values.
 */
export async function readOutbox(c: DuckDBConnection, limit: number): Promise<OutboxRows> {
  // The JSON is built after the LIMIT: in one SELECT DuckDB would build it for every waiting row.
  const r = await c.runAndReadAll(
    `SELECT seq, "orgId", "siteId", "timestamp", ${JSON_RECORD}::VARCHAR FROM (SELECT * FROM sink_outbox ORDER BY seq LIMIT $1) ORDER BY seq`,
    [limit],
  );
  // No rows, no chunks: DuckDB then gives no columns at all.
  const [seqs = [], orgIds = [], siteIds = [], timestamps = [], json = []] = r.getColumns();
  return {
    seqs: seqs.map(Number),
    orgIds: orgIds as Array<string | null>,
    siteIds: siteIds as Array<number | null>,
    timestamps: timestamps.map(Number),
    json: json as string[],
  };
}

/** The sink has rows first..last: they leave the outbox. */
export async function confirmOutbox(c: DuckDBConnection, first: number, last: number): Promise<void> {
  await c.run('DELETE FROM sink_outbox WHERE seq BETWEEN $1 AND $2', [first, last]);
}

export async function outboxSize(c: DuckDBConnection): Promise<number> {
  const r = await c.runAndReadAll('SELECT count(*) FROM sink_outbox');
  return Number(r.getRows()[0]![0]);
}
