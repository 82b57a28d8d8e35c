/**
 * The sessions of CAPTURE appended through SessionStore:
 * - as the daemon writes (batches of 50,000, one transaction each), without and with the
 *   ClickHouse outbox (`--clickhouse-url` turns it on), into a fresh file after a first batch
 *   written before the clock starts (a running store);
 * - `bulk`: as `netlog replay --db` writes (whole row groups, one DuckDB thread), into a fresh
 *   file with nothing written before the clock, as a replay's store starts;
 * - `bulk-again`: the same into a file that already holds one such replay (written, closed and
 *   opened again before the clock), as a second replay into the same `--db`;
 * - `bulk-js`: `bulk` through the JavaScript scan (session-chunk.ts) rather than the native one.
 * `seconds` runs to the last commit, `closedSeconds` to the close (with the checkpoint that
 * the daemon's commits leave to it).
 *   node dist/bench/store-outbox.js plain|outbox|running|bulk|bulk-again|bulk-js CAPTURE
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionBatch } from '../src/flow/session-batch.js';
import { replay } from '../src/replay/replay.js';
import { ROW_GROUP_ROWS } from '../src/store/row-group.js';
import { SessionStore } from '../src/store/session-store.js';

const [mode, capture] = process.argv.slice(2) as ['plain' | 'outbox' | 'running' | 'bulk' | 'bulk-again' | 'bulk-js', string];
const batches: SessionBatch[] = [];
await replay([capture], {
  onSessions: (b) => batches.push(b.copy()),
});
const db = join(tmpdir(), `netlog-bench-outbox-${process.pid}.duckdb`);
rmSync(db, { force: true });
const bulk = mode === 'bulk' || mode === 'bulk-again' || mode === 'bulk-js';
const open = () =>
  SessionStore.open(db, bulk ? { bulk: true, flushRows: ROW_GROUP_ROWS, javascriptScan: mode === 'bulk-js' } : { outbox: mode === 'outbox', flushRows: 50_000 });
if (mode === 'bulk-again') {
  const earlier = await open();
  for (const b of batches) earlier.appendBatch(b);
  await earlier.close();
}
const store = await open();
if (!bulk) {
  // A running store: one write before the clock, its sessions not counted (until 12-08 that
  // write was also what gave the histories codes; a write now codes its own). `running`: all
  // of the sessions written once before the clock instead, as a daemon that has been up a
  // while: its table holds rows, and its emptied batches wait for reuse (a store fresh from
  // its first write makes a new one for every 2,048 sessions, zeroed pages the kernel must
  // fault in). A replay's store has no such write.
  const first = batches.shift()!;
  store.appendBatch(first);
  if (mode === 'running') for (const b of batches) store.appendBatch(b);
  await store.flush();
}
const sessions = batches.reduce((n, b) => n + b.length, 0);
const start = process.hrtime.bigint();
for (const b of batches) store.appendBatch(b);
await store.flush();
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
await store.close();
const closedSeconds = Number(process.hrtime.bigint() - start) / 1e9;
rmSync(db, { force: true });
rmSync(`${db}.wal`, { force: true });
process.stdout.write(
  JSON.stringify({ mode, sessions, seconds, sessionsPerSecond: sessions / seconds, closedSeconds, peakRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n',
);
