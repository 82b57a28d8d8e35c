import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionRecord } from '../src/flow/session-record.js';
import { IdentityMap } from '../src/identity/identity-map.js';
import { IdentityRegistry } from '../src/identity/identity-registry.js';
import { loadOrgMap } from '../src/identity/org-map.js';
import { replay } from '../src/replay/replay.js';
import { ClickHouseSink } from '../src/sinks/clickhouse-sink.js';
import { SinkShipper } from '../src/sinks/sink-shipper.js';
import { readOutbox, storeId } from '../src/store/outbox.js';
import { SessionStore } from '../src/store/session-store.js';
import { runReadOnlySql } from '../src/store/sql-query.js';
import { CH_PASSWORD, CH_USER, TestClickHouse, hasClickHouse } from '../bench/clickhouse-server.js';
import { FIXTURES, ROOT } from './helpers.js';

/**
 * Sessions from two simulated sites shipped into a real ClickHouse (Debian's
 * clickhouse-server, started here on 127.0.0.1 with its own data directory), compared row for
 * row with the union of the local stores; then an outage in the middle of shipping, and a
 * crash between ClickHouse's answer and the outbox delete: every session arrives exactly once.
 */
const why = hasClickHouse() ? null : 'clickhouse-server not installed (apt-get install clickhouse-server)';
if (why) console.log(`ClickHouse tests skipped: ${why}`);

const run = promisify(execFile);
const cli = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'netlog-ch-'));
let ch: TestClickHouse;
const sinkFor = (table = 'sessions') =>
  new ClickHouseSink({ url: ch.url, database: 'netlog', table, user: CH_USER, password: CH_PASSWORD, timeoutMs: 5000 });
const chArgs = () => ['--clickhouse-url', ch.url, '--clickhouse-user', CH_USER];
const env = () => ({ ...process.env, NETLOG_CLICKHOUSE_PASSWORD: CH_PASSWORD });

