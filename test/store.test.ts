import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../src/flow/session-record.js';
import { replay } from '../src/replay/replay.js';
import { ROW_GROUP_ROWS } from '../src/store/row-group.js';
import { SessionStore } from '../src/store/session-store.js';
import { ROW_IPV6, SessionBatch } from '../src/flow/session-batch.js';
import { formatEndpoint, formatIpv6 } from '../src/decode/address.js';
import { writeSynFlood } from '../bench/synthetic-capture.js';
import { runReadOnlySql } from '../src/store/sql-query.js';
import { HOT_TABLE, HistoryCodes, SessionRowsScan, insertScannedRows } from '../src/store/session-chunk.js';
import { duckdbApi } from '../src/store/duckdb.js';
import { CORPUS, FIXTURES, ROOT } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'netlog-store-'));

/** Replays a fixture into a store and returns the records replay emitted. */
async function replayInto(db: string, capture: string, flushRows = 5): Promise<SessionRecord[]> {
  const store = await SessionStore.open(db, { flushRows });
  const records: SessionRecord[] = [];
  // The flow table's own path: batches, copied into the store column by column.
  await replay([join(FIXTURES, capture)], {
    onSessions: (b) => {
      records.push(...b.records());
      store.appendBatch(b);
    },
  });
  await store.close();
  expect(store.written).toBe(records.length);
  return records;
}

