import { NetlogError } from '../errors.js';
import { SessionStore } from '../store/session-store.js';

/** `netlog prune --retention-days N`: retention against the wall clock (or --now). */
export async function pruneCommand(opts: { db: string; dataDir?: string; retentionDays: string; now?: string }): Promise<void> {
  const days = Number(opts.retentionDays);
  if (opts.retentionDays.trim() === '' || !Number.isInteger(days) || days < 0) {
    throw new NetlogError('ERR_CONFIG_INVALID', `--retention-days must be a whole number >= 0, not "${opts.retentionDays}"`);
  }
  if (days === 0) {
    // Pangolin's meaning of 0: network logging is disabled, not "delete everything".
    process.stderr.write('netlog: retention 0 means network logging is disabled; nothing to prune\n');
    return;
  }
  const now = opts.now === undefined ? new Date() : new Date(opts.now);
  if (Number.isNaN(now.getTime())) throw new NetlogError('ERR_CONFIG_INVALID', `--now must be an ISO 8601 time, not "${opts.now}"`);
  const store = await SessionStore.open(opts.db, { dataDir: opts.dataDir });
  try {
    const r = await store.prune(days, now);
    process.stderr.write(
      `netlog: pruned sessions that started before ${r.cutoff.toISOString()}: ${r.tableSessions} from the table, ` +
        `${r.parts} Parquet parts (${r.partSessions} sessions)\n`,
    );
  } finally {
    await store.close();
  }
}
