import { NetlogError } from '../errors.js';
import { SessionStore } from '../store/session-store.js';

/** `netlog compact`: closed days (before today, UTC, unless --before) to Parquet. */
export async function compactCommand(opts: { db: string; dataDir?: string; before?: string }): Promise<void> {
  const before = opts.before ?? new Date().toISOString().slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(before) || Number.isNaN(Date.parse(before))) {
    throw new NetlogError('ERR_CONFIG_INVALID', `--before must be a date YYYY-MM-DD, not "${before}"`);
  }
  const store = await SessionStore.open(opts.db, { dataDir: opts.dataDir });
  try {
    const parts = await store.compact(before);
    for (const p of parts) process.stderr.write(`netlog: ${p.day}: ${p.sessions} sessions -> ${p.file}\n`);
    if (parts.length === 0) process.stderr.write(`netlog: no sessions before ${before} in the table\n`);
  } finally {
    await store.close();
  }
}
