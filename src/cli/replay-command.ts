import { NetlogError } from '../errors.js';
import type { SinkShipper } from '../sinks/sink-shipper.js';
import type { ClickHouseCommandOptions } from './clickhouse-options.js';
import { describeIdentity, openIdentity } from './identity-options.js';
import { replay } from '../replay/replay.js';
import type { SessionStore } from '../store/session-store.js';
import { ROW_GROUP_ROWS } from '../store/row-group.js';
import { SessionBatch } from '../flow/session-batch.js';
import { SESSION_FORMATS, SessionWriter, type SessionFormat } from './session-writer.js';

export interface ReplayCommandOptions extends Partial<ClickHouseCommandOptions> {
  format: string;
  maxFlows: string;
  tcpEstablishedTimeout: string;
  tcpTransientTimeout: string;
  udpTimeout: string;
  linger: string;
  db?: string;
  retentionDays?: string;
  prune?: boolean;
  orgMap?: string;
  scope: string;
  /** Set by the CLI when --format was given explicitly. */
  formatGiven?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  clickhouseDrainTimeout?: string;
  /** Decode and track on one thread (by default a worker thread decodes). */
  singleThread?: boolean;
  /** The worker decodes in TypeScript only, not with the C++ fast path. */
  tsDecode?: boolean;
  /** The flow table takes every packet in TypeScript, not with the C++ fast path. */
  tsFlow?: boolean;
}

export function number(name: string, text: string, integer = false): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    throw new NetlogError('ERR_CONFIG_INVALID', `--${name} must be ${integer ? 'a whole number' : 'a number'} >= 0, not "${text}"`);
  }
  return v;
}

/** Thrown through the replay to stop it when stdout's reader has gone. */
class OutputClosed extends Error {}

/** `netlog replay FILE...`: sessions on stdout, a summary on stderr. */
export async function replayCommand(files: string[], opts: ReplayCommandOptions): Promise<void> {
  if (!SESSION_FORMATS.includes(opts.format as SessionFormat)) {
    throw new NetlogError('ERR_CONFIG_INVALID', `--format must be one of ${SESSION_FORMATS.join(', ')}, not "${opts.format}"`);
  }
  const { maxFlows, timeouts } = parseFlowOptions(opts);
  const setup = await openIdentity(opts);
  const identity = setup.registry;
  const described = describeIdentity(setup, opts.scope);
  if (described && !opts.quiet) process.stderr.write(`netlog: ${described}\n`);
  // --retention-days overrides the org map's retentionDays.
  const retentionDays =
    opts.retentionDays !== undefined ? number('retention-days', opts.retentionDays, true) : identity?.map.retentionDays;
  if (retentionDays === 0) {
    // Pangolin's retentionDays 0: network logging is disabled for the org.
    process.stderr.write('netlog: network logging is disabled (retention days 0): no sessions are recorded\n');
    return;
  }
  if (opts.prune && (retentionDays === undefined || !opts.db)) {
    throw new NetlogError('ERR_CONFIG_INVALID', '--prune needs --db and --retention-days N (N >= 1)');
  }
  // DuckDB and the ClickHouse client load only when asked for (main.ts says why).
  const clickhouse = opts.clickhouseUrl ? await import('./clickhouse-options.js') : null;
  const sink = clickhouse?.clickhouseSink(opts) ?? null;
  const drainTimeoutMs = number('clickhouse-drain-timeout', opts.clickhouseDrainTimeout ?? '60') * 1000;
  if (sink && !opts.db) throw new NetlogError('ERR_CONFIG_INVALID', '--clickhouse-url needs --db: sessions reach ClickHouse through the store\'s outbox');
  const writer = new SessionWriter(process.stdout, opts.format as SessionFormat);
  // With --db the sessions go to the store; stdout gets them only if --format was given too.
  let shipper: SinkShipper | null = null;
  const opening = opts.db ? openStore(opts.db, opts.verbose === true, sink !== null, () => shipper) : null;
  // With a sink the shipper starts before the replay; otherwise the store opens while the
  // replay starts (loading and opening DuckDB takes ~0.1 s, the decoding thread starts
  // meanwhile), and the sessions that end first wait in `early`.
  let store: SessionStore | null = opening && sink ? await opening : null;
  if (store && clickhouse) shipper = await clickhouse.startShipping(store, sink, { log: (_level, msg, f) => process.stderr.write(`netlog: ${msg} ${JSON.stringify(f ?? {})}\n`) });
  let openFailure: unknown = null;
  const early: SessionBatch[] = [];
  let earlyRows = 0;
  opening?.then(
    (s) => {
      store = s;
      for (const b of early.splice(0)) s.appendBatch(b);
    },
    (e: unknown) => (openFailure = e),
  );
  const toStdout = !opening || opts.formatGiven === true;
  // A long replay follows org map edits too (SIGHUP or a file change), like the daemon.
  const watcher = setup.watch((line) => process.stderr.write(`netlog: ${line}\n`));
  const result = await replay(files, {
    // Decoding on a second thread: the flow table and the writers have this one to themselves.
    parallel: !opts.singleThread,
    nativeDecode: !opts.tsDecode,
    nativeFlow: !opts.tsFlow,
    // JSON lines to stdout are encoded and written by the decoding thread (json-channel.ts).
    jsonLines: toStdout ? (writer.jsonLinesTarget() ?? undefined) : undefined,
    identifier: identity,
    maxFlows,
    timeouts,
    onSessions: (batch) => {
      if (store) store.appendBatch(batch);
      else if (opening) {
        early.push(batch.copy());
        earlyRows += batch.length;
      }
      if (toStdout) writer.write(batch);
    },
    // Backpressure: stdout's buffer and the store's commits both pace the reading.
    afterBatch: async () => {
      // The opening goes on only when this thread turns its event loop, which a replay whose
      // ring stays full does not do by itself: one turn per batch of packets, and past
      // REPLAY_FLUSH_ROWS the replay waits for it, so the sessions held meanwhile stay bounded
      // (unbounded, a SYN flood's 3M sessions all waited, and the store's memory bound then
      // dropped 2M of them).
      if (opening && !store && !openFailure) {
        if (earlyRows >= REPLAY_FLUSH_ROWS) await opening.catch(() => {});
        else await new Promise((resolve) => setImmediate(resolve));
      }
      if (openFailure) throw openFailure;
      await writer.drain();
      // stdout's reader went away (`| head`) and nothing else takes the sessions: stop reading.
      if (writer.closed && !opening) throw new OutputClosed();
      await store?.caughtUp();
    },
  })
    .catch((e: unknown) => (e instanceof OutputClosed ? null : Promise.reject(e)))
    .finally(() => watcher?.stop());
  // A replay shorter than the store's opening ends with its sessions in `early`.
  if (opening) store = await opening;
  if (result === null) return; // as `seq 1e9 | head` ends: quietly, status 0
  const { reports, tracker, decoder } = result;
  let failed = false;
  if (store && opts.prune && retentionDays !== undefined) {
    const pruned = await store.prune(retentionDays);
    process.stderr.write(`netlog: pruned ${pruned.tableSessions + pruned.partSessions} sessions older than ${retentionDays} days\n`);
  }
  let shipNote = '';
  if (store && shipper) {
    // The replay's sessions go to ClickHouse before exit; what cannot go in time waits in the
    // outbox for the next run or `netlog clickhouse ship`.
    await store.flush();
    const left = await shipper.stop(drainTimeoutMs);
    shipNote = `; ${shipper.shipped} shipped to ClickHouse${left ? `, ${left} wait in the outbox (${shipper.lastError})` : ''}`;
    if (left) failed = true;
  }
  if (store) await store.close();
  if (store && store.dropped > 0) {
    // A replay waits for its store rather than drop, so this is a bug if it shows; say it.
    failed = true;
    process.stderr.write(`netlog: ${store.dropped} sessions were dropped, not written to ${store.path}: more waited than the store holds in memory\n`);
  }
  for (const r of reports) {
    for (const w of r.warnings) process.stderr.write(`netlog: warning ${w.code}: ${w.message}\n`);
    if (r.error) {
      failed = true;
      process.stderr.write(`netlog: ${r.error.code}: ${r.error.message} (${r.packets} packets before it were used)\n`);
    }
  }
  if (!opts.quiet) {
    const packets = reports.reduce((a, r) => a + r.packets, 0);
    const ended = Object.entries(tracker.ended).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(' ');
    const skipped = Object.entries(decoder.tally()).filter(([k]) => k !== 'decoded').map(([k, n]) => `${k}=${n}`).join(' ');
    const scoped = identity ? `; out of scope (counted, not recorded): ${tracker.outOfScope}` : '';
    const clamped = decoder.lengthsClamped > 0 ? `; IP length cut to the frame: ${decoder.lengthsClamped}` : '';
    const sessions = Object.values(tracker.ended).reduce((a, n) => a + n, 0) - tracker.outOfScope;
    const stored = store ? `, ${store.written} written to ${store.path}` : '';
    process.stderr.write(`netlog: ${packets} packets, ${sessions} sessions${stored}${shipNote} (${ended || 'none'}); skipped: ${skipped || 'none'}${clamped}${scoped}\n`);
  }
  if (toStdout) await writer.finish();
  if (failed) process.exitCode = 1;
}

