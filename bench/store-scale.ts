/**
 * The store at scale, one step per process (so peak RSS is the step's own):
 *   node dist/bench/store-scale.js make DB N      N synthetic sessions over 10 days, by SQL
 *   node dist/bench/store-scale.js compact DB     rollover of every closed day to Parquet
 *   node dist/bench/store-scale.js query DB       a filtered page over sessions_all
 *   node dist/bench/store-scale.js csv DB OUT     CSV export of every session (DuckDB's writer)
 *   node dist/bench/store-scale.js parquet DB OUT Parquet export of every session
 * The rows are made inside DuckDB (the replay path has its own bench); they vary client,
 * resource, ports, sizes and times the way tunnel sessions do.
 */
import { rmSync } from 'node:fs';
import { parseSessionFilter } from '../src/store/session-filter.js';
import { exportCsv, exportParquet, querySessions } from '../src/store/session-query.js';
import { SessionStore } from '../src/store/session-store.js';
import { insertSyntheticSessions } from './synthetic-sessions.js';

const [step, db, arg] = process.argv.slice(2) as [string, string, string | undefined];
const start = process.hrtime.bigint();
let rows = 0;
let detail: unknown = null;

if (step === 'make') {
  rmSync(db, { force: true });
  const store = await SessionStore.open(db);
  const n = Number(arg ?? 10_000_000);
  await insertSyntheticSessions(store, n);
  await store.close();
  rows = n;
} else if (step === 'compact') {
  const store = await SessionStore.open(db);
  const parts = await store.compact('2026-11-20');
  await store.close();
  rows = parts.reduce((a, p) => a + p.sessions, 0);
  detail = { parts: parts.length };
} else if (step === 'query') {
  const filter = parseSessionFilter({ dst: '10.1.3.0/24', protocol: 'tcp', since: '2026-11-12T00:00:00Z', until: '2026-11-15T00:00:00Z', limit: '100' });
  const page = await querySessions(db, filter);
  rows = page.sessions.length;
  detail = { total: page.total };
} else if (step === 'csv') {
  rows = await exportCsv(db, parseSessionFilter({}), arg!);
} else if (step === 'parquet') {
  rows = await exportParquet(db, parseSessionFilter({}), arg!);
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
process.stdout.write(
  JSON.stringify({ step, rows, seconds, rowsPerSecond: rows / seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024, detail }) + '\n',
);
