import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { duckdbApi } from './duckdb.js';
import { ROW_GROUP_ROWS } from './row-group.js';
import { NetlogError } from '../errors.js';
import { BATCH_ROWS, SessionBatch } from '../flow/session-batch.js';
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
import { ADD_IPV6_COLUMNS, CREATE_HOT_TABLE, HOT_TABLE, MIGRATE_SESSIONS_TABLE, SESSIONS_VIEW, SessionRowsScan, type RowsScan } from './session-chunk.js';
import { NativeRowsScan } from './native-scan.js';
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
  /**
   * A bulk load (a replay): a flush for size (`flushRows`) commits whole row groups only
   * (ROW_GROUP_ROWS, which row-group.ts explains), the rest waiting for the next flush (the
   * interval's flush and close() take everything); DuckDB runs on one thread; and a commit of
   * more than BULK_CHECKPOINT of WAL is checkpointed into the file at once instead of being
   * written to the WAL first. Its checkpoints do not merge row groups (BULK_VACUUM_TASKS).
   */
  bulk?: boolean;
  /** Write through the JavaScript scan even where the native one is built (tests, benchmarks). */
  javascriptScan?: boolean;
}

/**
 * DuckDB's memory for the writing store (reads elsewhere have their own, read-only.ts). Past
 * it DuckDB spills to `DB.tmp`: a 10M-session replay peaks at 748 MB instead of 1.05 GB, and a
 * 10M-row compaction takes 11 s instead of 6 s, a fair price on a small site host.
 */
export const WRITE_MEMORY_LIMIT = '256MB';

/**
 * DuckDB's checkpoint_threshold for a bulk load (its default is 16 MiB). A replay commits whole
 * row groups, which DuckDB writes into the file as it goes, but the last commit is smaller
 * and went through the WAL, to be written again by the checkpoint at close:
 * for the 78k sessions of the real-traffic capture, the last flush and the close took
 * 157-196 + 99-104 ms with the default, 181-208 + 9-10 ms with this (`replay -q
 * peers-real.pcap --db`, timed inside the command, two runs each). The daemon keeps the
 * default: its small commits would each rewrite the table's last row group.
 */
const BULK_CHECKPOINT = '1MB';

/**
 * DuckDB's max_vacuum_tasks for a bulk load (its default is 100): none. A checkpoint merges
 * adjacent row groups that fit in fewer, so a replay into a file that already holds one had the
 * earlier replay's last, partial group, its own whole groups and its own last group rewritten
 * into fewer at its last commit: bench/out/synthetic-2500000.pcap's 250,828 sessions (two
 * whole groups and 5,068) into a file holding them once, that commit took 208-248 ms against
 * 26-28 ms without the merge, and the file was 27.8 MB against 19.1 MB, its first blocks let go
 * (a scratch script of the store's commits, four runs). The partial groups stay until a
 * checkpoint that merges: the daemon's, or `netlog compact`'s or `netlog prune`'s. Row groups
 * whose rows are all deleted (`replay --prune`) still go at this store's checkpoints; rows
 * deleted from groups that keep others wait for such a checkpoint to be cleaned up.
 */
const BULK_VACUUM_TASKS = '0';

/**
 * How far a replay may run ahead of DuckDB, in flushes: DuckDB's inserts and the replay's two
 * threads share the cores, and with room to run ahead each side works while the other waits.
 * `/usr/bin/time netlog replay -q bench/out/peers-synthetic-20m.pcap --db DB` (2M sessions,
 * flushes of 131,072 then), three runs each: 4 -> 11.9-16.0 s, 8 -> 9.3-11.7 s with peak RSS up to
 * 1.0 GB; `npm run bench:peers` has 11.3 s with 4 (median of 3). Two cores make it noisy;
 * 4 bounds what waits at about 90 MB.
 */
const PENDING_BATCHES = 4;

/**
 * Emptied batches kept for reuse, at least: enough for two default flushes. A store keeps as
 * many as it may hold pending (PENDING_BATCHES flushes), so that a replay, which runs that far
 * ahead, reuses its batches instead of making new ones: each is ~0.3 MB of typed arrays, and a
 * 20M-packet replay made about 1,000 of them, garbage for the collector.
 */
