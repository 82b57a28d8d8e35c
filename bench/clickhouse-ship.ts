/**
 * Shipping to ClickHouse: `node dist/bench/clickhouse-ship.js N [BATCH]`.
 * Starts a clickhouse-server of its own (bench/clickhouse-server.ts), makes a store of N
 * sessions by SQL (store-scale.ts's rows), puts them all in the outbox, and times the shipper
 * emptying it in batches of BATCH rows (JSONEachRow, gzip). Prints one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouseSink } from '../src/sinks/clickhouse-sink.js';
import { SinkShipper } from '../src/sinks/sink-shipper.js';
import { SessionStore } from '../src/store/session-store.js';
import { CH_PASSWORD, CH_USER, TestClickHouse } from './clickhouse-server.js';
import { insertSyntheticSessions } from './synthetic-sessions.js';

const n = Number(process.argv[2] ?? 1_000_000);
const batchRows = Number(process.argv[3] ?? 50_000);
const dir = mkdtempSync(join(tmpdir(), 'netlog-bench-ch-'));
const ch = await TestClickHouse.create();
try {
  const sink = new ClickHouseSink({ url: ch.url, database: 'netlog', table: 'sessions', user: CH_USER, password: CH_PASSWORD, timeoutMs: 120_000 });
  await sink.init(null);
  const store = await SessionStore.open(join(dir, 'netlog.duckdb'), { outbox: true });
  await insertSyntheticSessions(store, n);
  await store.sql(`INSERT INTO sink_outbox SELECT nextval('sink_seq'), * FROM sessions`);
  const start = performance.now();
  const shipper = await SinkShipper.start(store.instance, sink, { batchRows, idleMs: 10 });
  const left = await shipper.stop(600_000);
  const seconds = (performance.now() - start) / 1000;
  await store.close();
  const landed = Number(await ch.query('SELECT count() FROM netlog.sessions'));
  process.stdout.write(
    JSON.stringify({ sessions: n, batchRows, landed, left, seconds, sessionsPerSecond: shipper.shipped / seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n',
  );
} finally {
  await ch.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(ch.dir, { recursive: true, force: true });
}
