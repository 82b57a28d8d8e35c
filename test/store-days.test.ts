import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../src/flow/session-record.js';
import { replay } from '../src/replay/replay.js';
import { SessionStore } from '../src/store/session-store.js';
import { parseSessionFilter } from '../src/store/session-filter.js';
import { querySessions } from '../src/store/session-query.js';
import { runReadOnlySql } from '../src/store/sql-query.js';
import { CORPUS, FIXTURES } from './helpers.js';

// Sessions on three UTC days: 2004-03-10, 2009-01-15 (Zeek traces) and 2026-11-24 (ours).
const CAPTURES = [join(CORPUS, 'zeek/tcp/reassembly.pcap'), join(CORPUS, 'zeek/tcp/rst-inject-rae.pcap'), join(FIXTURES, 'tun-wireguard.pcap')];

async function filledStore(name: string): Promise<{ db: string; dataDir: string; records: SessionRecord[] }> {
  const dir = mkdtempSync(join(tmpdir(), `netlog-${name}-`));
  const db = join(dir, 'netlog.duckdb');
  const store = await SessionStore.open(db);
  const records: SessionRecord[] = [];
  for (const capture of CAPTURES) {
    await replay([capture], { onSession: (r) => (records.push(r), store.append(r)) });
  }
  await store.close();
  return { db, dataDir: dir, records };
}

/** sessionId -> bytes of every session the view shows, and how often each id appears. */
async function everySession(db: string): Promise<{ ids: string[]; bytes: number; hot: number }> {
  const { rows } = await runReadOnlySql(db, 'SELECT "sessionId", "bytesTx" + "bytesRx" AS b FROM sessions_all ORDER BY 1');
  const hot = (await runReadOnlySql(db, 'SELECT count(*) AS n FROM sessions')).rows[0]!.n as number;
  return { ids: rows.map((r) => r.sessionId as string), bytes: rows.reduce((a, r) => a + (r.b as number), 0), hot };
}

const expectedIds = (records: SessionRecord[]) => records.map((r) => r.sessionId).sort();
const expectedBytes = (records: SessionRecord[]) => records.reduce((a, r) => a + r.bytesTx + r.bytesRx, 0);

describe('day partitions in Parquet', () => {
  it('compact moves closed days to zstd Parquet; sessions_all still shows every session once', async () => {
    const { db, dataDir, records } = await filledStore('compact');
    const store = await SessionStore.open(db);
    const parts = await store.compact('2026-11-24');
    await store.close();
    expect(parts.map((p) => p.day)).toEqual(['2004-03-10', '2009-01-15']);
    expect(existsSync(join(dataDir, 'sessions/date=2004-03-10/part-0.parquet'))).toBe(true);
    const all = await everySession(db);
    expect(all.ids).toEqual(expectedIds(records));
    expect(all.bytes).toBe(expectedBytes(records));
    expect(all.hot).toBe(records.filter((r) => r.timestamp >= Date.parse('2026-11-24') / 1000).length);
    const meta = await runReadOnlySql(db, `SELECT DISTINCT compression FROM parquet_metadata('${parts[0]!.file}')`);
    expect(meta.rows.map((r) => r.compression)).toEqual(['ZSTD']);
    // Filtered queries read both places: newest first across the hot table and the Parquet days.
    const tcp = records.filter((r) => r.protocol === 'tcp').sort((a, b) => b.startedAt - a.startedAt);
    const page = await querySessions(db, parseSessionFilter({ protocol: 'tcp', limit: '1000' }));
    expect(page.total).toBe(tcp.length);
    expect(page.sessions.map((r) => r.sessionId)).toEqual(tcp.map((r) => r.sessionId));
    expect(page.sessions.find((r) => r.sessionId === tcp.at(-1)!.sessionId)).toEqual(tcp.at(-1)); // from Parquet, whole
  });

  for (const crashAt of ['after-copy', 'after-commit'] as const) {
    it(`a crash ${crashAt.replace('-', ' ')} leaves every session in exactly one place once the store reopens`, async () => {
      const { db, records } = await filledStore(crashAt);
      const store = await SessionStore.open(db);
      await expect(store.compact('2026-11-24', crashAt)).rejects.toThrow(/simulated crash/);
      await store.close();
      await (await SessionStore.open(db)).close(); // recovery runs at open
      const all = await everySession(db);
      expect(all.ids).toEqual(expectedIds(records));
      expect(all.bytes).toBe(expectedBytes(records));
      // And compacting again afterwards completes the job without duplicates.
      const again = await SessionStore.open(db);
      await again.compact('2026-11-24');
      await again.close();
      expect((await everySession(db)).ids).toEqual(expectedIds(records));
    });
  }
});

describe('retention', () => {
  it('prunes table rows to the second and Parquet days once wholly past the cutoff', async () => {
    const { db, dataDir, records } = await filledStore('prune');
    const ours = records.filter((s) => s.timestamp >= Date.parse('2026-11-24') / 1000);
    let store = await SessionStore.open(db);
    await store.compact('2026-11-24');
    // 2026-11-30 with 30 days kept: the cutoff is 2026-10-31; both old days go, ours stays.
    const r = await store.prune(30, new Date('2026-11-30T00:00:00Z'));
    await store.close();
    expect([r.parts, r.tableSessions]).toEqual([2, 0]);
    expect((await everySession(db)).ids).toEqual(expectedIds(ours));
    expect(readdirSync(join(dataDir, 'sessions'))).toEqual([]);
    // A year later the hot rows go too.
    store = await SessionStore.open(db);
    const later = await store.prune(30, new Date('2027-12-01T00:00:00Z'));
    await expect(store.prune(0)).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID' });
    await store.close();
    expect(later.tableSessions).toBe(ours.length);
    expect((await everySession(db)).ids).toEqual([]);
  });
});
