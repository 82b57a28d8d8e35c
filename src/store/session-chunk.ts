import duckdb from '@duckdb/node-bindings';
import { BIGINT, DOUBLE, DuckDBDataChunk, INTEGER, TIMESTAMP, VARCHAR, ENUM, type DuckDBAppender, type DuckDBType } from '@duckdb/node-api';
import type { SessionRecord } from '../flow/session-record.js';

/** DuckDB's vector size: a data chunk holds at most this many rows. */
export const CHUNK_ROWS = 2048;

export const PROTOCOLS = ['tcp', 'udp'] as const;
export const CONN_STATES = ['S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH'] as const;
export const END_REASONS = ['fin', 'rst', 'idle', 'evicted', 'shutdown', 'capture-end'] as const;

type Kind = 'int64' | 'int32' | 'double' | 'micros' | 'text' | 'enum';

interface ChunkColumn {
  name: keyof SessionRecord;
  kind: Kind;
  nullable: boolean;
  /** For enum columns: the members, in order (the stored value is the index). */
  members?: readonly string[];
}

/**
 * The `sessions` columns as a chunk writer sees them. Numbers go into typed arrays that are
 * copied into DuckDB's vectors in one call per column per chunk; the low-cardinality codes are
 * ENUMs (one byte each); only addresses, history and ids are strings.
 */
export const CHUNK_COLUMNS: readonly ChunkColumn[] = [
  { name: 'timestamp', kind: 'int64', nullable: false },
  { name: 'protocol', kind: 'enum', nullable: false, members: PROTOCOLS },
  { name: 'siteResourceId', kind: 'int32', nullable: true },
  { name: 'clientId', kind: 'int32', nullable: true },
  { name: 'userId', kind: 'text', nullable: true },
  { name: 'sourceAddr', kind: 'text', nullable: false },
  { name: 'destAddr', kind: 'text', nullable: false },
  { name: 'duration', kind: 'double', nullable: true },
  { name: 'bytesTx', kind: 'int64', nullable: false },
  { name: 'bytesRx', kind: 'int64', nullable: false },
  { name: 'startedAt', kind: 'micros', nullable: false },
  { name: 'endedAt', kind: 'micros', nullable: true },
  { name: 'packetsTx', kind: 'int64', nullable: false },
  { name: 'packetsRx', kind: 'int64', nullable: false },
  { name: 'missedBytesTx', kind: 'int64', nullable: false },
  { name: 'missedBytesRx', kind: 'int64', nullable: false },
  { name: 'state', kind: 'enum', nullable: false, members: CONN_STATES },
  { name: 'history', kind: 'text', nullable: false },
  { name: 'endReason', kind: 'enum', nullable: true, members: END_REASONS },
  { name: 'sessionId', kind: 'text', nullable: false },
  { name: 'orgId', kind: 'text', nullable: true },
  { name: 'siteId', kind: 'int32', nullable: true },
];

const SQL_OF_KIND: Record<Kind, string> = { int64: 'BIGINT', int32: 'INTEGER', double: 'DOUBLE', micros: 'TIMESTAMP', text: 'VARCHAR', enum: '' };

/**
 * The `sessions` table: one column per SessionRecord field, in the record's order (Pangolin's
 * ten first). `timestamp` stays Pangolin's integer unix seconds; startedAt/endedAt are
 * TIMESTAMP (microseconds, UTC); bytes and packets BIGINT; ids INTEGER; addresses, history
 * and ids VARCHAR; protocol, state and endReason ENUMs.
 */
export const CREATE_SESSIONS_TABLE = `CREATE TABLE IF NOT EXISTS sessions (\n${CHUNK_COLUMNS.map((c) => {
  const type = c.kind === 'enum' ? `ENUM(${c.members!.map((m) => `'${m}'`).join(', ')})` : SQL_OF_KIND[c.kind];
  return `  "${c.name}" ${type}${c.nullable ? '' : ' NOT NULL'}`;
}).join(',\n')}\n)`;

function duckType(c: ChunkColumn): DuckDBType {
  switch (c.kind) {
    case 'int64':
      return BIGINT;
    case 'int32':
      return INTEGER;
    case 'double':
      return DOUBLE;
    case 'micros':
      return TIMESTAMP;
    case 'enum':
      return ENUM(c.members as string[]);
    case 'text':
      return VARCHAR;
  }
}

const TWO32 = 4294967296;

