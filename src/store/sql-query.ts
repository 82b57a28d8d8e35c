import { DuckDBInstance } from '@duckdb/node-api';
import { NetlogError } from '../errors.js';

export interface QueryResult {
  columns: string[];
  /** Rows as JSON-safe values (BIGINT as numbers when exact, else strings; TIMESTAMP as text). */
  rows: Array<Record<string, unknown>>;
}

/**
 * Runs one SQL statement against a session store opened read-only, so nothing typed at the
 * `netlog sql` prompt can change the data.
 */
export async function runReadOnlySql(dbPath: string, sql: string): Promise<QueryResult> {
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' });
  } catch (e) {
    throw new NetlogError('ERR_STORE_OPEN', `cannot open the session store read-only: ${(e as Error).message}`, { file: dbPath });
  }
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    const columns = reader.columnNames();
    const rows = reader.getRowObjectsJson().map((row) => {
      const out: Record<string, unknown> = {};
      for (const c of columns) {
        const v = row[c];
        // BIGINT arrives as text in JSON form; give exact integers back as numbers.
        out[c] = typeof v === 'string' && /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : v;
      }
      return out;
    });
    return { columns, rows };
  } catch (e) {
    throw new NetlogError('ERR_QUERY_INVALID', (e as Error).message.split('\n')[0]!, { file: dbPath });
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
