import type { DuckDBAppender, DuckDBType } from '@duckdb/node-api';
import { duckdbApi, duckdbBindings as duckdb } from './duckdb.js';
import { BATCH_ROWS, STILL_OPEN, type SessionBatch } from '../flow/session-batch.js';
import { CONN_STATES, END_REASONS, PROTOCOLS } from '../flow/session-record.js';

const enumSql = (members: readonly string[]) => `ENUM(${members.map((m) => `'${m}'`).join(', ')})`;

/**
 * The `sessions` table: one column per SessionRecord field, in the record's order (Pangolin's
 * ten first). `timestamp` stays Pangolin's integer unix seconds; startedAt/endedAt are
 * TIMESTAMP (microseconds, UTC); bytes and packets BIGINT; ids INTEGER; addresses, history
 * and ids VARCHAR; protocol, state and endReason ENUMs (one byte each).
 */
export const CREATE_SESSIONS_TABLE = `CREATE TABLE IF NOT EXISTS sessions (
  "timestamp" BIGINT NOT NULL,
  "protocol" ${enumSql(PROTOCOLS)} NOT NULL,
  "siteResourceId" INTEGER,
  "clientId" INTEGER,
  "userId" VARCHAR,
  "sourceAddr" VARCHAR NOT NULL,
  "destAddr" VARCHAR NOT NULL,
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
  "sessionId" VARCHAR NOT NULL,
  "orgId" VARCHAR,
  "siteId" INTEGER
)`;

type Kind = 'double' | 'u32' | 'u16' | 'enum' | 'text';
type BatchColumn = Exclude<keyof SessionBatch, 'length' | 'capacity' | 'full' | 'record' | 'records' | 'pushRecord' | 'pushRows' | 'clear' | 'resolveIdentity' | 'identifier'>;

interface StagedColumn {
  name: BatchColumn;
  kind: Kind;
  /** Null where a double is NaN, an enum is STILL_OPEN, a text is null. */
  nullable: boolean;
  members?: readonly string[];
}

/**
 * `session_rows`, a temporary table shaped like SessionBatch: a batch goes in by copying each
 * numeric column into its DuckDB vector whole (one call per column per batch), and only the
 * history and the rare texts (IPv6 endpoints, org map ids) cross one value at a time. SQL then
 * makes the stored row (STORED_ROW): addresses and session ids become text inside DuckDB, off
 * the JavaScript thread, while the next packets are read.
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
  { name: 'history', kind: 'text', nullable: false },
  { name: 'endReason', kind: 'enum', nullable: true, members: END_REASONS },
  { name: 'sessionIdHi', kind: 'u32', nullable: false },
  { name: 'sessionIdLo', kind: 'u32', nullable: false },
  { name: 'sessionIdText', kind: 'text', nullable: true },
  { name: 'orgId', kind: 'text', nullable: true },
  { name: 'siteId', kind: 'double', nullable: true },
];

const SQL_OF_KIND: Record<Kind, string> = { double: 'DOUBLE', u32: 'UINTEGER', u16: 'USMALLINT', text: 'VARCHAR', enum: '' };
const WIDTH: Record<Kind, number> = { double: 8, u32: 4, u16: 2, enum: 1, text: 0 };

export const CREATE_STAGING_TABLE = `CREATE TEMP TABLE IF NOT EXISTS session_rows (\n${STAGED.map(
  (c) => `  "${c.name}" ${c.kind === 'enum' ? enumSql(c.members!) : SQL_OF_KIND[c.kind]}`,
).join(',\n')}\n)`;

const endpoint = (text: string, ip: string, port: string) =>
  `coalesce("${text}", concat("${ip}" >> 24, '.', ("${ip}" >> 16) & 255, '.', ("${ip}" >> 8) & 255, '.', "${ip}" & 255, ':', "${port}"))`;

/** The `sessions` row of a staged row, column for column. */
const STORED_ROW = [
  'floor("startUs" / 1000000)::BIGINT',
  '"protocol"',
  '"siteResourceId"::INTEGER',
  '"clientId"::INTEGER',
  '"userId"',
  endpoint('sourceText', 'sourceIp4', 'sourcePort'),
  endpoint('destText', 'destIp4', 'destPort'),
  '("endUs" - "startUs") / 1000000',
  '"bytesTx"::BIGINT',
  '"bytesRx"::BIGINT',
  'make_timestamp("startUs"::BIGINT)',
  'make_timestamp("endUs"::BIGINT)',
  '"packetsTx"::BIGINT',
  '"packetsRx"::BIGINT',
  '"missedBytesTx"::BIGINT',
  '"missedBytesRx"::BIGINT',
  '"state"',
  '"history"',
  '"endReason"',
  `coalesce("sessionIdText", printf('%08x%08x', "sessionIdHi", "sessionIdLo"))`,
  '"orgId"',
  '"siteId"::INTEGER',
].join(', ');

/** Moves the staged rows into `table` (sessions, or the outbox's staging) and empties the stage. */
export function moveStagedRows(table: string): string[] {
  return [`INSERT INTO ${table} SELECT ${STORED_ROW} FROM session_rows`, 'DELETE FROM session_rows'];
}

function duckType(c: StagedColumn): DuckDBType {
  const { DOUBLE, UINTEGER, USMALLINT, ENUM, VARCHAR } = duckdbApi;
  switch (c.kind) {
    case 'double':
      return DOUBLE;
    case 'u32':
      return UINTEGER;
    case 'u16':
      return USMALLINT;
    case 'enum':
      return ENUM(c.members as string[]);
    case 'text':
      return VARCHAR;
  }
}

/**
 * Appends SessionBatches to `session_rows` through one reused data chunk: numeric columns are
 * copied from the batch's typed arrays into DuckDB's vectors as they are, validity masks are
 * made from NaN / STILL_OPEN / null, and texts are assigned one by one.
 */
export class StagedRowsWriter {
  private readonly chunk = duckdbApi.DuckDBDataChunk.create(STAGED.map(duckType));
  private readonly vectors = STAGED.map((_, c) => duckdb.data_chunk_get_vector(this.chunk.chunk, c));
  private readonly validity = new Uint8Array(BATCH_ROWS / 8);

  constructor(private readonly appender: DuckDBAppender) {}

  append(b: SessionBatch): void {
    b.resolveIdentity();
    const rows = b.length;
    if (rows === 0) return;
    if (rows > BATCH_ROWS) throw new Error(`a batch of ${rows} rows is more than a chunk holds`);
    const bits = this.validity;
    for (let c = 0; c < STAGED.length; c++) {
      const col = STAGED[c]!;
      const vector = this.vectors[c]!;
      const values = b[col.name];
      if (col.nullable) bits.fill(0xff);
      if (col.kind === 'text') {
        const texts = values as Array<string | null>;
        for (let i = 0; i < rows; i++) {
          const t = texts[i];
          if (t != null) duckdb.vector_assign_string_element(vector, i, t);
          else bits[i >> 3]! &= ~(1 << (i & 7));
        }
      } else {
        const array = values as Float64Array | Uint32Array | Uint16Array | Uint8Array;
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
    duckdb.data_chunk_set_size(this.chunk.chunk, rows);
    this.appender.appendDataChunk(this.chunk);
    duckdb.data_chunk_reset(this.chunk.chunk);
  }
}
