/**
 * What the ClickHouse outbox costs the store: the sessions of CAPTURE appended through
 * SessionStore (batches of 50,000, one transaction each) into a fresh file, with and without
 * the outbox (`--clickhouse-url` turns it on).
 *   node dist/bench/store-outbox.js plain|outbox CAPTURE
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionBatch } from '../src/flow/session-batch.js';
import { replay } from '../src/replay/replay.js';
import { SessionStore } from '../src/store/session-store.js';

const [mode, capture] = process.argv.slice(2) as ['plain' | 'outbox', string];
const batches: SessionBatch[] = [];
await replay([capture], {
  onSessions: (b) => {
    const copy = new SessionBatch(b.length);
    copy.pushRows(b, 0, b.length);
    batches.push(copy);
  },
});
const sessions = batches.reduce((n, b) => n + b.length, 0);
const db = join(tmpdir(), `netlog-bench-outbox-${process.pid}.duckdb`);
rmSync(db, { force: true });
const store = await SessionStore.open(db, { outbox: mode === 'outbox', flushRows: 50_000 });
const start = process.hrtime.bigint();
for (const b of batches) store.appendBatch(b);
await store.flush();
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
await store.close();
rmSync(db, { force: true });
rmSync(`${db}.wal`, { force: true });
process.stdout.write(
  JSON.stringify({ mode, sessions, seconds, sessionsPerSecond: sessions / seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n',
);
