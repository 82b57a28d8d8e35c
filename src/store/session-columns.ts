import { DuckDBTimestampValue, type DuckDBAppender } from '@duckdb/node-api';
import type { SessionRecord } from '../flow/session-record.js';

/**
 * The `sessions` table: one column per SessionRecord field, in the record's order (Pangolin's
 * ten first). `timestamp` stays Pangolin's integer unix seconds; startedAt/endedAt are
 * TIMESTAMP (microseconds, UTC); bytes and packets BIGINT; ids INTEGER; addresses VARCHAR.
 */
export interface SessionColumn {
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

export const SESSION_COLUMNS: readonly SessionColumn[] = [
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

export const CREATE_SESSIONS_TABLE = `CREATE TABLE IF NOT EXISTS sessions (\n${SESSION_COLUMNS.map(
  (c) => `  "${c.name}" ${c.sql}`,
).join(',\n')}\n)`;