/** Rows of a ClickHouse query as objects (JSONEachRow, 64-bit integers as numbers). */
async function chRows(sql: string): Promise<Array<Record<string, unknown>>> {
  return (await ch.query(`${sql} FORMAT JSONEachRow`)).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** Replays captures through an org map into an open store. */
async function replayInto(store: SessionStore, mapFile: string, files: string[]): Promise<SessionRecord[]> {
  const out: SessionRecord[] = [];
  const identifier = new IdentityRegistry(new IdentityMap(await loadOrgMap(join(FIXTURES, 'org-maps', mapFile)), 'all'));
  await replay(files.map((f) => join(FIXTURES, f)), { identifier, onSessions: (b) => (out.push(...b.records()), store.appendBatch(b)) });
  await store.flush();
  return out;
}

async function until(what: string, pred: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(why !== null)('ClickHouse sink', () => {
  beforeAll(async () => {
    ch = await TestClickHouse.create();
    await run('node', [cli, 'clickhouse', 'init', ...chArgs(), '--retention-days', '30'], { env: env() });
  }, 60_000);
  afterAll(async () => {
    await ch?.stop();
  });

  it('init makes the table; a second init changes nothing', async () => {
    const { stderr } = await run('node', [cli, 'clickhouse', 'init', ...chArgs()], { env: env() });
    expect(stderr).toMatch(/table .* netlog\.sessions ready on ClickHouse 18\.16/);
    expect(await ch.query("SELECT engine, partition_key, sorting_key FROM system.tables WHERE database = 'netlog' AND name = 'sessions' FORMAT TSV")).toBe(
      'ReplacingMergeTree\ttoYYYYMMDD(toDateTime(timestamp))\torgId, siteId, timestamp, sessionId\n',
    );
  });

  it('two sites replayed with --clickhouse-url: ClickHouse holds the union of their stores, row for row', async () => {
    const sites = [
      { db: join(dir, 'site1.duckdb'), map: 'site.json', files: ['tun-wireguard.pcap'] },
      { db: join(dir, 'site2.duckdb'), map: 'veth.json', files: ['sessions-veth.pcap', 'veth-ethernet-nsec.pcap'] },
    ];
    const local: Array<Record<string, unknown>> = [];
    for (const s of sites) {
      const { stderr } = await run(
        'node',
        [cli, 'replay', ...s.files.map((f) => join(FIXTURES, f)), '--org-map', join(FIXTURES, 'org-maps', s.map), '--scope', 'all', '--db', s.db, ...chArgs(), '--clickhouse-drain-timeout', '100'],
        { env: env() },
      );
      expect(stderr, stderr).toMatch(/(\d+) written to .*; \1 shipped to ClickHouse/);
      // The shipper starts before the first commit: an empty outbox is nothing to send, not an error.
      expect(stderr).not.toMatch(/cannot read the outbox/);
      const { rows } = await runReadOnlySql(s.db, 'SELECT * EXCLUDE ("startedAt", "endedAt"), epoch_us("startedAt") / 1e6 AS "startedAt", epoch_us("endedAt") / 1e6 AS "endedAt" FROM sessions_all');
      expect((await runReadOnlySql(s.db, 'SELECT count(*) AS n FROM sink_outbox')).rows[0]!.n).toBe(0);
      local.push(...rows);
    }
    const remote = await chRows('SELECT * FROM netlog.sessions ORDER BY sessionId');
    expect(remote).toHaveLength(local.length);
    expect(local.length).toBe(23);
    const byId = new Map(local.map((r) => [r.sessionId, r]));
    for (const r of remote) {
      const { netlogStore, netlogSeq, ...fields } = r;
      expect(typeof netlogStore).toBe('string');
      expect(netlogSeq).toBeGreaterThan(0);
      expect(fields).toEqual(byId.get(fields.sessionId));
    }
    expect(new Set(remote.map((r) => `${r.orgId}/${r.siteId}`))).toEqual(new Set(['org_fixture/1', 'org_veth/2']));
  }, 240_000);

  it('ClickHouse stopped mid-stream: sessions wait in the outbox, and arrive exactly once when it is back', async () => {
    const store = await SessionStore.open(join(dir, 'outage.duckdb'), { outbox: true });
    const c = await store.instance.connect();
    const me = await storeId(c);
    c.closeSync();
    const shipper = await SinkShipper.start(store.instance, sinkFor(), { idleMs: 50, minBackoffMs: 100, maxBackoffMs: 400, batchRows: 4 });
    const sent = await replayInto(store, 'veth.json', ['sessions-veth.pcap']);
    await until('the first replay shipped', async () => (await shipper.pending()) === 0);
    await ch.stop();
    sent.push(...(await replayInto(store, 'veth.json', ['veth-ethernet-nsec.pcap'])));
    sent.push(...(await replayInto(store, 'site.json', ['tun-wireguard.pcap'])));
    await until('a failed attempt', async () => shipper.failures > 0);
    expect(shipper.lastError).toMatch(/unreachable/);
    expect(await shipper.pending()).toBe(10);
    await ch.start();
    await until('the outbox emptied', async () => (await shipper.pending()) === 0);
    expect(await shipper.stop()).toBe(0);
    await store.close();
    const rows = await chRows(`SELECT sessionId, netlogSeq FROM netlog.sessions WHERE netlogStore = '${me}'`);
    expect(rows).toHaveLength(sent.length);
    expect(new Set(rows.map((r) => r.sessionId))).toEqual(new Set(sent.map((r) => r.sessionId)));
    expect(new Set(rows.map((r) => r.netlogSeq)).size).toBe(sent.length);
  }, 90_000);

  it('a crash after ClickHouse took a batch but before the outbox forgot it: the restart sends only the rest', async () => {
    const store = await SessionStore.open(join(dir, 'crash.duckdb'), { outbox: true });
    const c = await store.instance.connect();
    const sent = await replayInto(store, 'veth.json', ['sessions-veth.pcap', 'veth-ethernet-nsec.pcap']);
    const me = await storeId(c);
    // The "previous process": ClickHouse got the first 7 rows, then it died before the delete.
    await sinkFor().send({ storeId: me, ...(await readOutbox(c, 7)) });
    c.closeSync();
    const shipper = await SinkShipper.start(store.instance, sinkFor(), { idleMs: 50 });
    expect(await shipper.stop(20_000)).toBe(0);
    expect(shipper.shipped).toBe(sent.length - 7);
    await store.close();
    const rows = await chRows(`SELECT count() AS n, uniqExact(netlogSeq) AS u FROM netlog.sessions WHERE netlogStore = '${me}'`);
    expect(rows).toEqual([{ n: sent.length, u: sent.length }]);
  }, 60_000);

  it('netlog clickhouse ship drains an outbox left behind; prune drops old day partitions', async () => {
    const db = join(dir, 'left.duckdb');
    const store = await SessionStore.open(db, { outbox: true });
    await replayInto(store, 'site.json', ['tun-wireguard.pcap']);
    await store.close();
    const { stderr } = await run('node', [cli, 'clickhouse', 'ship', '--db', db, ...chArgs()], { env: env() });
    expect(stderr).toMatch(/shipped 5 of 5 waiting sessions .*; 0 left in the outbox/);
    // Every fixture session is from 2026-11-24: 0 days are old against that day, all against a year on.
    const before = Number(await ch.query('SELECT count() FROM netlog.sessions'));
    expect(await sinkFor().prune(30, new Date('2026-11-25T00:00:00Z'))).toEqual([]);
    expect(Number(await ch.query('SELECT count() FROM netlog.sessions'))).toBe(before);
    expect(await sinkFor().prune(30, new Date('2027-11-25T00:00:00Z'))).toEqual(['20261124']);
    expect(Number(await ch.query('SELECT count() FROM netlog.sessions'))).toBe(0);
  }, 60_000);

  it('a bad password is a clear error, and the sessions stay in the outbox', async () => {
    const db = join(dir, 'denied.duckdb');
    const r = await run(
      'node',
      [cli, 'replay', join(FIXTURES, 'tun-wireguard.pcap'), '--db', db, ...chArgs(), '--clickhouse-drain-timeout', '1'],
      { env: { ...process.env, NETLOG_CLICKHOUSE_PASSWORD: 'wrong' } },
    ).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(1);
    expect((r as { stderr: string }).stderr).toMatch(/sink failed; sessions wait in the outbox .*ClickHouse answered (401|403|500|516): .*(password|Authentication)/i);
    expect((await runReadOnlySql(db, 'SELECT count(*) AS n FROM sink_outbox')).rows[0]!.n).toBe(5);
  }, 30_000);
});