describe('session store (a real DuckDB file)', () => {
  it('holds every replayed session with every field as emitted', async () => {
    const db = join(tmp, 'fields.duckdb');
    const records = await replayInto(db, 'sessions-veth.pcap');
    const { rows } = await runReadOnlySql(
      db,
      `SELECT * EXCLUDE ("startedAt", "endedAt"), epoch_us("startedAt") AS "startedUs", epoch_us("endedAt") AS "endedUs"
       FROM sessions ORDER BY "sessionId"`,
    );
    const expected = [...records].sort((a, b) => (a.sessionId < b.sessionId ? -1 : 1));
    expect(rows.length).toBe(expected.length);
    rows.forEach((row, i) => {
      const r = expected[i]!;
      const { startedAt, endedAt, ...rest } = r;
      expect(row).toMatchObject(rest);
      expect(row.startedUs).toBe(Math.round(startedAt * 1e6));
      expect(row.endedUs).toBe(Math.round(endedAt! * 1e6));
    });
  });

  it('IPv6 endpoints are stored as numbers and read as RFC 5952 text; a file without those columns gains them, its rows kept', async () => {
    // A flow table row of the fixture's, as many rows with IPv6 words (zero runs, ties, small
    // groups), written as the flow table writes them: words, no text.
    const rows: SessionBatch[] = [];
    await replay([join(FIXTURES, 'tun-wireguard.pcap')], { onSessions: (b) => rows.push(b.copy()) });
    const template = rows[0]!;
    let seed = 11;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const word = () => [0, 0, 1, next() & 0xffff, (next() & 0xffff) * 65536, next()][next() % 6]!;
    const batches: SessionBatch[] = [];
    const expected = new Map<number, [string, string]>();
    for (let n = 0; n < 3; n++) {
      const b = new SessionBatch();
      while (!b.full) {
        const i = b.length;
        b.pushRows(template, 0, 1);
        b.rowKind[i] = ROW_IPV6;
        for (let w = 0; w < 4; w++) {
          b.sourceIp6[4 * i + w] = word();
          b.destIp6[4 * i + w] = word();
        }
        b.sourceText[i] = null;
        b.destText[i] = null;
        const id = n * b.capacity + i;
        b.sessionIdHi[i] = id;
        const text = (words: Uint32Array, port: number) => formatEndpoint(formatIpv6(words[4 * i]!, words[4 * i + 1]!, words[4 * i + 2]!, words[4 * i + 3]!), port);
        expected.set(id, [text(b.sourceIp6, b.sourcePort[i]!), text(b.destIp6, b.destPort[i]!)]);
      }
      batches.push(b);
    }
    const db = join(tmp, 'ipv6.duckdb');
    const store = await SessionStore.open(db);
    for (const b of batches) store.appendBatch(b);
    await store.close();
    const read = async () => (await runReadOnlySql(db, 'SELECT "sessionIdHi" AS id, "sourceText", s."sourceAddr", s."destAddr" FROM sessions_hot JOIN sessions s ON s."sessionId" = printf(\'%08x%08x\', "sessionIdHi", "sessionIdLo") ORDER BY id')).rows;
    const got = await read();
    expect(got.length).toBe(expected.size);
    for (const row of got) {
      expect(row.sourceText).toBeNull(); // no text stored
      expect([row.sourceAddr, row.destAddr], `session ${row.id}`).toEqual(expected.get(Number(row.id)));
    }
    expect(new Set(got.map((r) => r.sourceAddr)).size).toBeGreaterThan(1000);
    expect(got.some((r) => String(r.sourceAddr).includes('::'))).toBe(true);

    // The same file as netlog wrote it before these columns: they are dropped, and its IPv6
    // rows hold their text. Opened again, the store adds the columns; every row reads the same.
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(db);
    const c = await instance.connect();
    await c.run(`UPDATE sessions_hot SET "sourceText" = s."sourceAddr", "destText" = s."destAddr" FROM sessions s WHERE s."sessionId" = printf('%08x%08x', sessions_hot."sessionIdHi", sessions_hot."sessionIdLo")`);
    for (const col of ['sourceIp6Hi', 'sourceIp6Lo', 'destIp6Hi', 'destIp6Lo']) await c.run(`ALTER TABLE sessions_hot DROP COLUMN "${col}"`);
    c.closeSync();
    instance.closeSync();
    await (await SessionStore.open(db)).close();
    const again = await read();
    expect(again.map((r) => [r.id, r.sourceAddr, r.destAddr])).toEqual(got.map((r) => [r.id, r.sourceAddr, r.destAddr]));
  });

  it('appends: a second replay adds its sessions, batches of any size commit whole', async () => {
    const db = join(tmp, 'append.duckdb');
    const first = await replayInto(db, 'tun-wireguard.pcap', 1);
    const second = await replayInto(db, 'sessions-veth.pcap', 1000);
    const { rows } = await runReadOnlySql(db, 'SELECT count(*) AS n, sum("bytesTx" + "bytesRx") AS bytes FROM sessions');
    const bytes = [...first, ...second].reduce((a, s) => a + s.bytesTx + s.bytesRx, 0);
    expect(rows[0]).toEqual({ n: first.length + second.length, bytes });
  });

  it('a store of an earlier version (a sessions table of the record\'s columns) is migrated at open, every row and value kept', async () => {
    const db = join(tmp, 'earlier.duckdb');
    const records = await replayInto(db, 'sessions-veth.pcap');
    const read = async (file: string) =>
      (await runReadOnlySql(file, 'SELECT * FROM sessions_all ORDER BY "sessionId"')).rows;
    const expected = await read(db);
    expect(expected.length).toBe(records.length);
    // The same rows in the layout netlog wrote until 12-07: `sessions`, a table, text stored.
    const old = join(tmp, 'earlier-layout.duckdb');
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(old);
    const c = await instance.connect();
    await c.run(`ATTACH '${db}' AS src (READ_ONLY)`);
    await c.run(`CREATE TABLE sessions (
      "timestamp" BIGINT NOT NULL, "protocol" ENUM('tcp', 'udp') NOT NULL, "siteResourceId" INTEGER, "clientId" INTEGER,
      "userId" VARCHAR, "sourceAddr" VARCHAR NOT NULL, "destAddr" VARCHAR NOT NULL, "duration" DOUBLE,
      "bytesTx" BIGINT NOT NULL, "bytesRx" BIGINT NOT NULL, "startedAt" TIMESTAMP NOT NULL, "endedAt" TIMESTAMP,
      "packetsTx" BIGINT NOT NULL, "packetsRx" BIGINT NOT NULL, "missedBytesTx" BIGINT NOT NULL, "missedBytesRx" BIGINT NOT NULL,
      "state" ENUM('S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH') NOT NULL,
      "history" VARCHAR NOT NULL, "endReason" ENUM('fin', 'rst', 'idle', 'evicted', 'shutdown', 'capture-end'),
      "sessionId" VARCHAR NOT NULL, "orgId" VARCHAR, "siteId" INTEGER)`);
    await c.run('INSERT INTO sessions SELECT * FROM src.sessions');
    await c.run('DETACH src');
    c.closeSync();
    instance.closeSync();
    const store = await SessionStore.open(old);
    await store.close();
    expect(await read(old)).toEqual(expected);
    const layout = await runReadOnlySql(old, "SELECT table_name AS name, table_type AS type FROM information_schema.tables WHERE table_name LIKE 'sessions%' ORDER BY 1");
    expect(layout.rows).toEqual([
      { name: 'sessions', type: 'VIEW' },
      { name: 'sessions_all', type: 'VIEW' },
      { name: 'sessions_hot', type: 'BASE TABLE' },
    ]);
    // New sessions go in beside the migrated ones.
    const more = await replayInto(old, 'tun-wireguard.pcap');
    expect((await read(old)).length).toBe(records.length + more.length);
  });

  it('histories get codes from the list after they are looked up, and go as text past the last code', () => {
    const codes = new HistoryCodes();
    expect(codes.codeOf('ShADadFf')).toBe(0); // first seen: text this time, queued
    expect(codes.list()).toBe("['ShADadFf']::VARCHAR[]");
    expect(codes.codeOf('ShADadFf')).toBe(1);
    expect(codes.codeOf('S')).toBe(0);
    for (let i = 0; i < 2000; i++) codes.codeOf(`D${i}`); // hostile: more texts than codes
    expect(codes.list().split("', '").length).toBe(1024);
    expect(codes.codeOf('S')).toBe(2);
    expect(codes.codeOf('D1500')).toBe(0);
    expect(codes.list().split("', '").length).toBe(1024); // nothing more is queued
  });

  it('a write codes the histories of its own batches, the first write too', async () => {
    const batches: SessionBatch[] = [];
    await replay([join(FIXTURES, 'sessions-veth.pcap')], { onSessions: (b) => batches.push(b.copy()) });
    const histories = new Set(batches.flatMap((b) => b.history.slice(0, b.length)));
    expect(histories.size).toBeGreaterThan(3);
    const instance = await duckdbApi.DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    try {
      const scan = new SessionRowsScan(c);
      scan.load(batches);
      const sql = insertScannedRows(HOT_TABLE, scan);
      // Every history is in the write's list, so each row's crosses as a code.
      for (const h of histories) expect(sql).toContain(`'${h}'`);
      for (const h of histories) expect(scan.histories.codeOf(h)).toBeGreaterThan(0);
    } finally {
      c.closeSync();
      instance.closeSync();
    }
  });

  it('a running store writes histories by code: the second write of the same sessions reads back as the first', async () => {
    const db = join(tmp, 'codes.duckdb');
    const store = await SessionStore.open(db);
    const records: SessionRecord[] = [];
    for (let round = 0; round < 2; round++) {
      await replay([join(FIXTURES, 'sessions-veth.pcap')], {
        onSessions: (b) => {
          records.push(...b.records());
          store.appendBatch(b);
        },
      });
      await store.flush(); // the first write codes the histories; the second reuses the codes
    }
    await store.close();
    const { rows } = await runReadOnlySql(db, 'SELECT "sessionId", history FROM sessions ORDER BY "sessionId", history');
    const expected = records.map((r) => ({ sessionId: r.sessionId, history: r.history })).sort((a, b) => (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0));
    expect(new Set(records.map((r) => r.history)).size).toBeGreaterThan(3);
    expect(rows).toEqual(expected);
  });

  it('netlog sql is read-only, and bad SQL or a bad file is a coded error', async () => {
    const db = join(tmp, 'ro.duckdb');
    await replayInto(db, 'tun-wireguard.pcap');
    await expect(runReadOnlySql(db, 'DELETE FROM sessions')).rejects.toMatchObject({ code: 'ERR_QUERY_INVALID' });
    await expect(runReadOnlySql(db, 'SELEC 1')).rejects.toMatchObject({ code: 'ERR_QUERY_INVALID' });
    const notDb = join(tmp, 'not-a-db.duckdb');
    writeFileSync(notDb, 'this is not a database file, it is text\n'.repeat(200));
    await expect(SessionStore.open(notDb)).rejects.toMatchObject({ code: 'ERR_STORE_OPEN' });
    await expect(runReadOnlySql(join(tmp, 'missing', 'x.duckdb'), 'SELECT 1')).rejects.toMatchObject({ code: 'ERR_STORE_OPEN' });
    const { rows } = await runReadOnlySql(db, 'SELECT count(*) AS n FROM sessions');
    expect(rows[0]!.n).toBe(5);
  });
});

