/**
 * What the ClickHouse outbox costs the store: the sessions of CAPTURE appended through
 * SessionStore (batches of 50,000, one transaction each) into a fresh file, with and without
 * the outbox (`--clickhouse-url` turns it on).
 *   node dist/bench/store-outbox.js plain|outbox CAPTURE
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionRecord } from '../src/flow/session-record.js';
import { replay } from '../src/replay/replay.js';
import { SessionStore } from '../src/store/session-store.js';

const [mode, capture] = process.argv.slice(2) as ['plain' | 'outbox', string];
const sessions: SessionRecord[] = [];
await replay([capture], { onSession: (r) => sessions.push(r) });
const db = join(tmpdir(), `netlog-bench-outbox-${process.pid}.duckdb`);
rmSync(db, { force: true });
const store = await SessionStore.open(db, { outbox: mode === 'outbox', flushRows: 50_000 });
const start = process.hrtime.bigint();
for (const s of sessions) store.append(s);
await store.flush();
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
await store.close();
rmSync(db, { force: true });
rmSync(`${db}.wal`, { force: true });
process.stdout.write(
  JSON.stringify({ mode, sessions: sessions.length, seconds, sessionsPerSecond: sessions.length / seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n',
);
