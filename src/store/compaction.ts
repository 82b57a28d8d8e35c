import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { HOT_TABLE } from './session-chunk.js';

/**
 * Day partitions in Parquet: DATA_DIR/sessions/date=YYYY-MM-DD/part-N.parquet (zstd), by the
 * UTC day of the session's start, with the record's columns (the `sessions` view's). Moving a
 * day out of the hot table is ordered so that a
 * crash at any point leaves every session in exactly one place:
 *   1. COPY the day's rows to part-N.parquet.tmp (a name no reader globs);
 *   2. in one transaction, DELETE the day's rows and record the part in `compactions`;
 *   3. rename .tmp to .parquet.
 * `recoverCompactions`, run whenever the store opens, finishes step 3 for a recorded part and
 * removes a .tmp that step 2 never recorded (its rows are still in the table).
 */
export const CREATE_COMPACTIONS_TABLE = `CREATE TABLE IF NOT EXISTS compactions (
  day DATE NOT NULL,
  file VARCHAR NOT NULL,
  sessions BIGINT NOT NULL,
  "compactedAt" TIMESTAMP NOT NULL DEFAULT now()
)`;

/** Where a crash is simulated in tests of the recovery (fault injection, never set otherwise). */
export type CompactionCrashPoint = 'after-copy' | 'after-commit';

export function partitionDir(dataDir: string, day: string): string {
  return join(dataDir, 'sessions', `date=${day}`);
}

const sqlText = (s: string) => `'${s.replaceAll("'", "''")}'`;

const DAY_S = 86400;

/** Days (YYYY-MM-DD, UTC) with sessions in the table that started before `beforeDay`. */
async function closedDays(c: DuckDBConnection, beforeDay: string): Promise<string[]> {
  const reader = await c.runAndReadAll(
    `SELECT DISTINCT "timestamp" // ${DAY_S} AS day FROM ${HOT_TABLE} WHERE "timestamp" < $1 ORDER BY day`,
    [Date.parse(`${beforeDay}T00:00:00Z`) / 1000],
  );
  return reader.getRows().map((r) => new Date(Number(r[0]) * DAY_S * 1000).toISOString().slice(0, 10));
}

export interface CompactionResult {
  day: string;
  file: string;
  sessions: number;
}

/** Moves every closed day (before `beforeDay`) from the table to a new Parquet part. */
export async function compactClosedDays(
  c: DuckDBConnection,
  dataDir: string,
  beforeDay: string,
  crashAt?: CompactionCrashPoint,
): Promise<CompactionResult[]> {
  const done: CompactionResult[] = [];
  for (const day of await closedDays(c, beforeDay)) {
    const dir = partitionDir(dataDir, day);
    mkdirSync(dir, { recursive: true });
    const existing = readdirSync(dir).filter((f) => /^part-\d+\.parquet(\.tmp)?$/.test(f)).length;
    const file = join(dir, `part-${existing}.parquet`);
    // An integer range on the stored seconds: no per-row date conversion.
    const dayStart = Date.parse(`${day}T00:00:00Z`) / 1000;
    const dayFilter = `"timestamp" >= ${dayStart} AND "timestamp" < ${dayStart + DAY_S}`;
    await c.run(
      `COPY (SELECT * FROM sessions WHERE ${dayFilter} ORDER BY "startedAt") TO ${sqlText(`${file}.tmp`)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    if (crashAt === 'after-copy') throw new Error('simulated crash after copy');
    await c.run('BEGIN TRANSACTION');
    try {
      const counted = await c.runAndReadAll(`SELECT count(*) FROM ${HOT_TABLE} WHERE ${dayFilter}`);
      const sessions = Number(counted.getRows()[0]![0]);
      await c.run(`DELETE FROM ${HOT_TABLE} WHERE ${dayFilter}`);
      await c.run(`INSERT INTO compactions (day, file, sessions) VALUES (${sqlText(day)}::DATE, ${sqlText(file)}, ${sessions})`);
      await c.run('COMMIT');
      if (crashAt === 'after-commit') throw new Error('simulated crash after commit');
      renameSync(`${file}.tmp`, file);
      done.push({ day, file, sessions });
    } catch (e) {
      if (!(e instanceof Error && e.message.startsWith('simulated crash'))) {
        await c.run('ROLLBACK').catch(() => {});
        rmSync(`${file}.tmp`, { force: true });
      }
      throw e;
    }
  }
  await refreshAllView(c);
  return done;
}

/** Completes or undoes a compaction that a crash interrupted (see the order above). */
export async function recoverCompactions(c: DuckDBConnection, dataDir: string): Promise<void> {
  const root = join(dataDir, 'sessions');
  if (!existsSync(root)) return;
  const recorded = new Set(
    (await c.runAndReadAll('SELECT file FROM compactions')).getRows().map((r) => String(r[0])),
  );
  for (const part of readdirSync(root)) {
    const dir = join(root, part);
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.parquet.tmp')) continue;
      const file = join(dir, f.slice(0, -'.tmp'.length));
      if (recorded.has(file)) renameSync(join(dir, f), file); // step 2 committed: finish step 3
      else rmSync(join(dir, f)); // step 2 never happened: the rows are still in the table
    }
  }
}

/**
 * `sessions_all`: the hot table and every Parquet part, so queries see both. Rebuilt after each
 * compaction and at open; with no parts yet it is the table alone (read_parquet refuses an
 * empty glob).
 */
export async function refreshAllView(c: DuckDBConnection): Promise<void> {
  const parts = (await c.runAndReadAll('SELECT file FROM compactions ORDER BY file')).getRows().map((r) => String(r[0]));
  const present = parts.filter((f) => existsSync(f));
  const cold = present.length
    ? ` UNION ALL SELECT * FROM read_parquet([${present.map(sqlText).join(", ")}], hive_partitioning = false)`
    : '';
  await c.run(`CREATE OR REPLACE VIEW sessions_all AS SELECT * FROM sessions${cold}`);
}
