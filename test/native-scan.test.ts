import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SessionBatch } from '../src/flow/session-batch.js';
import type { SessionRecord } from '../src/flow/session-record.js';
import { IdentityMap } from '../src/identity/identity-map.js';
import { IdentityRegistry } from '../src/identity/identity-registry.js';
import { loadOrgMap } from '../src/identity/org-map.js';
import { replay } from '../src/replay/replay.js';
import { duckdbApi } from '../src/store/duckdb.js';
import { NativeRowsScan, nativeScanLoaded, nativeScanProblem } from '../src/store/native-scan.js';
import { CREATE_HOT_TABLE, HOT_TABLE, SESSIONS_VIEW, SessionRowsScan } from '../src/store/session-chunk.js';
import { SessionStore } from '../src/store/session-store.js';
import { loadAddon } from '../src/native-addon.js';
import { CORPUS, FIXTURES, capturesUnder } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'netlog-native-scan-'));

/** Sessions that exist only as records: text endpoints, an open one, unicode ids, no ids. */
const RECORDS: SessionRecord[] = [
  {
    timestamp: 1700000000, protocol: 'tcp', siteResourceId: 7, clientId: 3, userId: 'José ☃ <u1>', sourceAddr: '[fe80::1]:51000', destAddr: '10.0.0.5:443',
    duration: 1.5, bytesTx: 1200, bytesRx: 98000, startedAt: 1700000000.25, endedAt: 1700000001.75, packetsTx: 10, packetsRx: 70,
    missedBytesTx: 0, missedBytesRx: 1448, state: 'SF', history: 'ShADadFf', endReason: 'fin', sessionId: 'record-1', orgId: "org 'quoted'", siteId: 2,
  },
  {
    timestamp: 1700000100, protocol: 'udp', siteResourceId: null, clientId: null, userId: null, sourceAddr: '100.90.1.2:5353', destAddr: '100.90.1.3:53',
    duration: null, bytesTx: 80, bytesRx: 0, startedAt: 1700000100, endedAt: null, packetsTx: 1, packetsRx: 0,
    missedBytesTx: 0, missedBytesRx: 0, state: 'S0', history: '', endReason: null, sessionId: 'record-2', orgId: null, siteId: null,
  },
];

async function flowBatches(capture: string, orgMap?: string): Promise<SessionBatch[]> {
  const identifier = orgMap ? new IdentityRegistry(new IdentityMap(await loadOrgMap(join(FIXTURES, 'org-maps', orgMap)), 'all')) : undefined;
  const batches: SessionBatch[] = [];
  await replay([join(FIXTURES, capture)], { identifier, onSessions: (b) => batches.push(b.copy()) });
  return batches;
}

