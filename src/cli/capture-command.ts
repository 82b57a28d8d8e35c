import pino from 'pino';
import { LiveSource } from '../capture/live-source.js';
import { Decoder } from '../decode/decoder.js';
import { isSupportedLinkType } from '../decode/link.js';
import { Skip } from '../decode/packet-info.js';
import { NetlogError } from '../errors.js';
import { FlowTracker } from '../flow/flow-tracker.js';
import { SessionStore } from '../store/session-store.js';
import { OrgDirectory } from '../api/org-directory.js';
import { StoreReader } from '../api/store-reader.js';
import type { RunningApi } from '../api/server.js';
import { captureMetrics, captureSnapshot, newFlushHistogram, statusFileOf, writeStatusFile, type CaptureParts } from './capture-metrics.js';
import { describeIdentity, openIdentity } from './identity-options.js';
import { queryTimeoutMs, startApiFromOptions, type ApiCommandOptions } from './serve-command.js';
import { clickhouseSink, startShipping, type ClickHouseCommandOptions } from './clickhouse-options.js';
import type { SinkShipper } from '../sinks/sink-shipper.js';
import { number, parseFlowOptions, type ReplayCommandOptions } from './replay-command.js';

export interface CaptureCommandOptions
  extends Pick<ReplayCommandOptions, 'maxFlows' | 'tcpEstablishedTimeout' | 'tcpTransientTimeout' | 'udpTimeout' | 'linger' | 'orgMap' | 'scope' | 'retentionDays'> {
  interface: string;
  filter?: string;
  snaplen: string;
  bufferSize: string;
  promisc?: boolean;
  db: string;
  dataDir?: string;
  /** Serve the API and the table from this process (the only way to read a store being written). */
  serve?: boolean;
  maxBuffered?: string;
}

/** Structured logs: one JSON object per line on stderr (pino), for journald and log shippers. */
const logger = pino({ base: { service: 'netlog' }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: true }));
function log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  logger[level](fields, msg);
}

/**
 * `netlog capture -i IFACE --db FILE`: the site-host daemon. Packets from libpcap go through
 * the decoder and the flow table; finished sessions reach the store within the flush interval
 * (1 s). Idle timeouts also run on the wall clock, so a quiet interface still closes sessions.
 * SIGTERM/SIGINT: stop capturing, end every open flow as `shutdown`, flush, close, exit 0.
 * SIGHUP reloads the org map.
 */