describe('retention on replay', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), ...args], { encoding: 'utf8' });

  it('retention days 0 records nothing and says so', () => {
    const db = join(tmp, 'disabled.duckdb');
    const r = cli('replay', join(FIXTURES, 'tun-wireguard.pcap'), '--db', db, '--retention-days', '0');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/network logging is disabled/);
    expect(r.stdout).toBe('');
    expect(existsSync(db)).toBe(false);
  });

  it('replaying old captures keeps them unless --prune is given', async () => {
    const db = join(tmp, 'old.duckdb');
    const old = join(CORPUS, 'zeek/tcp/reassembly.pcap'); // 2004-03-10
    // Keep everything since 2010, whenever the test runs: the 2004 trace is out, ours (2026) in.
    const days = String(Math.floor((Date.now() - Date.parse('2010-01-01')) / 86_400_000));
    expect(cli('replay', old, '--db', db, '--retention-days', days).status).toBe(0);
    const kept = (await runReadOnlySql(db, 'SELECT count(*) AS n FROM sessions_all')).rows[0]!.n as number;
    expect(kept).toBeGreaterThan(0);
    const r = cli('replay', join(FIXTURES, 'tun-wireguard.pcap'), '--db', db, '--retention-days', days, '--prune');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`pruned ${kept} sessions`));
    expect((await runReadOnlySql(db, 'SELECT count(*) AS n FROM sessions_all')).rows[0]!.n).toBe(5);
  });

  it('caughtUp(): a turn of the event loop while a write is in progress (either scan), so its chunks and its end are seen; nothing otherwise', async () => {
    const capture = join(tmp, 'caught-up.pcap');
    writeSynFlood(capture, 30_000, 5);
    const batches: SessionBatch[] = [];
    await replay([capture], { maxFlows: 1000, onSessions: (b) => batches.push(b.copy()) });
    for (const javascriptScan of [true, false]) {
      const store = await SessionStore.open(join(tmp, `caught-up-${javascriptScan}.duckdb`), { bulk: true, flushRows: 20_000, javascriptScan });
      expect(store.nativeScan).toBe(!javascriptScan);
      expect(store.caughtUp()).toBeUndefined(); // nothing written, nothing waiting
      for (const b of batches) store.appendBatch(b); // past flushRows: a write starts
      const flushed = store.flush();
      await new Promise((resolve) => setImmediate(resolve)); // the write starts when its turn in the store's queue comes
      // A replay's thread awaits this after each slot of packets: while a write runs, it is a
      // promise (one event-loop turn), in which the JavaScript scan's chunk requests are served
      // and either scan's write is seen to end.
      let turns = 0;
      for (let turn = store.caughtUp(); turn !== undefined; turn = store.caughtUp()) {
        expect(turn).toBeInstanceOf(Promise);
        await turn;
        turns++;
      }
      expect(turns).toBeGreaterThan(0);
      await flushed;
      expect(store.caughtUp()).toBeUndefined();
      await store.close();
      expect(store.written).toBe(batches.reduce((n, b) => n + b.length, 0));
    }
  });

  it('a bulk store (a replay\'s) commits whole row groups for size, everything within its interval, the rest at close', async () => {
    const total = 2 * ROW_GROUP_ROWS + 7_000;
    const capture = join(tmp, 'syn-flood.pcap');
    writeSynFlood(capture, total, 3); // a session per SYN through a table of 1,000 flows
    const batches: SessionBatch[] = [];
    await replay([capture], {
      maxFlows: 1000,
      onSessions: (b) => batches.push(b.copy()),
    });
    const db = join(tmp, 'bulk.duckdb');
    const commits: number[] = [];
    const store = await SessionStore.open(db, { bulk: true, flushRows: ROW_GROUP_ROWS, flushIntervalMs: 300, onCommit: (n) => commits.push(n) });
    // A few sessions arriving slowly: the interval's flush commits them, less than a group.
    let first = 0;
    let i = 0;
    for (; first < 10_000; i++) {
      store.appendBatch(batches[i]!);
      first += batches[i]!.length;
    }
    for (const deadline = Date.now() + 10_000; commits.length === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    expect(commits).toEqual([first]);
    // The rest at once: the flush for size takes one whole group, close() what is left.
    for (; i < batches.length; i++) store.appendBatch(batches[i]!);
    await store.close();
    expect(store.written).toBe(total);
    expect(commits).toEqual([first, ROW_GROUP_ROWS, total - first - ROW_GROUP_ROWS]);
    const { rows } = await runReadOnlySql(db, 'SELECT count(*) AS n FROM sessions');
    expect(rows[0]!.n).toBe(total);

    // The same sessions at once, as a fast replay gives them: whole groups, then the rest, and
    // no block of the file written, merged away at a checkpoint and let go (src/store/row-group.ts;
    // DuckDB on two threads and commits of 131,072 left 53 such blocks in a replay of 1.1M).
    const fast = join(tmp, 'bulk-fast.duckdb');
    const fastCommits: number[] = [];
    const again = await SessionStore.open(fast, { bulk: true, flushRows: ROW_GROUP_ROWS, onCommit: (n) => fastCommits.push(n) });
    for (const b of batches) again.appendBatch(b);
    await again.close();
    expect(fastCommits).toEqual([2 * ROW_GROUP_ROWS, 7_000]);
    const groups = await runReadOnlySql(fast, "SELECT row_group_id AS g, max(count) AS n FROM pragma_storage_info('sessions_hot') GROUP BY 1 ORDER BY 1");
    expect(groups.rows.map((g) => Number(g.n))).toEqual([ROW_GROUP_ROWS, ROW_GROUP_ROWS, 7_000]);
    const size = await runReadOnlySql(fast, 'SELECT free_blocks FROM pragma_database_size()');
    expect(Number(size.rows[0]!.free_blocks)).toBe(0);

    // A second replay into the same file: its groups go after the first's, whose last, partial
    // group is left as it is rather than merged with the new ones and all rewritten
    // (session-store.ts BULK_VACUUM_TASKS).
    const second = await SessionStore.open(fast, { bulk: true, flushRows: ROW_GROUP_ROWS });
    for (const b of batches) second.appendBatch(b);
    await second.close();
    const twice = await runReadOnlySql(fast, "SELECT row_group_id AS g, max(count) AS n FROM pragma_storage_info('sessions_hot') GROUP BY 1 ORDER BY 1");
    expect(twice.rows.map((g) => Number(g.n))).toEqual([ROW_GROUP_ROWS, ROW_GROUP_ROWS, 7_000, ROW_GROUP_ROWS, ROW_GROUP_ROWS, 7_000]);
    // (The checkpoint writes the table's metadata anew and lets the old block go; merged, the
    // first replay's data blocks went too: 18 free blocks of 53 when this was written.)
    const sizeTwice = await runReadOnlySql(fast, 'SELECT free_blocks FROM pragma_database_size()');
    expect(Number(sizeTwice.rows[0]!.free_blocks)).toBeLessThanOrEqual(1);
    expect((await runReadOnlySql(fast, 'SELECT count(*) AS n FROM sessions')).rows[0]!.n).toBe(2 * total);

    // Pruning from a bulk store (`replay --prune`): row groups whose sessions (from 2026-11-24)
    // are all deleted go at the close's checkpoint, merging or not.
    const pruning = await SessionStore.open(fast, { bulk: true, flushRows: ROW_GROUP_ROWS });
    const pruned = await pruning.prune(1, new Date('2026-12-24T00:00:00Z'));
    expect(pruned.tableSessions).toBe(2 * total);
    await pruning.close();
    const left = await runReadOnlySql(fast, "SELECT count(DISTINCT row_group_id) AS n FROM pragma_storage_info('sessions_hot')");
    expect(Number(left.rows[0]!.n)).toBe(0);
  });
});
