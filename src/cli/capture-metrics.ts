import { writeFileSync, renameSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Histogram, LATENCY_BOUNDS, type MetricFamily, type MetricsSource } from '../api/metrics.js';
import type { LiveSource } from '../capture/live-source.js';
import type { Decoder } from '../decode/decoder.js';
import type { FlowTracker } from '../flow/flow-tracker.js';
import type { SessionStore } from '../store/session-store.js';
import type { SinkShipper } from '../sinks/sink-shipper.js';

export interface CaptureParts {
  interface: string;
  source: LiveSource;
  decoder: Decoder;
  tracker: FlowTracker;
  store: SessionStore;
  flushes: Histogram;
  shipper: SinkShipper | null;
}

/** The capture daemon's counters at one moment: what `netlog status` shows and /metrics exports. */
export interface CaptureSnapshot {
  pid: number;
  interface: string;
  db: string;
  startedAt: string;
  updatedAt: string;
  /** Set by the last update of a capture that stopped cleanly. */
  stoppedAt?: string;
  packets: number;
  skipped: Record<string, number>;
  /** libpcap's ps_recv, ps_drop (kernel buffer full), ps_ifdrop (interface). */
  pcap: { received: number; dropped: number; ifDropped: number };
  flowsOpen: number;
  ended: Record<string, number>;
  outOfScope: number;
  sessionsWritten: number;
  /** Store writes: failed attempts (retried), sessions waiting in memory, sessions dropped
   *  past the memory bound, and the error while writes fail. */
  store: { writeFailures: number; buffered: number; dropped: number; writeError: string | null };
  flushSeconds: { count: number; sum: number };
  /** With a ClickHouse sink: sessions shipped, failed attempts, the last error (null when well). */
  sink?: { shipped: number; failures: number; lastError: string | null };
}

export function captureSnapshot(parts: CaptureParts, startedAt: Date): CaptureSnapshot {
  const { source, decoder, tracker, store, flushes } = parts;
  return {
    pid: process.pid,
    interface: parts.interface,
    db: store.path,
    startedAt: startedAt.toISOString(),
    updatedAt: new Date().toISOString(),
    packets: source.stats.packets,
    skipped: decoder.tally(),
    pcap: source.drops(),
    flowsOpen: tracker.openFlows,
    ended: { ...tracker.ended },
    outOfScope: tracker.outOfScope,
    sessionsWritten: store.written,
    store: { writeFailures: store.writeFailures, buffered: store.buffered, dropped: store.dropped, writeError: store.writeError },
    flushSeconds: { count: flushes.count, sum: flushes.sum },
    ...(parts.shipper ? { sink: { shipped: parts.shipper.shipped, failures: parts.shipper.failures, lastError: parts.shipper.lastError } } : {}),
  };
}

/** The status file beside the database, replaced whole (write, then rename) on every update. */
export const statusFileOf = (db: string) => `${db}.status.json`;

export function writeStatusFile(file: string, snapshot: CaptureSnapshot): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(snapshot, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

/** The capture daemon's figures for /metrics, read from its parts' own counters when scraped. */
export function captureMetrics(parts: CaptureParts, startedAt: Date): MetricsSource {
  // Event-loop delay: a capture that falls behind shows here before the kernel drops packets.
  // p99 and max over the time since the previous scrape.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const one = (name: string, help: string, type: 'counter' | 'gauge', value: number): MetricFamily => ({ name, help, type, samples: [{ value }] });
  const byLabel = (name: string, help: string, label: string, values: Record<string, number>): MetricFamily => ({
    name,
    help,
    type: 'counter',
    samples: Object.entries(values).map(([k, value]) => ({ labels: { [label]: k }, value })),
  });
  return () => {
    const s = captureSnapshot(parts, startedAt);
    const lag = { p99: loop.percentile(99) / 1e9, max: loop.max / 1e9 };
    loop.reset();
    const mem = process.memoryUsage();
    return [
      {
        name: 'netlog_process_memory_bytes',
        help: 'memory by kind: rss; heap_used and heap_total (V8); external and array_buffers (Buffers, typed arrays); the rest of rss is native (DuckDB, libpcap)',
        type: 'gauge',
        samples: [
          { labels: { kind: 'rss' }, value: mem.rss },
          { labels: { kind: 'heap_used' }, value: mem.heapUsed },
          { labels: { kind: 'heap_total' }, value: mem.heapTotal },
          { labels: { kind: 'external' }, value: mem.external },
          { labels: { kind: 'array_buffers' }, value: mem.arrayBuffers },
        ],
      },
      one('netlog_event_loop_lag_p99_seconds', 'event-loop delay, 99th percentile since the last scrape', 'gauge', lag.p99),
      one('netlog_event_loop_lag_max_seconds', 'event-loop delay, maximum since the last scrape', 'gauge', lag.max),
      one('netlog_packets_total', 'packets read from the interface', 'counter', s.packets),
      byLabel('netlog_packets_skipped_total', 'packets the decoder did not follow, by reason', 'reason', s.skipped),
      one('netlog_pcap_received_total', 'packets libpcap reports received (ps_recv)', 'counter', s.pcap.received),
      byLabel('netlog_pcap_dropped_total', 'packets dropped before netlog saw them: kernel buffer full (ps_drop) or the interface (ps_ifdrop)', 'where', {
        kernel: s.pcap.dropped,
        interface: s.pcap.ifDropped,
      }),
      one('netlog_flows_open', 'flows in the flow table now', 'gauge', s.flowsOpen),
      byLabel('netlog_sessions_ended_total', 'flows ended, by end reason (evicted: pushed out of the full flow table)', 'reason', s.ended),
      one('netlog_flow_evictions_total', 'flows ended because the flow table was full', 'counter', s.ended.evicted ?? 0),
      one('netlog_sessions_out_of_scope_total', 'sessions outside the scope, counted and not stored', 'counter', s.outOfScope),
      one('netlog_sessions_written_total', 'sessions committed to the store', 'counter', s.sessionsWritten),
      one('netlog_store_write_failures_total', 'store write attempts that failed (retried with backoff)', 'counter', s.store.writeFailures),
      one('netlog_store_buffered_sessions', 'sessions waiting in memory to be written', 'gauge', s.store.buffered),
      one('netlog_store_dropped_sessions_total', 'sessions lost: writes failed until the memory bound was reached', 'counter', s.store.dropped),
      ...(s.sink
        ? [
            one('netlog_sink_shipped_total', 'sessions the ClickHouse sink has confirmed', 'counter', s.sink.shipped),
            one('netlog_sink_failures_total', 'failed attempts to reach the ClickHouse sink', 'counter', s.sink.failures),
          ]
        : []),
      { name: 'netlog_db_flush_seconds', help: 'time to append and commit one batch of sessions', type: 'histogram', samples: parts.flushes.samples() },
    ];
  };
}

export const newFlushHistogram = () => new Histogram(LATENCY_BOUNDS);
