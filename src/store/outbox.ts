import type { DuckDBConnection } from '@duckdb/node-api';
import type { SessionRecord } from '../flow/session-record.js';
import { SELECT_RECORD, toRecord } from './session-query.js';

/**
 * The outbox: sessions committed to the store that a sink (ClickHouse) has not yet confirmed.
 * Each batch is appended to `sink_staging` in the same transaction as to `sessions`, then moved
 * into `sink_outbox` with a sequence number from `sink_seq`; so a session is in the outbox if
 * and only if it is in the store, whatever crashes when. The shipper deletes rows only after
 * the sink has them: the lowest sequence number left is the cursor.
 */
export const CREATE_OUTBOX = [
  'CREATE SEQUENCE IF NOT EXISTS sink_seq START 1',
  'CREATE TABLE IF NOT EXISTS sink_staging AS FROM sessions LIMIT 0',
  'CREATE TABLE IF NOT EXISTS sink_outbox AS SELECT 0::BIGINT AS seq, * FROM sessions LIMIT 0',
  // This store's name at the sink: with the sequence number, what makes a row's delivery idempotent.
  'CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)',
  `INSERT INTO store_meta SELECT 'storeId', uuid()::VARCHAR WHERE NOT EXISTS (SELECT 1 FROM store_meta WHERE key = 'storeId')`,
];

/** Inside the batch's transaction, after the batch was appended to `sink_staging`. */
export const MOVE_STAGED = ['INSERT INTO sink_outbox SELECT nextval(\'sink_seq\'), * FROM sink_staging', 'DELETE FROM sink_staging'];

export async function storeId(c: DuckDBConnection): Promise<string> {
  const r = await c.runAndReadAll(`SELECT value FROM store_meta WHERE key = 'storeId'`);
  return r.getRows()[0]![0] as string;
}

export interface OutboxRow {
  seq: number;
  record: SessionRecord;
}

/** The oldest `limit` sessions waiting, in sequence order. */
export async function readOutbox(c: DuckDBConnection, limit: number): Promise<OutboxRow[]> {
  const r = await c.runAndReadAll(`SELECT seq, ${SELECT_RECORD} FROM sink_outbox ORDER BY seq LIMIT $1`, [limit]);
  return r.getRowObjects().map((row) => ({ seq: Number(row.seq), record: toRecord(row) }));
}

/** The sink has rows first..last: they leave the outbox. */
export async function confirmOutbox(c: DuckDBConnection, first: number, last: number): Promise<void> {
  await c.run('DELETE FROM sink_outbox WHERE seq BETWEEN $1 AND $2', [first, last]);
}

export async function outboxSize(c: DuckDBConnection): Promise<number> {
  const r = await c.runAndReadAll('SELECT count(*) FROM sink_outbox');
  return Number(r.getRows()[0]![0]);
}
