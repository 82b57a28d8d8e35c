import type { SessionStore } from '../src/store/session-store.js';

/**
 * N synthetic sessions over 10 days from 2026-11-10, made inside DuckDB (the replay path has its
 * own bench): they vary client, resource, ports, sizes and times the way tunnel sessions do.
 */
export async function insertSyntheticSessions(store: SessionStore, n: number): Promise<void> {
  const base = Math.floor(Date.parse('2026-11-10T00:00:00Z') / 1000);
  await store.sql(`INSERT INTO sessions SELECT
      ${base} + i * 864000 // ${n} AS "timestamp",
      CASE WHEN i % 7 = 0 THEN 'udp' ELSE 'tcp' END,
      (i % 500)::INTEGER, (i % 20000)::INTEGER, 'user-' || (i % 5000),
      '100.90.' || (i // 256 % 128 + 128) || '.' || (i % 256) || ':' || (32768 + i % 28000),
      '10.1.' || (i % 16) || '.' || (i % 200) || ':' || (CASE WHEN i % 7 = 0 THEN 53 ELSE 443 END),
      (i % 1000) / 10.0, i % 5000, (i * 7) % 200000,
      make_timestamp((${base} + i * 864000 // ${n})::BIGINT * 1000000 + i % 1000000),
      make_timestamp((${base} + i * 864000 // ${n})::BIGINT * 1000000 + i % 1000000 + 5000000),
      i % 50 + 1, i % 70 + 1, 0, 0,
      CASE WHEN i % 7 = 0 THEN 'SF' ELSE 'SF' END, 'ShADadFf',
      CASE WHEN i % 7 = 0 THEN 'idle' ELSE 'fin' END,
      printf('%016x', hash(i)), 'org-1', 1
    FROM range(${n}) t(i)`);
}
