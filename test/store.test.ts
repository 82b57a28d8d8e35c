import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../src/flow/session-record.js';
import { replay } from '../src/replay/replay.js';
import { SessionStore } from '../src/store/session-store.js';
import { runReadOnlySql } from '../src/store/sql-query.js';
import { FIXTURES } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'netlog-store-'));

/** Replays a fixture into a store and returns the records replay emitted. */
async function replayInto(db: string, capture: string, flushRows = 5): Promise<SessionRecord[]> {
  const store = await SessionStore.open(db, { flushRows });
  const records: SessionRecord[] = [];
  await replay([join(FIXTURES, capture)], {
    onSession: (r) => {
      records.push(r);
      store.append(r);
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

  it('appends: a second replay adds its sessions, batches of any size commit whole', async () => {
    const db = join(tmp, 'append.duckdb');
    const first = await replayInto(db, 'tun-wireguard.pcap', 1);
    const second = await replayInto(db, 'sessions-veth.pcap', 1000);
    const { rows } = await runReadOnlySql(db, 'SELECT count(*) AS n, sum("bytesTx" + "bytesRx") AS bytes FROM sessions');
    const bytes = [...first, ...second].reduce((a, s) => a + s.bytesTx + s.bytesRx, 0);
    expect(rows[0]).toEqual({ n: first.length + second.length, bytes });
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