const MIN_SPARE_BATCHES = 64;

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
  /** Sessions waiting for the next write, in batches of BATCH_ROWS (the last one filling). */
  private pending: SessionBatch[] = [];
  private pendingRows = 0;
  /** Rows of the write in progress: neither pending nor written until it ends. */
  private writingRows = 0;
  /** Emptied batches kept for reuse, so a steady stream of sessions allocates nothing. */
  private readonly spare: SessionBatch[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly flushRows: number;
  private readonly flushIntervalMs: number;
  private readonly onCommit: SessionStoreOptions['onCommit'];
  private readonly outbox: boolean;
  private readonly maxBuffered: number;
  private readonly bulk: boolean;
  private readonly onWriteState: SessionStoreOptions['onWriteState'];
  /** Emptied batches kept for reuse (MIN_SPARE_BATCHES). */
  private readonly maxSpare: number;
  /** The batches of the write in progress, as the table function its INSERT reads: the native
   *  scan (native-scan.ts) where its addon is built, else the JavaScript one (session-chunk.ts). */
  private readonly scan: RowsScan;
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

  /** Does this store write through the native scan (native-scan.ts)? */
  get nativeScan(): boolean {
    return this.scan instanceof NativeRowsScan;
  }

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
    this.bulk = options.bulk ?? false;
    this.onWriteState = options.onWriteState;
    this.maxSpare = Math.max(MIN_SPARE_BATCHES, Math.ceil((PENDING_BATCHES * this.flushRows) / BATCH_ROWS) + 1);
    this.dataDir = options.dataDir ?? dirname(path);
    this.scan = (options.javascriptScan ? null : NativeRowsScan.on(connection)) ?? new SessionRowsScan(connection);
  }

  static async open(path: string, options: SessionStoreOptions = {}): Promise<SessionStore> {
    let instance: DuckDBInstance;
    try {
      // A bounded buffer pool: without it DuckDB keeps the blocks it wrote cached, and a long
      // capture's process grows with its table. Insertion order is not kept: every reader
      // orders by time, and an ordered INSERT ... SELECT of 250,828 staged sessions took
      // 470-510 ms under this memory limit against 250-290 ms unordered (three runs each).
      instance = await duckdbApi.DuckDBInstance.create(path, {
        memory_limit: WRITE_MEMORY_LIMIT,
        preserve_insertion_order: 'false',
        // A bulk load on one thread: see row-group.ts.
        ...(options.bulk ? { checkpoint_threshold: BULK_CHECKPOINT, threads: '1', max_vacuum_tasks: BULK_VACUUM_TASKS } : {}),
      });
    } catch (e) {
      throw new NetlogError('ERR_STORE_OPEN', `cannot open the session store: ${(e as Error).message}`, { file: path });
    }
    const connection = await instance.connect();
    await createTables(connection);
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

  /**
   * Sessions not yet written: the next batch, the one being written, or everything while writes
   * fail; so written + buffered + dropped is every session appended, at any moment.
   */
  get buffered(): number {
    return this.pendingRows + this.writingRows;
  }

  /**
   * For a producer that can wait (a replay, not a live capture), after each run of work:
   * resolves once the writes queued so far are done if PENDING_BATCHES batches are waiting, so
   * a file read faster than DuckDB commits does not pile sessions up in memory; otherwise, while
   * a write is in progress, after one turn of the event loop. A replay whose ring stays full
   * turns the loop nowhere else, and a write's end (and with the JavaScript scan, each chunk
   * DuckDB asks this thread for) is seen only in a turn:
   * - with the JavaScript scan, without the turn DuckDB waited for the replay and the replay,
   *   once PENDING_BATCHES were waiting, for DuckDB, taking turns on two cores: the 20M-packet
   *   `replay -q --db` 12.53 -> 11.28 s and 14.48 -> 12.01 s with it (medians of three and two
   *   alternating rounds), the real capture 1.66 -> 1.57 s (six rounds);
   * - with the native scan, without the turn a write that had ended went unseen until the
   *   replay next waited, so the next write started late and took four row groups at once while
   *   the replay waited for it: the 20M-packet replay's first commit ended at 1.56 s instead of
   *   0.85 s, and its commits came as 122,880 then 491,520 sessions (scratch, `-v`).
   */
  caughtUp = (): Promise<void> | void => {
    if (this.pendingRows >= PENDING_BATCHES * this.flushRows && this.writeError === null) {
      this.flushInBackground(this.bulk);
      return this.flushing;
    }
    if (this.writingRows > 0) return new Promise((resolve) => setImmediate(resolve));
  };

  /**
   * Buffers the flow table's finished sessions (copied: the batch is reused); flushes when
   * `flushRows` are waiting or the interval passes.
   */
  appendBatch = (batch: SessionBatch): void => {
    let start = 0;
    // The bound counts the sessions being written too: if that write fails they come back to
    // the buffer (seen: 42,178 held against a bound of 20,000 when a write was in flight as the
    // disk filled, test/store-disk.test.ts under load).
    let count = Math.min(batch.length, this.maxBuffered - this.buffered);
    this.dropped += batch.length - Math.max(count, 0);
    while (count > 0) {
      const tail = this.tailWithRoom();
      const n = Math.min(count, tail.capacity - tail.length);
      tail.pushRows(batch, start, n);
      start += n;
      count -= n;
      this.pendingRows += n;
    }
    this.scheduleFlush();
  };

  /** Buffers one session that exists as a record (tools and tests; the flow table sends batches). */
  append = (record: SessionRecord): void => {
    if (this.buffered >= this.maxBuffered) {
      this.dropped++;
      return;
    }
    this.tailWithRoom().pushRecord(record);
    this.pendingRows++;
    this.scheduleFlush();
  };

  private tailWithRoom(): SessionBatch {
    const tail = this.pending[this.pending.length - 1];
    if (tail && !tail.full) return tail;
    const fresh = this.spare.pop() ?? new SessionBatch(BATCH_ROWS);
    this.pending.push(fresh);
    return fresh;
  }

  private scheduleFlush(): void {
    if (this.writeError !== null) return; // the retry timer writes them
    // A bulk load's flushes for size take whole row groups; the interval's takes everything, so
    // that sessions still reach the file within a second when they come slowly (a capture
    // piped into `netlog replay -`).
    if (this.pendingRows >= this.flushRows) this.flushInBackground(this.bulk);
    else this.armInterval();
  }

  /** Starts the interval's flush (of everything) unless one is waiting or nothing is. */
  private armInterval(): void {
    if (this.timer === null && this.pendingRows > 0 && this.writeError === null) {
      this.timer = setTimeout(() => this.flushInBackground(false), this.flushIntervalMs);
    }
  }

  /** A flush nobody awaits: a failure is kept for the retry, not thrown into the event loop. */
  private flushInBackground(wholeGroups = false): void {
    this.flushQueued(wholeGroups).catch(() => {});
  }

  /**
   * Appends everything buffered in one transaction; flushes run one after another. On failure
   * the sessions go back to the front of the buffer, a retry is scheduled, and the error is
   * thrown to whoever awaits this flush.
   */
  flush(): Promise<void> {
    return this.flushQueued(false);
  }

  /** A flush; with `wholeGroups`, of the leading sessions that fill whole row groups only. */
  private flushQueued(wholeGroups: boolean): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    // The batch is taken when its turn comes, not now: after a failed write the next flush
    // takes the failed sessions and the newer ones together, in order.
    return this.serial(async () => {
      const take = wholeGroups ? this.wholeGroupBatches() : this.pending.length;
      const batches = this.pending.slice(0, take);
      const rows = batches.reduce((n, b) => n + b.length, 0);
      this.pending = this.pending.slice(take);
      this.pendingRows -= rows;
      // What a flush for whole groups leaves waits for the interval (this flush cleared it).
      if (wholeGroups) this.armInterval();
      if (rows === 0) return;
      this.writingRows = rows;
      try {
        await this.write(batches, rows);
      } catch (e) {
        this.writingRows = 0;
        this.pending = batches.concat(this.pending);
        this.pendingRows += rows;
        this.writeFailures++;
        const first = this.writeError === null;
        this.writeError = (e as Error).message;
        if (first) this.onWriteState?.({ failing: true, error: this.writeError, buffered: this.pendingRows, dropped: this.dropped });
        this.timer = setTimeout(() => this.flushInBackground(), this.retryMs);
        this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
        throw e;
      }
      if (this.writeError !== null) {
        this.writeError = null;
        this.retryMs = RETRY_MIN_MS;
        this.onWriteState?.({ failing: false, buffered: this.pendingRows, dropped: this.dropped });
        if (this.pendingRows > 0) this.flushInBackground();
      }
    });
  }

  /**
   * How many leading batches hold whole row groups of sessions (0 if fewer are waiting). The
   * batches fill up in turn, so all but the last are full and 60 of them make a group; if
   * that does not hold, all of them.
   */
  private wholeGroupBatches(): number {
    const target = Math.floor(this.pendingRows / ROW_GROUP_ROWS) * ROW_GROUP_ROWS;
    let n = 0;
    let rows = 0;
    while (n < this.pending.length && rows + this.pending[n]!.length <= target) rows += this.pending[n++]!.length;
    return rows === target ? n : this.pending.length;
  }

  /**
   * One transaction: DuckDB scans the batches column-wise (SessionRowsScan) into the hot table
   * (with an outbox, into `sink_staging`, whence MOVE_STAGED copies them into both the hot table
   * and the outbox). The batches are reused once written.
   *
   * The statements go as one string, so the write is one trip through the event loop; the
   * scan's chunk requests are served on this thread between a replay's runs of packets.
   */
  private async write(batches: SessionBatch[], rows: number): Promise<void> {
    const c = this.connection;
    const started = performance.now();
    this.scan.load(batches);
    try {
      const move = [this.scan.insertRows(this.outbox ? 'sink_staging' : HOT_TABLE), ...(this.outbox ? MOVE_STAGED : [])];
      await c.run(['BEGIN TRANSACTION', ...move, 'COMMIT'].join(';\n'));
    } catch (e) {
      await c.run('ROLLBACK').catch(() => {});
      throw new NetlogError('ERR_STORE_WRITE', `writing ${rows} sessions failed: ${(e as Error).message}`, {
        file: this.path,
      });
    } finally {
      this.scan.clear();
    }
    this.written += rows;
    this.writingRows = 0;
    for (const b of batches) {
      b.clear();
      if (this.spare.length < this.maxSpare) this.spare.push(b);
    }
    this.onCommit?.(rows, this.written, (performance.now() - started) / 1000);
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
    const lost = this.pendingRows;
    this.connection.closeSync();
    this.instance.closeSync();
    if (failure) {
      throw new NetlogError('ERR_STORE_WRITE', `${lost} sessions could not be written before closing: ${(failure as Error).message}`, { file: this.path });
    }
  }
}

/**
 * The hot table and the `sessions` view over it. A file of an earlier version has `sessions` as
 * a table of the record's columns: its rows move into the hot table in one transaction, so a
 * crash leaves the file as it was or migrated, never half.
 */
async function createTables(c: DuckDBConnection): Promise<void> {
  const found = await c.runAndReadAll(`SELECT table_type FROM information_schema.tables WHERE table_name = 'sessions' AND table_schema = 'main'`);
  const oldTable = found.getRows()[0]?.[0] === 'BASE TABLE';
  await c.run('BEGIN TRANSACTION');
  try {
    await c.run(CREATE_HOT_TABLE);
    for (const statement of ADD_IPV6_COLUMNS) await c.run(statement);
    if (oldTable) for (const statement of MIGRATE_SESSIONS_TABLE) await c.run(statement);
    await c.run(SESSIONS_VIEW);
    await c.run('COMMIT');
  } catch (e) {
    await c.run('ROLLBACK').catch(() => {});
    throw e;
  }
}
