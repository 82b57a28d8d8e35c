import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { NetlogError } from '../errors.js';
import type { SessionRecord } from '../flow/session-record.js';
import { dirname } from 'node:path';
import {
  CREATE_COMPACTIONS_TABLE,
  compactClosedDays,
  recoverCompactions,
  refreshAllView,
  type CompactionCrashPoint,
  type CompactionResult,
} from './compaction.js';
import { pruneSessions, type PruneResult } from './retention.js';
import { CREATE_SESSIONS_TABLE, SessionChunkWriter } from './session-chunk.js';
import { CREATE_OUTBOX, MOVE_STAGED } from './outbox.js';

export interface SessionStoreOptions {
  /** Where day partitions go (DATA_DIR/sessions/date=...); default: the db file's folder. */
  dataDir?: string;
  /** Flush when this many sessions are buffered (default 50,000). */
  flushRows?: number;
  /** Flush at least this often while sessions are buffered, ms (default 1000). */
  flushIntervalMs?: number;
  /** Called after each committed batch with its size, the total so far and the seconds the
   *  commit took (append and COMMIT). */
  onCommit?: (batch: number, total: number, seconds: number) => void;
  /** Also put every committed session in the outbox, for a sink to ship (see outbox.ts). */
  outbox?: boolean;
}

/**
 * The local store of record: one DuckDB file with a `sessions` table. Sessions are buffered and
 * appended in batches, each batch inside one transaction, so a crash leaves whole batches
 * only: at most the last flush interval of finished sessions is lost.
 */
export class SessionStore {
  private pending: SessionRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly flushRows: number;
  private readonly flushIntervalMs: number;
  private readonly onCommit: SessionStoreOptions['onCommit'];
  private readonly outbox: boolean;
  /** Sessions committed so far by this store. */
  written = 0;
  /** Batches that could not be committed: reported on stderr, their sessions lost. */
  failedBatches = 0;
  readonly dataDir: string;

  private constructor(
    readonly path: string,
    /** The DuckDB instance, for readers in the same process (the API of `capture --serve`). */
    readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    options: SessionStoreOptions,
  ) {
    this.flushRows = options.flushRows ?? 50_000;
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.onCommit = options.onCommit;
    this.outbox = options.outbox ?? false;
    this.dataDir = options.dataDir ?? dirname(path);
  }

  static async open(path: string, options: SessionStoreOptions = {}): Promise<SessionStore> {
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path);
    } catch (e) {
      throw new NetlogError('ERR_STORE_OPEN', `cannot open the session store: ${(e as Error).message}`, { file: path });
    }
    const connection = await instance.connect();
    await connection.run(CREATE_SESSIONS_TABLE);
    await connection.run(CREATE_COMPACTIONS_TABLE);
    for (const statement of CREATE_OUTBOX) await connection.run(statement);
    const store = new SessionStore(path, instance, connection, options);
    await recoverCompactions(connection, store.dataDir);
    await refreshAllView(connection);
    return store;
  }

  /**
   * Moves closed days (sessions that started before `beforeDay`, YYYY-MM-DD UTC) from the
   * table to Parquet parts; `sessions_all` sees them there.
   */
  async compact(beforeDay: string, crashAt?: CompactionCrashPoint): Promise<CompactionResult[]> {
    await this.flush();
    return this.serial(() => compactClosedDays(this.connection, this.dataDir, beforeDay, crashAt));
  }

  /**
   * Runs `work` after every flush queued so far and before any queued later: the connection
   * holds one transaction at a time.
   */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const result = this.flushing.then(work);
    this.flushing = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Buffers a finished session; flushes when the batch is full or the interval passes. */
  append = (record: SessionRecord): void => {
    this.pending.push(record);
    if (this.pending.length >= this.flushRows) this.flushInBackground();
    else if (this.timer === null) {
      this.timer = setTimeout(() => this.flushInBackground(), this.flushIntervalMs);
    }
  };

  /** A flush nobody awaits: its failure is reported, not thrown into the event loop. */
  private flushInBackground(): void {
    this.flush().catch((e: Error) => {
      this.failedBatches++;
      process.stderr.write(`netlog: ${e.message}\n`);
    });
  }


  /** Appends everything buffered in one transaction. Flushes run one after another. */
  flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.pending;
    if (batch.length === 0) return this.flushing;
    this.pending = [];
    return this.serial(() => this.write(batch));
  }

  private async write(batch: SessionRecord[]): Promise<void> {
    const c = this.connection;
    const started = performance.now();
    await c.run('BEGIN TRANSACTION');
    try {
      // With an outbox the batch is appended once, to the staging table, and copied from there
      // by SQL into both the sessions table and the outbox (MOVE_STAGED).
      const appender = await c.createAppender(this.outbox ? 'sink_staging' : 'sessions');
      const writer = new SessionChunkWriter(appender);
      writer.append(batch);
      writer.finish();
      appender.closeSync(); // flushes the appended chunks into the transaction
      if (this.outbox) for (const statement of MOVE_STAGED) await c.run(statement);
      await c.run('COMMIT');
      this.written += batch.length;
      this.onCommit?.(batch.length, this.written, (performance.now() - started) / 1000);
    } catch (e) {
      await c.run('ROLLBACK').catch(() => {});
      throw new NetlogError('ERR_STORE_WRITE', `writing ${batch.length} sessions failed: ${(e as Error).message}`, {
        file: this.path,
      });
    }
  }

  /** Deletes sessions that started more than `retentionDays` before `now` (see retention.ts). */
  async prune(retentionDays: number, now?: Date): Promise<PruneResult> {
    await this.flush();
    return this.serial(() => pruneSessions(this.connection, retentionDays, now));
  }

  /** Runs one statement on the store's own connection (benchmarks and maintenance). */
  async sql(statement: string): Promise<void> {
    await this.flush();
    await this.serial(() => this.connection.run(statement).then(() => undefined));
  }

  /** Flushes, then closes the database. */
  async close(): Promise<void> {
    await this.flush();
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
