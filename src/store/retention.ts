import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { NetlogError } from '../errors.js';
import { refreshAllView } from './compaction.js';
import { HOT_TABLE } from './session-chunk.js';

export interface PruneResult {
  /** Sessions deleted from the table. */
  tableSessions: number;
  /** Parquet parts deleted (whole days). */
  parts: number;
  partSessions: number;
  cutoff: Date;
}

/**
 * Retention as Pangolin defines it: sessions that started more than `retentionDays` days before
 * `now` (the wall clock by default) are deleted. Rows of the table go to the second; Parquet
 * parts go by whole days, once every session of their day is past the cutoff, so a day that
 * straddles the cutoff is kept until it is wholly past. The manifest rows go in one
 * transaction and the view is rebuilt before files are removed, so a crash can only leave
 * files no query reads. (They are not swept at open: a data directory may hold parts another
 * store lists.)
 */
export async function pruneSessions(
  c: DuckDBConnection,
  retentionDays: number,
  now: Date = new Date(),
): Promise<PruneResult> {
  if (!Number.isInteger(retentionDays) || retentionDays < 1) {
    throw new NetlogError('ERR_CONFIG_INVALID', `retention days must be a whole number >= 1 to prune, not ${retentionDays}`);
  }
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000);
  const cutoffSec = Math.floor(cutoff.getTime() / 1000);
  // A part of day D holds sessions up to D + 1 day: it may go when D + 1 day <= cutoff.
  const lastWholeDay = new Date(cutoffSec * 1000 - 86_400_000).toISOString().slice(0, 10);
  await c.run('BEGIN TRANSACTION');
  let tableSessions: number;
  let parts: Array<[string, number]>;
  try {
    tableSessions = (await c.runAndReadAll(`DELETE FROM ${HOT_TABLE} WHERE "timestamp" < $1 RETURNING 1`, [cutoffSec])).currentRowCount;
    parts = (
      await c.runAndReadAll('DELETE FROM compactions WHERE day <= $1::DATE RETURNING file, sessions', [lastWholeDay])
    ).getRows().map((r) => [String(r[0]), Number(r[1])]);
    await c.run('COMMIT');
  } catch (e) {
    await c.run('ROLLBACK').catch(() => {});
    throw e;
  }
  await refreshAllView(c);
  for (const [file] of parts) {
    rmSync(file, { force: true });
    const dir = dirname(file);
    if (existsSync(dir) && readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
  }
  return { tableSessions, parts: parts.length, partSessions: parts.reduce((a, [, n]) => a + n, 0), cutoff };
}
