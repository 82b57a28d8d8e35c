import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticCapture } from '../bench/synthetic-capture.js';
import type { SessionRecord } from '../src/flow/session-record.js';
import { replay } from '../src/replay/replay.js';
import { SessionStore } from '../src/store/session-store.js';
import { runReadOnlySql } from '../src/store/sql-query.js';
import { ROOT } from './helpers.js';

/**
 * The store when the disk is full or the database's directory turns read-only, on a small
 * tmpfs the test mounts (root only): appends never throw, sessions wait in memory (bounded,
 * with drops counted beyond the bound), writing resumes by itself when space returns, and
 * nothing within the bound is lost.
 */
const root = process.getuid?.() === 0;
if (!root) console.log('disk-full tests skipped: not root (they mount a tmpfs)');

const base = mkdtempSync(join(tmpdir(), 'netlog-disk-'));
const mnt = join(base, 'mnt');
const sessions: SessionRecord[] = []; // ~42,000 from the synthetic capture

async function until(what: string, pred: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Fills the filesystem up to `leaveBytes` free with one file. */
function fill(leaveBytes: number): string {
  const filler = join(mnt, 'filler');
  const free = Number(execFileSync('df', ['--output=avail', '-B1', mnt], { encoding: 'utf8' }).trim().split('\n')[1]);
  writeFileSync(filler, Buffer.alloc(Math.max(0, free - leaveBytes)));
  return filler;
}

describe.skipIf(!root)('store on a full or read-only disk', () => {
  beforeAll(async () => {
    const capture = join(base, 'sessions.pcap');
    writeSyntheticCapture(capture, 400_000, 11);
    await replay([capture], { onSession: (r) => sessions.push(r) });
    mkdirSync(mnt);
  }, 60_000);
  afterAll(() => {
    spawnSync('umount', ['-l', mnt]);
    rmSync(base, { recursive: true, force: true });
  });

  /** Runs `work` on a fresh 32 MiB tmpfs at `mnt`. */
  async function onTmpfs(work: () => Promise<void>): Promise<void> {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', mnt]);
    try {
      await work();
    } finally {
      spawnSync('umount', ['-l', mnt]); // lazy: a store a failed test left open must not hide its error
    }
  }

  it('disk full: appends go on, sessions wait in memory, and all of them are written once space returns', async () => {
    await onTmpfs(async () => {
      const states: Array<{ failing: boolean; error?: string }> = [];
      const store = await SessionStore.open(join(mnt, 'full.duckdb'), { flushRows: 5000, onWriteState: (s) => states.push(s) });
      const filler = fill(256 * 1024);
      let appended = 0;
      for (const r of sessions) {
        store.append(r);
        appended++;
        if (appended % 5000 === 0) await new Promise((r) => setTimeout(r, 20));
      }
      await until('a failed write', () => store.writeError !== null);
      expect(store.writeError).toMatch(/No space left on device/);
      expect(states[0]).toMatchObject({ failing: true });
      expect(store.written + store.buffered).toBe(appended);
      expect(store.dropped).toBe(0);
      rmSync(filler);
      await until('the buffer written', () => store.buffered === 0 && store.writeError === null);
      expect(states.at(-1)).toMatchObject({ failing: false });
      await store.close();
      const { rows } = await runReadOnlySql(join(mnt, 'full.duckdb'), 'SELECT count(*) AS n, count(DISTINCT "sessionId") AS ids FROM sessions');
      expect(rows[0]).toEqual({ n: appended, ids: appended });
    });
  }, 60_000);

  it('past the memory bound, sessions are counted as dropped, and the rest are kept', async () => {
    expect(sessions.length).toBeGreaterThan(40_000);
    await onTmpfs(async () => {
      const store = await SessionStore.open(join(mnt, 'bound.duckdb'), { flushRows: 5000, maxBuffered: 20_000 });
      const filler = fill(128 * 1024);
      for (const [i, r] of sessions.entries()) {
        store.append(r);
        if (i % 5000 === 4999) await new Promise((r) => setTimeout(r, 20)); // let the flushes run
      }
      await until('a failed write', () => store.writeError !== null);
      await until('the flushes settled', () => store.written + store.buffered + store.dropped === sessions.length);
      expect(store.buffered).toBeLessThanOrEqual(20_000);
      expect(store.dropped).toBeGreaterThan(0);
      rmSync(filler);
      await until('the buffer written', () => store.buffered === 0 && store.writeError === null);
      await store.close();
      const { rows } = await runReadOnlySql(join(mnt, 'bound.duckdb'), 'SELECT count(*) AS n FROM sessions');
      expect(rows[0]!.n).toBe(sessions.length - store.dropped);
    });
  }, 60_000);

  it('the memory bound counts a write in flight: when it fails and its sessions come back, no more than the bound are held', async () => {
    await onTmpfs(async () => {
      const store = await SessionStore.open(join(mnt, 'inflight.duckdb'), { flushRows: 5000, maxBuffered: 20_000 });
      const filler = fill(64 * 1024);
      for (const r of sessions.slice(0, 5000)) store.append(r); // a flush of 5,000 starts
      // Microtasks only: the flush takes its sessions and starts DuckDB's write, which cannot
      // finish before the event loop turns.
      const inFlight = () => (store as unknown as { writingRows: number }).writingRows > 0;
      for (let i = 0; i < 1000 && !inFlight(); i++) await Promise.resolve();
      expect(inFlight()).toBe(true);
      for (const r of sessions.slice(5000, 25_000)) store.append(r);
      expect(store.buffered).toBe(20_000);
      expect(store.dropped).toBe(5000);
      await until('a failed write', () => store.writeError !== null);
      expect(store.buffered).toBe(20_000); // the 5,000 of the failed write back in the buffer
      rmSync(filler);
      await until('the buffer written', () => store.buffered === 0 && store.writeError === null);
      await store.close();
      const { rows } = await runReadOnlySql(join(mnt, 'inflight.duckdb'), 'SELECT count(*) AS n FROM sessions');
      expect(rows[0]!.n).toBe(20_000);
    });
  }, 60_000);

  it('a read-only directory: netlog replay --db stops at once with a clear error', async () => {
    // (A directory that turns read-only under a running store cannot be made here: a tmpfs
    // with a file open for writing refuses `remount,ro`. Its writes fail like a full disk's.)
    await onTmpfs(async () => {
      execFileSync('mount', ['-o', 'remount,ro', mnt]);
      const r = spawnSync(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'replay', join(base, 'sessions.pcap'), '--db', join(mnt, 'new.duckdb')], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/ERR_STORE_OPEN: .*new\.duckdb: cannot open the session store: .*Read-only file system/);
    });
  }, 60_000);

  it('netlog replay on a full disk says how many sessions it could not write', async () => {
    await onTmpfs(async () => {
      const db = join(mnt, 'replay.duckdb');
      execFileSync(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'replay', '-q', join(base, 'sessions.pcap'), '--db', db]);
      fill(64 * 1024);
      const r = spawnSync(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'replay', '-q', join(base, 'sessions.pcap'), '--db', db], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/ERR_STORE_WRITE: .*replay\.duckdb: \d+ sessions could not be written before closing: .*No space left on device/);
    });
  }, 60_000);
});
