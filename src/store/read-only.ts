import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { duckdbApi } from './duckdb.js';
import { NetlogError } from '../errors.js';

/**
 * DuckDB's working memory for reads (sorts, exports): past it, DuckDB spills to a temporary
 * directory, so a 10M-row sorted export does not grow the process with the row count.
 */
export const READ_MEMORY_LIMIT = '512MB';

/** Opens a session store read-only for one piece of work, and closes it afterwards. */
export async function withReadOnlyStore<T>(dbPath: string, work: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  let instance: DuckDBInstance;
  try {
    instance = await duckdbApi.DuckDBInstance.create(dbPath, {
      access_mode: 'READ_ONLY',
      memory_limit: READ_MEMORY_LIMIT,
      temp_directory: join(tmpdir(), 'netlog-duckdb-spill'),
    });
  } catch (e) {
    throw new NetlogError('ERR_STORE_OPEN', `cannot open the session store read-only: ${(e as Error).message}`, { file: dbPath });
  }
  const connection = await instance.connect();
  try {
    return await work(connection);
  } catch (e) {
    if (e instanceof NetlogError) throw e;
    throw new NetlogError('ERR_QUERY_INVALID', (e as Error).message.split('\n')[0]!, { file: dbPath });
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