export async function captureCommand(opts: CaptureCommandOptions & Partial<ApiCommandOptions> & Partial<ClickHouseCommandOptions>): Promise<void> {
  const { maxFlows, timeouts } = parseFlowOptions(opts);
  const snaplen = number('snaplen', opts.snaplen, true);
  const bufferBytes = number('buffer-size', opts.bufferSize, true);
  const setup = await openIdentity(opts);
  const retentionDays = opts.retentionDays !== undefined ? number('retention-days', opts.retentionDays, true) : setup.registry?.map.retentionDays;
  if (retentionDays === 0) {
    log('warn', 'network logging is disabled (retention days 0): nothing is captured or recorded');
    return;
  }
  const source = new LiveSource(opts.interface, { snaplen, bufferBytes, filter: opts.filter, promisc: opts.promisc ?? false });
  if (!isSupportedLinkType(source.linkType)) {
    await source.close();
    throw new NetlogError('ERR_LINKTYPE_UNSUPPORTED', `${opts.interface}: link type ${source.linkType} is not one netlog decodes`);
  }
  const flushes = newFlushHistogram();
  const sink = clickhouseSink(opts);
  let shipper: SinkShipper | null = null;
  const store = await SessionStore.open(opts.db, {
    dataDir: opts.dataDir,
    outbox: sink !== null,
    maxBuffered: opts.maxBuffered !== undefined ? number('max-buffered', opts.maxBuffered, true) : undefined,
    // Disk full or a read-only directory: capture goes on, sessions wait in memory (bounded).
    onWriteState: (w) =>
      w.failing
        ? log('error', 'store writes failing; sessions are kept in memory and written when it works again', { error: w.error, buffered: w.buffered })
        : log('info', 'store writes work again', { buffered: w.buffered, dropped: w.dropped }),
    onCommit: (n, total, seconds) => {
      flushes.observe(seconds);
      shipper?.nudge();
      log('info', 'sessions committed', { sessions: n, total });
    },
  });
  const tracker = new FlowTracker({ maxFlows, timeouts, identifier: setup.registry, onSessions: store.appendBatch });
  const decoder = new Decoder();
  shipper = await startShipping(store, sink, { log });
  if (sink) log('info', 'shipping sessions to ClickHouse', { target: sink.target, waiting: await shipper!.pending() });
  const startedAt = new Date();
  const parts: CaptureParts = { interface: opts.interface, source, decoder, tracker, store, flushes, shipper };
  let api: RunningApi | null = null;
  let reader: StoreReader | null = null;
  if (opts.serve) {
    try {
      reader = StoreReader.shared(store.instance, queryTimeoutMs(opts.queryTimeout ?? '10'));
      api = await startApiFromOptions(
        { listen: opts.listen ?? '127.0.0.1:8080', apiKeys: opts.apiKeys, queryTimeout: opts.queryTimeout ?? '10' },
        {
          reader,
          directory: new OrgDirectory(() => (setup.registry ? [setup.registry.map.names] : [])),
          live: () => tracker.openSessions(),
          metrics: captureMetrics(parts, startedAt),
        },
      );
      log('info', 'API and table served', { url: api.url });
    } catch (e) {
      await source.close();
      await store.close();
      throw e;
    }
  }
  const watcher = setup.watch((line) => log('info', line));
  const described = describeIdentity(setup, opts.scope);
  log('info', 'capture started', { interface: opts.interface, linkType: source.linkType, snaplen: source.snaplen, db: opts.db, identity: described });

  // Once a day (and at start): closed days to Parquet, and retention against the wall clock.
  const maintain = async () => {
    try {
      const parts = await store.compact(new Date().toISOString().slice(0, 10));
      if (parts.length) log('info', 'compacted closed days to Parquet', { days: parts.map((p) => p.day), sessions: parts.reduce((a, p) => a + p.sessions, 0) });
      if (retentionDays !== undefined) {
        const r = await store.prune(retentionDays);
        if (r.tableSessions + r.partSessions > 0) log('info', 'pruned by retention', { retentionDays, sessions: r.tableSessions + r.partSessions });
      }
    } catch (e) {
      log('error', 'daily maintenance failed; capture goes on', { error: (e as Error).message });
    }
  };
  void maintain();
  const daily = setInterval(() => void maintain(), 86_400_000);
  let lastDrops = 0;
  const clock = setInterval(() => {
    tracker.expire(Date.now() * 1000);
    tracker.deliver();
  }, 1000);
  // Every 5 s: drop counters logged when they grow, and the status file `netlog status` reads.
  const statusFile = statusFileOf(opts.db);
  const report = () => {
    const s = captureSnapshot(parts, startedAt);
    const total = s.pcap.dropped + s.pcap.ifDropped;
    if (total > lastDrops) log('warn', 'packets dropped', { kernel: s.pcap.dropped, interface: s.pcap.ifDropped, received: s.pcap.received });
    lastDrops = total;
    try {
      writeStatusFile(statusFile, s);
    } catch (e) {
      log('warn', 'cannot write the status file', { file: statusFile, error: (e as Error).message });
    }
  };
  report();
  const dropsTimer = setInterval(report, 5000);
  const stop = (signal: string) => {
    log('info', 'stopping', { signal });
    source.stop();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  try {
    for await (const batch of source.batches()) {
      for (let i = 0; i < batch.count; i++) {
        if (decoder.decodeAt(batch, i) === Skip.NONE) tracker.packet(decoder.info, batch.tsSec[i]!, batch.tsNsec[i]!);
      }
      tracker.deliver();
    }
  } finally {
    clearInterval(clock);
    clearInterval(dropsTimer);
    clearInterval(daily);
    watcher?.stop();
    await api?.close();
    tracker.flush('shutdown');
    const last = captureSnapshot(parts, startedAt);
    const drops = last.pcap;
    await source.close();
    if (shipper) {
      await store.flush();
      const left = await shipper.stop(5000);
      if (left) log('warn', 'sessions wait in the outbox for ClickHouse; the next start ships them', { waiting: left });
    }
    await store.close().catch((e: Error) => log('error', 'sessions lost at shutdown', { error: e.message }));
    try {
      writeStatusFile(statusFile, { ...last, sessionsWritten: store.written, updatedAt: new Date().toISOString(), stoppedAt: new Date().toISOString() });
    } catch {
      // reported by the periodic writes already
    }
    log('info', 'capture stopped', {
      packets: source.stats.packets,
      sessionsWritten: store.written,
      outOfScope: tracker.outOfScope,
      ended: tracker.ended,
      skipped: decoder.tally(),
      drops,
    });
  }
}

