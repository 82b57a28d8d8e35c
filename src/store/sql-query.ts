import { withReadOnlyStore } from './read-only.js';

export interface QueryResult {
  columns: string[];
  /** Rows as JSON-safe values (BIGINT as numbers when exact, else strings; TIMESTAMP as text). */
  rows: Array<Record<string, unknown>>;
}

/**
 * Runs one SQL statement against a session store opened read-only, so nothing typed at the
 * `netlog sql` prompt can change the data.
 */
export function runReadOnlySql(dbPath: string, sql: string): Promise<QueryResult> {
  return withReadOnlyStore(dbPath, async (connection) => {
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
  });
}