/** The replay's store (DuckDB loads only when asked for: main.ts says why). */
async function openStore(path: string, verbose: boolean, outbox: boolean, shipper: () => SinkShipper | null): Promise<SessionStore> {
  const { SessionStore } = await import('../store/session-store.js');
  return SessionStore.open(path, {
    flushRows: REPLAY_FLUSH_ROWS,
    bulk: true,
    outbox,
    onWriteState: (w) =>
      process.stderr.write(
        w.failing
          ? `netlog: warning: store writes failing, sessions kept in memory and retried: ${w.error}\n`
          : `netlog: store writes work again (${w.buffered} sessions still to write, ${w.dropped} dropped)\n`,
      ),
    onCommit: (n, total) => {
      shipper()?.nudge();
      if (verbose) process.stderr.write(`netlog: committed ${n} sessions (${total} in all)\n`);
    },
  });
}

/** A replay's store commits a DuckDB row group at a time, fewer and larger commits than the
 *  daemon's 50,000; the sessions a replay may hold before its store is open are one of them. */
const REPLAY_FLUSH_ROWS = ROW_GROUP_ROWS;

/** --max-flows and the timeouts, shared by `replay` and `capture`. */
export function parseFlowOptions(opts: Pick<ReplayCommandOptions, 'maxFlows' | 'tcpEstablishedTimeout' | 'tcpTransientTimeout' | 'udpTimeout' | 'linger'>) {
  const maxFlows = number('max-flows', opts.maxFlows, true);
  if (maxFlows < 1) throw new NetlogError('ERR_CONFIG_INVALID', '--max-flows must be at least 1');
  const timeouts = {
    tcpEstablishedS: number('tcp-established-timeout', opts.tcpEstablishedTimeout),
    tcpTransientS: number('tcp-transient-timeout', opts.tcpTransientTimeout),
    udpS: number('udp-timeout', opts.udpTimeout),
    lingerS: number('linger', opts.linger),
  };
  return { maxFlows, timeouts };
}

