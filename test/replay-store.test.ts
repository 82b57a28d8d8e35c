import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { writeSynFlood } from '../bench/synthetic-capture.js';
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
  // Without the wait the replay held all 1.1M sessions as copies (about 1.3 GB with the store's).
  const peakMiB = Number(/PEAK_KB (\d+)/.exec(r.stderr)![1]) / 1024;
  expect(peakMiB).toBeLessThan(900);
}, 120_000);
