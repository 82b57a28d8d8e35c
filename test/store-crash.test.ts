import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { writeSyntheticCapture } from '../bench/synthetic-capture.js';
import { runReadOnlySql } from '../src/store/sql-query.js';
import { ROOT } from './helpers.js';

/**
 * kill -9 of `netlog replay --db` while it writes: the database must open afterwards and hold
 * every batch the process reported committed, and only whole batches (each is one transaction).
 */
const tmp = mkdtempSync(join(tmpdir(), 'netlog-crash-'));
const capture = join(tmp, 'many-sessions.pcap');
writeSyntheticCapture(capture, 1_500_000, 7); // ~150k sessions: a replay commits each 122,880 (a row group)

/** Starts `netlog replay --db DB --verbose` and kills it with SIGKILL right after its first commit. */
async function killAfterFirstCommit(db: string, more: string[] = []): Promise<{ reported: number; totals: number[] }> {
  const child = spawn(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'replay', capture, '--db', db, '--verbose', ...more], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let reported = 0;
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = [...stderr.matchAll(/committed \d+ sessions \((\d+) in all\)/g)].pop();
      if (m && reported === 0) {
        reported = Number(m[1]);
        child.kill('SIGKILL'); // right after the first commit, with more being written
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`exited ${code}: ${stderr}`))));
  });
  expect(reported).toBeGreaterThan(0);
  // Every total the process reported before it died, in order.
  return { reported, totals: [...stderr.matchAll(/\((\d+) in all\)/g)].map((m) => Number(m[1])) };
}

it('a replay killed with SIGKILL leaves a database that opens and holds every committed batch', async () => {
  const db = join(tmp, 'crash.duckdb');
  const { reported, totals } = await killAfterFirstCommit(db);
  const { rows } = await runReadOnlySql(db, 'SELECT count(*) AS n, count(DISTINCT "sessionId") AS ids FROM sessions');
  const n = rows[0]!.n as number;
  expect(rows[0]!.ids).toBe(n); // nothing stored twice
  // Whole transactions only: the store holds exactly a reported total, or more than the last
  // one (a batch committed after its report was written but before the kill), never a count
  // between two totals.
  expect(n).toBeGreaterThanOrEqual(reported);
  expect(totals.includes(n) || n > Math.max(...totals)).toBe(true);
});

it('killed while shipping to an unreachable ClickHouse: the outbox holds exactly the stored sessions', async () => {
  const db = join(tmp, 'crash-outbox.duckdb');
  // Port 9 on loopback: nothing listens, so every session stays in the outbox.
  await killAfterFirstCommit(db, ['--clickhouse-url', 'http://127.0.0.1:9']);
  const { rows } = await runReadOnlySql(
    db,
    `SELECT (SELECT count(*) FROM sessions) AS stored, (SELECT count(*) FROM sink_outbox) AS waiting,
            (SELECT count(*) FROM sessions s ANTI JOIN sink_outbox o USING ("sessionId")) AS missing,
            (SELECT count(DISTINCT seq) FROM sink_outbox) AS seqs, (SELECT count(*) FROM sink_staging) AS staged`,
  );
  expect(rows[0]!.stored).toBeGreaterThan(0);
  expect(rows[0]).toEqual({ stored: rows[0]!.stored, waiting: rows[0]!.stored, missing: 0, seqs: rows[0]!.stored, staged: 0 });
});
