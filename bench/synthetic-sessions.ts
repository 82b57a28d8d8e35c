import type { SessionStore } from '../src/store/session-store.js';

/**
 * N synthetic sessions over 10 days from 2026-11-10, made inside DuckDB (the replay path has its
 * own bench): they vary client, resource, ports, sizes and times the way tunnel sessions do.
 */
export async function insertSyntheticSessions(store: SessionStore, n: number): Promise<void> {
  const base = Math.floor(Date.parse('2026-11-10T00:00:00Z') / 1000);
  // The hot table's columns: IPv4 endpoints and the session id as numbers, as the store writes them.
  await store.sql(`INSERT INTO sessions_hot SELECT
      ${base} + i * 864000 // ${n} AS "timestamp",
      CASE WHEN i % 7 = 0 THEN 'udp' ELSE 'tcp' END,
      (i % 500)::INTEGER, (i % 20000)::INTEGER, 'user-' || (i % 5000),
      (100 << 24) + (90 << 16) + ((i // 256 % 128 + 128) << 8) + i % 256, 32768 + i % 28000, NULL,
      (10 << 24) + (1 << 16) + ((i % 16) << 8) + i % 200, CASE WHEN i % 7 = 0 THEN 53 ELSE 443 END, NULL,
      (i % 1000) / 10.0, i % 5000, (i * 7) % 200000,
      make_timestamp((${base} + i * 864000 // ${n})::BIGINT * 1000000 + i % 1000000),
      make_timestamp((${base} + i * 864000 // ${n})::BIGINT * 1000000 + i % 1000000 + 5000000),
      i % 50 + 1, i % 70 + 1, 0, 0,
      CASE WHEN i % 7 = 0 THEN 'SF' ELSE 'SF' END, 'ShADadFf',
      CASE WHEN i % 7 = 0 THEN 'idle' ELSE 'fin' END,
      hash(i) >> 32, hash(i) & 4294967295, NULL, 'org-1', 1,
      NULL, NULL, NULL, NULL -- no IPv6 endpoints
    FROM range(${n}) t(i)`);
}