/**
 * Fills DuckDB data chunks column-wise and appends them. A number is written into a typed
 * array (int64 as two 32-bit halves, so no BigInt per value); each column is copied into its
 * vector with one call per chunk; strings are assigned one by one (DuckDB owns their memory).
 */
export class SessionChunkWriter {
  private readonly chunk: DuckDBDataChunk;
  private readonly buffers: ArrayBuffer[];
  /** Views of `buffers`, made once: int64 as [lo, hi] pairs of int32. */
  private readonly i32: Int32Array[];
  private readonly f64: Array<Float64Array | null>;
  private readonly u8: Uint8Array[];
  private readonly validity: Uint8Array[];
  private readonly vectors: duckdb.Vector[];
  private readonly enumIndex: Array<Map<string, number> | null>;
  private rows = 0;

  constructor(private readonly appender: DuckDBAppender) {
    this.chunk = DuckDBDataChunk.create(CHUNK_COLUMNS.map(duckType));
    this.buffers = CHUNK_COLUMNS.map((c) => new ArrayBuffer(CHUNK_ROWS * (c.kind === 'int32' ? 4 : c.kind === 'enum' ? 1 : 8)));
    this.i32 = this.buffers.map((b) => new Int32Array(b, 0, Math.floor(b.byteLength / 4)));
    this.f64 = this.buffers.map((b) => (b.byteLength === CHUNK_ROWS * 8 ? new Float64Array(b) : null));
    this.u8 = this.buffers.map((b) => new Uint8Array(b));
    this.validity = CHUNK_COLUMNS.map(() => new Uint8Array(CHUNK_ROWS / 8));
    this.vectors = CHUNK_COLUMNS.map((_, c) => duckdb.data_chunk_get_vector(this.chunk.chunk, c));
    this.enumIndex = CHUNK_COLUMNS.map((c) => (c.members ? new Map(c.members.map((m, i) => [m, i])) : null));
  }

  append(records: readonly SessionRecord[]): void {
    for (const r of records) {
      this.row(r);
      if (this.rows === CHUNK_ROWS) this.flushChunk();
    }
  }

  /** Appends the rows gathered so far. */
  finish(): void {
    if (this.rows > 0) this.flushChunk();
  }

  private row(r: SessionRecord): void {
    const i = this.rows++;
    for (let c = 0; c < CHUNK_COLUMNS.length; c++) {
      const col = CHUNK_COLUMNS[c]!;
      const v = r[col.name];
      const valid = v !== null;
      if (col.nullable) {
        const bits = this.validity[c]!;
        if (valid) bits[i >> 3]! |= 1 << (i & 7);
        else bits[i >> 3]! &= ~(1 << (i & 7));
      }
      if (!valid) continue;
      switch (col.kind) {
        case 'int64':
        case 'micros': {
          const n = col.kind === 'micros' ? Math.round((v as number) * 1e6) : (v as number);
          const words = this.i32[c]!;
          const hi = Math.floor(n / TWO32);
          words[2 * i] = n - hi * TWO32; // little-endian int64: low word first
          words[2 * i + 1] = hi;
          break;
        }
        case 'int32':
          this.i32[c]![i] = v as number;
          break;
        case 'double':
          this.f64[c]![i] = v as number;
          break;
        case 'enum':
          this.u8[c]![i] = this.enumIndex[c]!.get(v as string)!;
          break;
        case 'text':
          duckdb.vector_assign_string_element(this.vectors[c]!, i, v as string);
          break;
      }
    }
  }

  private flushChunk(): void {
    const raw = this.chunk.chunk;
    for (let c = 0; c < CHUNK_COLUMNS.length; c++) {
      const col = CHUNK_COLUMNS[c]!;
      const vector = this.vectors[c]!;
      if (col.kind !== 'text') {
        const width = col.kind === 'int32' ? 4 : col.kind === 'enum' ? 1 : 8;
        duckdb.copy_data_to_vector(vector, 0, this.buffers[c]!, 0, this.rows * width);
      }
      if (col.nullable) {
        duckdb.vector_ensure_validity_writable(vector);
        const bits = this.validity[c]!;
        duckdb.copy_data_to_vector_validity(vector, 0, bits.buffer as ArrayBuffer, 0, bits.byteLength);
      }
    }
    duckdb.data_chunk_set_size(raw, this.rows);
    this.appender.appendDataChunk(this.chunk);
    duckdb.data_chunk_reset(raw);
    this.rows = 0;
  }
}
