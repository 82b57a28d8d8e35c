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
  /** While writes fail (disk full, read-only), keep at most this many sessions in memory
   *  (default 1,000,000, about 0.5 GB); sessions beyond it are counted in `dropped`. */
  maxBuffered?: number;
  /** Told when writes start failing and when they work again. */
  onWriteState?: (state: { failing: boolean; error?: string; buffered: number; dropped: number }) => void;
}

/**
 * DuckDB's memory for the writing store (reads elsewhere have their own, read-only.ts). Past
 * it DuckDB spills to `DB.tmp`: a 10M-session replay peaks at 748 MB instead of 1.05 GB, and a
 * 10M-row compaction takes 11 s instead of 6 s, a fair price on a small site host.
 */
export const WRITE_MEMORY_LIMIT = '256MB';

/** Retries of a failing write: from 1 s, doubling to 30 s. */
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

/**
 * The local store of record: one DuckDB file with a `sessions` table. Sessions are buffered and
 * appended in batches, each batch inside one transaction, so a crash leaves whole batches
 * only: at most the last flush interval of finished sessions is lost. A batch that cannot be
 * written (disk full, a read-only directory) is kept, in order, and written again with backoff
 * until it goes in; while writes fail, new sessions wait in memory up to `maxBuffered` and
 * are counted as dropped beyond it.
 */
export class SessionStore {
  private pending: SessionRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly flushRows: number;
  private readonly flushIntervalMs: number;
  private readonly onCommit: SessionStoreOptions['onCommit'];
  private readonly outbox: boolean;
  private readonly maxBuffered: number;
  private readonly onWriteState: SessionStoreOptions['onWriteState'];
  private retryMs = RETRY_MIN_MS;
  /** Sessions committed so far by this store. */
  written = 0;
  /** Write attempts that failed (each is retried; the sessions wait in memory). */
  writeFailures = 0;
  /** Sessions lost because writes failed for so long that the memory bound was reached. */
  dropped = 0;
  /** The last write error while writes fail; null when they work. */
  writeError: string | null = null;
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
    this.maxBuffered = options.maxBuffered ?? 1_000_000;
    this.onWriteState = options.onWriteState;
    this.dataDir = options.dataDir ?? dirname(path);
  }

  static async open(path: string, options: SessionStoreOptions = {}): Promise<SessionStore> {
    let instance: DuckDBInstance;
    try {
      // A bounded buffer pool: without it DuckDB keeps the blocks it wrote cached, and a long
      // capture's process grows with its table.
      instance = await DuckDBInstance.create(path, { memory_limit: WRITE_MEMORY_LIMIT });
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

  /** Sessions waiting to be written: the next batch, or everything while writes fail. */
  get buffered(): number {
    return this.pending.length;
  }

  /**
   * For a producer that can wait (a replay, not a live capture): resolves once the writes
   * queued so far are done if more than two batches are waiting, so a file read faster than
   * DuckDB commits does not pile sessions up in memory.
   */
  caughtUp = (): Promise<void> | void => {
    if (this.pending.length >= 2 * this.flushRows && this.writeError === null) {
      this.flushInBackground();
      return this.flushing;
    }
  };

  /** Buffers a finished session; flushes when the batch is full or the interval passes. */
  append = (record: SessionRecord): void => {
    if (this.pending.length >= this.maxBuffered) {
      this.dropped++;
      return;
    }
    this.pending.push(record);
    if (this.writeError !== null) return; // the retry timer writes them
    if (this.pending.length >= this.flushRows) this.flushInBackground();
    else if (this.timer === null) {
      this.timer = setTimeout(() => this.flushInBackground(), this.flushIntervalMs);
    }
  };

  /** A flush nobody awaits: a failure is kept for the retry, not thrown into the event loop. */
  private flushInBackground(): void {
    this.flush().catch(() => {});
  }

  /**
   * Appends everything buffered in one transaction; flushes run one after another. On failure
   * the sessions go back to the front of the buffer, a retry is scheduled, and the error is
   * thrown to whoever awaits this flush.
   */
  flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    // The batch is taken when its turn comes, not now: after a failed write the next flush
    // takes the failed sessions and the newer ones together, in order.
    return this.serial(async () => {
      const batch = this.pending;
      if (batch.length === 0) return;
      this.pending = [];
      try {
        await this.write(batch);
      } catch (e) {
        this.pending = batch.concat(this.pending);
        this.writeFailures++;
        const first = this.writeError === null;
        this.writeError = (e as Error).message;
        if (first) this.onWriteState?.({ failing: true, error: this.writeError, buffered: this.pending.length, dropped: this.dropped });
        this.timer = setTimeout(() => this.flushInBackground(), this.retryMs);
        this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
        throw e;
      }
      if (this.writeError !== null) {
        this.writeError = null;
        this.retryMs = RETRY_MIN_MS;
        this.onWriteState?.({ failing: false, buffered: this.pending.length, dropped: this.dropped });
        if (this.pending.length > 0) this.flushInBackground();
      }
    });
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

  /**
   * Flushes, then closes the database. If the last write fails, the database is closed anyway
   * and ERR_STORE_WRITE says how many sessions could not be written.
   */
  async close(): Promise<void> {
    let failure: Error | null = null;
    await this.flush().catch((e: Error) => (failure = e));
    if (this.timer !== null) clearTimeout(this.timer);
    const lost = this.pending.length;
    this.connection.closeSync();
    this.instance.closeSync();
    if (failure) {
      throw new NetlogError('ERR_STORE_WRITE', `${lost} sessions could not be written before closing: ${(failure as Error).message}`, { file: this.path });
    }
  }
}
