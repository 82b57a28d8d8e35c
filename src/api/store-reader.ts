import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { duckdbApi } from '../store/duckdb.js';
import { NetlogError } from '../errors.js';
import { READ_MEMORY_LIMIT } from '../store/read-only.js';

/**
 * The API's way into the session store: a connection per request on one DuckDB instance, either
 * the capture daemon's own (`netlog capture --serve`, which sees sessions as they are
 * committed) or one opened read-only (`netlog serve`). A query that runs past the time limit is
 * interrupted and reported, so one heavy request cannot hold the server.
 */
export class StoreReader {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly owned: boolean,
    readonly queryTimeoutMs: number,
  ) {}

  /** Reads through an instance someone else opened and closes (the capture daemon's store). */
  static shared(instance: DuckDBInstance, queryTimeoutMs: number): StoreReader {
    return new StoreReader(instance, false, queryTimeoutMs);
  }

  static async openReadOnly(dbPath: string, queryTimeoutMs: number): Promise<StoreReader> {
    try {
      const instance = await duckdbApi.DuckDBInstance.create(dbPath, {
        access_mode: 'READ_ONLY',
        memory_limit: READ_MEMORY_LIMIT,
        temp_directory: join(tmpdir(), 'netlog-duckdb-spill'),
      });
      return new StoreReader(instance, true, queryTimeoutMs);
    } catch (e) {
      throw new NetlogError('ERR_STORE_OPEN', `cannot open the session store read-only: ${(e as Error).message.split('\n')[0]}`, { file: dbPath });
    }
  }

  /** Runs `work` on a fresh connection, interrupted after the time limit. */
  async run<T>(work: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const c = await this.instance.connect();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      c.interrupt();
    }, this.queryTimeoutMs);
    try {
      return await work(c);
    } catch (e) {
      if (timedOut) throw new NetlogError('ERR_QUERY_TIMEOUT', `the query ran longer than ${this.queryTimeoutMs / 1000} s and was stopped; narrow the time range or filters`);
      if (e instanceof NetlogError) throw e;
      throw new NetlogError('ERR_STORE_READ', (e as Error).message.split('\n')[0]!);
    } finally {
      clearTimeout(timer);
      c.closeSync();
    }
  }

  /**
   * Pieces from `produce` on a connection of their own, without the time limit (an export of
   * millions of rows may take minutes); the connection is interrupted and closed when the
   * consumer stops early, as when a client goes away mid-download.
   */
  async *stream<T>(produce: (c: DuckDBConnection) => AsyncGenerator<T>): AsyncGenerator<T> {
    const c = await this.instance.connect();
    let finished = false;
    try {
      yield* produce(c);
      finished = true;
    } finally {
      if (!finished) c.interrupt();
      c.closeSync();
    }
  }

  close(): void {
    if (this.owned) this.instance.closeSync();
  }
}
