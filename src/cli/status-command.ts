import { readFile } from 'node:fs/promises';
import { NetlogError } from '../errors.js';
import { statusFileOf, type CaptureSnapshot } from './capture-metrics.js';

/** The daemon rewrites its status file every 5 s; older than this, it is not running. */
const STALE_S = 15;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const n = (x: number) => x.toLocaleString('en-US');
const list = (o: Record<string, number>) =>
  Object.entries(o)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${n(v)}`)
    .join(', ') || 'none';

/** The status file's figures as lines for a person. */
export function describeStatus(s: CaptureSnapshot, running: boolean, now: Date): string {
  const age = Math.round((now.getTime() - Date.parse(s.updatedAt)) / 1000);
  const state = running
    ? `running (pid ${s.pid}) since ${s.startedAt}, updated ${age} s ago`
    : s.stoppedAt
      ? `stopped at ${s.stoppedAt} (ran since ${s.startedAt})`
      : `not running: pid ${s.pid} last updated ${age} s ago (${s.updatedAt}) and did not stop cleanly`;
  const meanFlushMs = s.flushSeconds.count ? ((s.flushSeconds.sum / s.flushSeconds.count) * 1000).toFixed(1) : '-';
  return [
    `netlog capture on ${s.interface} into ${s.db}: ${state}`,
    `packets    ${n(s.packets)} read; libpcap received ${n(s.pcap.received)}, dropped ${n(s.pcap.dropped)} (kernel) and ${n(s.pcap.ifDropped)} (interface)`,
    `flows      ${n(s.flowsOpen)} open`,
    `sessions   ${n(s.sessionsWritten)} written; ended: ${list(s.ended)}; out of scope ${n(s.outOfScope)}`,
    `store      ${n(s.flushSeconds.count)} flushes, mean ${meanFlushMs} ms; ${n(s.store.writeFailures)} failed writes, ${n(s.store.buffered)} sessions buffered, ${n(s.store.dropped)} dropped${s.store.writeError ? `; now failing: ${s.store.writeError}` : ''}`,
    `skipped    ${list(s.skipped)}`,
    ...(s.sink ? [`clickhouse ${n(s.sink.shipped)} shipped, ${n(s.sink.failures)} failed attempts${s.sink.lastError ? `; now failing: ${s.sink.lastError}` : ''}`] : []),
  ].join('\n');
}

/**
 * `netlog status`: what the capture daemon writing `--db` reports (its status file, rewritten
 * every 5 s): packets, drops, flows, sessions. Exit status 0 while it runs, 3 when it does not.
 */
export async function statusCommand(opts: { db: string; json?: boolean }): Promise<void> {
  const file = statusFileOf(opts.db);
  let snapshot: CaptureSnapshot;
  try {
    snapshot = JSON.parse(await readFile(file, 'utf8')) as CaptureSnapshot;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `no status file: has \`netlog capture --db ${opts.db}\` run here?` : (e as Error).message;
    throw new NetlogError('ERR_CONFIG_INVALID', `cannot read the capture status: ${why}`, { file });
  }
  const now = new Date();
  const running = !snapshot.stoppedAt && alive(snapshot.pid) && now.getTime() - Date.parse(snapshot.updatedAt) < STALE_S * 1000;
  process.stdout.write(opts.json ? JSON.stringify({ running, ...snapshot }) + '\n' : describeStatus(snapshot, running, now) + '\n');
  if (!running) process.exitCode = 3;
}