describe('the native scan (native/netlog_store.cc)', () => {
  it('is built, and the store writes through it', async () => {
    expect(nativeScanLoaded()).toBe(true);
    const store = await SessionStore.open(join(tmp, 'native.duckdb'));
    expect(store.nativeScan).toBe(true);
    expect(nativeScanProblem).toBeNull();
    await store.close();
  });

  it('writes exactly the rows the JavaScript scan writes: flow rows over IPv4 and IPv6, identity from an org map, records of text', async () => {
    const records = new SessionBatch();
    for (const r of RECORDS) records.pushRecord(r);
    const batches = [
      ...(await flowBatches('sessions-veth.pcap', 'veth.json')),
      ...(await flowBatches('tun-wireguard.pcap')),
      ...(await flowBatches('tun-wireguard.pcap', 'site.json')),
      records,
    ];
    const instance = await duckdbApi.DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    try {
      await c.run(CREATE_HOT_TABLE);
      await c.run(SESSIONS_VIEW);
      await c.run(`CREATE TABLE by_js AS FROM ${HOT_TABLE} LIMIT 0`);
      const js = new SessionRowsScan(c);
      js.load(batches);
      await c.run(js.insertRows('by_js'));
      js.clear();
      const native = NativeRowsScan.on(c)!;
      native.load(batches);
      expect(native.loaded).toBe(batches.length);
      await c.run(native.insertRows(HOT_TABLE));
      native.clear();
      const one = async (sql: string) => (await c.runAndReadAll(sql)).getRows()[0]![0];
      const rows = batches.reduce((n, b) => n + b.length, 0);
      expect(await one(`SELECT count(*) FROM ${HOT_TABLE}`)).toBe(BigInt(rows));
      expect(await one(`SELECT count(*) FROM (FROM ${HOT_TABLE} EXCEPT ALL FROM by_js)`)).toBe(0n);
      expect(await one(`SELECT count(*) FROM (FROM by_js EXCEPT ALL FROM ${HOT_TABLE})`)).toBe(0n);
      // What the comparison covers: identity text, IPv6 words, text endpoints, an open session.
      expect(await one(`SELECT count(*) FROM ${HOT_TABLE} WHERE "userId" IS NOT NULL AND "sourceText" IS NULL`)).toBeGreaterThan(0n);
      expect(await one(`SELECT count(*) FROM ${HOT_TABLE} WHERE "sourceIp6Hi" IS NOT NULL`)).toBeGreaterThan(0n);
      const read = await c.runAndReadAll(
        `SELECT "userId", "sourceAddr", "destAddr", "duration", "endedAt" IS NULL AS open, "history", "endReason", "sessionId", "orgId", "clientId"
         FROM sessions WHERE "sessionId" LIKE 'record-%' ORDER BY "sessionId"`,
      );
      expect(read.getRowObjectsJson()).toEqual([
        { userId: 'José ☃ <u1>', sourceAddr: '[fe80::1]:51000', destAddr: '10.0.0.5:443', duration: 1.5, open: false, history: 'ShADadFf', endReason: 'fin', sessionId: 'record-1', orgId: "org 'quoted'", clientId: 3 },
        { userId: null, sourceAddr: '100.90.1.2:5353', destAddr: '100.90.1.3:53', duration: null, open: true, history: '', endReason: null, sessionId: 'record-2', orgId: null, clientId: null },
      ]);
    } finally {
      c.closeSync();
      instance.closeSync();
    }
  });

  it('every capture of the shared corpus: the stores of the two scans hold the same rows', async () => {
    const files = capturesUnder(CORPUS);
    expect(files.length).toBeGreaterThan(1500);
    const native = await SessionStore.open(join(tmp, 'corpus-native.duckdb'), { bulk: true });
    const js = await SessionStore.open(join(tmp, 'corpus-js.duckdb'), { bulk: true, javascriptScan: true });
    let sessions = 0;
    for (const file of files) {
      await replay([file], {
        onSessions: (b) => {
          sessions += b.length;
          native.appendBatch(b);
          js.appendBatch(b);
        },
      });
    }
    await native.close();
    await js.close();
    expect(sessions).toBeGreaterThan(3000);
    expect([native.written, js.written, native.writeFailures, js.writeFailures]).toEqual([sessions, sessions, 0, 0]);
    const instance = await duckdbApi.DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    try {
      await c.run(`ATTACH '${join(tmp, 'corpus-native.duckdb')}' AS n (READ_ONLY); ATTACH '${join(tmp, 'corpus-js.duckdb')}' AS j (READ_ONLY)`);
      const one = async (sql: string) => (await c.runAndReadAll(sql)).getRows()[0]![0];
      expect(await one('SELECT count(*) FROM (FROM n.sessions_hot EXCEPT ALL FROM j.sessions_hot)')).toBe(0n);
      expect(await one('SELECT count(*) FROM (FROM j.sessions_hot EXCEPT ALL FROM n.sessions_hot)')).toBe(0n);
    } finally {
      c.closeSync();
      instance.closeSync();
    }
  }, 60_000);

  it('refuses a load that would have DuckDB read past an array, and the scan stays usable', async () => {
    const addon = loadAddon<{ load: (...args: unknown[]) => void }>('netlog_store')!;
    const instance = await duckdbApi.DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    try {
      await c.run(CREATE_HOT_TABLE);
      const scan = NativeRowsScan.on(c)!;
      const handle = (scan as unknown as { handle: object }).handle;
      const batch = new SessionBatch();
      batch.pushRecord(RECORDS[0]!);
      scan.load([batch]);
      const layout = (scan as unknown as { layoutOf: (b: SessionBatch) => Int32Array }).layoutOf(batch);
      const load = (numeric: Uint8Array, texts: Int32Array | null, slotCount: number) => () =>
        addon.load(handle, [numeric], [layout], Int32Array.of(batch.capacity, 1), [texts], new Uint8Array(8), Int32Array.of(0, 8), slotCount);
      expect(load(new Uint8Array(64), null, 0)).toThrow(/column lies outside its buffer/);
      expect(load(batch.numeric, new Int32Array(6 * batch.capacity).fill(3), 1)).toThrow(/text slot is not in the slot table/);
      expect(load(batch.numeric, null, 2)).toThrow(/more slots than the slot table holds/);
      expect(() => addon.load(handle, [batch.numeric], [layout], Int32Array.of(batch.capacity, 1), [null], new Uint8Array(4), Int32Array.of(0, 8), 1)).toThrow(/outside the arena/);
      // The refused loads left the scan as it was: the good load still writes its row.
      await c.run(scan.insertRows(HOT_TABLE));
      expect((await c.runAndReadAll(`SELECT count(*) FROM ${HOT_TABLE}`)).getRows()[0]![0]).toBe(1n);
    } finally {
      c.closeSync();
      instance.closeSync();
    }
  });

  it('a session it cannot store fails the write with a message; the store keeps the sessions for its retry', async () => {
    const store = await SessionStore.open(join(tmp, 'refused.duckdb'));
    store.append(RECORDS[0]!);
    store.append({ ...RECORDS[1]!, bytesTx: Number.NaN });
    await expect(store.flush()).rejects.toMatchObject({ code: 'ERR_STORE_WRITE', message: expect.stringMatching(/writing 2 sessions failed: .*not whole numbers/) });
    expect(store.written).toBe(0);
    expect(store.buffered).toBe(2);
    await expect(store.close()).rejects.toMatchObject({ code: 'ERR_STORE_WRITE' });
  });
});
