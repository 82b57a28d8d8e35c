import { Histogram, LATENCY_BOUNDS, type MetricFamily, type MetricsSource } from '../api/metrics.js';
import type { LiveSource } from '../capture/live-source.js';
import type { Decoder } from '../decode/decoder.js';
import type { FlowTracker } from '../flow/flow-tracker.js';
import type { SessionStore } from '../store/session-store.js';

/** The capture daemon's figures for /metrics, read from its parts' own counters when scraped. */
export function captureMetrics(parts: { source: LiveSource; decoder: Decoder; tracker: FlowTracker; store: SessionStore; flushes: Histogram }): MetricsSource {
  const { source, decoder, tracker, store, flushes } = parts;
  const one = (name: string, help: string, type: 'counter' | 'gauge', value: number): MetricFamily => ({ name, help, type, samples: [{ value }] });
  return () => {
    const drops = source.drops();
    return [
      one('netlog_packets_total', 'packets read from the interface', 'counter', source.stats.packets),
      {
        name: 'netlog_packets_skipped_total',
        help: 'packets the decoder did not follow, by reason',
        type: 'counter',
        samples: Object.entries(decoder.tally()).map(([reason, value]) => ({ labels: { reason }, value })),
      },
      one('netlog_pcap_received_total', 'packets libpcap reports received (ps_recv)', 'counter', drops.received),
      {
        name: 'netlog_pcap_dropped_total',
        help: 'packets dropped before netlog saw them: kernel buffer full (ps_drop) or the interface (ps_ifdrop)',
        type: 'counter',
        samples: [
          { labels: { where: 'kernel' }, value: drops.dropped },
          { labels: { where: 'interface' }, value: drops.ifDropped },
        ],
      },
      one('netlog_flows_open', 'flows in the flow table now', 'gauge', tracker.openFlows),
      {
        name: 'netlog_sessions_ended_total',
        help: 'flows ended, by end reason (evicted: pushed out of the full flow table)',
        type: 'counter',
        samples: Object.entries(tracker.ended).map(([reason, value]) => ({ labels: { reason }, value })),
      },
      one('netlog_flow_evictions_total', 'flows ended because the flow table was full', 'counter', tracker.ended.evicted),
      one('netlog_sessions_out_of_scope_total', 'sessions outside the scope, counted and not stored', 'counter', tracker.outOfScope),
      one('netlog_sessions_written_total', 'sessions committed to the store', 'counter', store.written),
      one('netlog_store_failed_batches_total', 'batches the store could not commit', 'counter', store.failedBatches),
      { name: 'netlog_db_flush_seconds', help: 'time to append and commit one batch of sessions', type: 'histogram', samples: flushes.samples() },
    ];
  };
}

export const newFlushHistogram = () => new Histogram(LATENCY_BOUNDS);
