import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { writeSynFlood } from '../bench/synthetic-capture.js';
import { ROW_GROUP_ROWS } from '../src/store/row-group.js';
import { runReadOnlySql } from '../src/store/sql-query.js';
import { ROOT } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'netlog-replay-store-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it('replay --db of more sessions than the store holds in memory (1M) stores every one, with bounded memory', async () => {
  // 1.1M SYNs, each a new flow, through a table of 1,000: a session per packet, faster than
  // DuckDB commits. The store opens while the replay starts; the replay must wait for it
  // rather than hold every session until the end, where the store's memory bound dropped all
  // past the first million (3M sessions, "1000000 written").
  const capture = join(tmp, 'syn-flood.pcap');
  writeSynFlood(capture, 1_100_000, 5);
  const db = join(tmp, 'flood.duckdb');
  const r = spawnSync('/usr/bin/time', ['-f', 'PEAK_KB %M', process.execPath, join(ROOT, 'dist/src/cli/main.js'), 'replay', capture, '--max-flows', '1000', '--db', db], {
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/1100000 packets, 1100000 sessions, 1100000 written to /);
  expect(r.stderr).not.toMatch(/dropped/);
  const { rows } = await runReadOnlySql(db, 'SELECT count(*) AS n FROM sessions');
  expect(rows[0]!.n).toBe(1_100_000);
  // Commits of whole row groups on one DuckDB thread (src/store/row-group.ts): every group
  // full but the last, and no block of the file written, then merged away and let go.
  const groups = await runReadOnlySql(db, "SELECT row_group_id AS g, max(count) AS n FROM pragma_storage_info('sessions') GROUP BY 1 ORDER BY 1");
  expect(groups.rows.map((g) => Number(g.n))).toEqual([...Array<number>(8).fill(ROW_GROUP_ROWS), 1_100_000 - 8 * ROW_GROUP_ROWS]);
  const size = await runReadOnlySql(db, 'SELECT free_blocks FROM pragma_database_size()');
  expect(Number(size.rows[0]!.free_blocks)).toBe(0);
  // Without the wait the replay held all 1.1M sessions as copies (about 1.3 GB with the store's).
  const peakMiB = Number(/PEAK_KB (\d+)/.exec(r.stderr)![1]) / 1024;
  expect(peakMiB).toBeLessThan(900);
}, 120_000);
