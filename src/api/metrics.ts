/**
 * Prometheus text exposition (format 0.0.4), written by hand: a few counters, gauges and
 * histograms do not need a client library. Values are read when /metrics is scraped, from the
 * counters the capture path keeps anyway, so metrics cost the hot path nothing.
 */
export interface MetricSample {
  labels?: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  samples: MetricSample[];
}

/** What a part of netlog reports when scraped. */
export type MetricsSource = () => MetricFamily[];

const escapeLabel = (v: string) => v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');

function labelText(labels: Record<string, string> | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

export function renderMetrics(families: readonly MetricFamily[]): string {
  let out = '';
  for (const f of families) {
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) {
      // Histogram samples carry their own suffix in a `__name` label (see Histogram.samples).
      const { __name: suffix = '', ...labels } = s.labels ?? {};
      out += `${f.name}${suffix}${labelText(labels)} ${Number.isFinite(s.value) ? s.value : s.value > 0 ? '+Inf' : 'NaN'}\n`;
    }
  }
  return out;
}

/** A cumulative histogram with fixed upper bounds, in seconds. */
export class Histogram {
  private readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) this.counts[i]!++;
  }

  samples(labels: Record<string, string> = {}): MetricSample[] {
    return [
      ...this.bounds.map((le, i) => ({ labels: { __name: '_bucket', ...labels, le: String(le) }, value: this.counts[i]! })),
      { labels: { __name: '_bucket', ...labels, le: '+Inf' }, value: this.count },
      { labels: { __name: '_sum', ...labels }, value: this.sum },
      { labels: { __name: '_count', ...labels }, value: this.count },
    ];
  }
}

/** Seconds: from a millisecond up to half a minute, for flushes and requests alike. */
export const LATENCY_BOUNDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
