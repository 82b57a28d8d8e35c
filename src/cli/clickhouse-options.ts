import { NetlogError } from '../errors.js';
import { ClickHouseSink, clickhousePassword } from '../sinks/clickhouse-sink.js';
import { SinkShipper, type ShipperOptions } from '../sinks/sink-shipper.js';
import { SessionStore } from '../store/session-store.js';
import { number } from './replay-command.js';

export interface ClickHouseCommandOptions {
  clickhouseUrl?: string;
  clickhouseDatabase: string;
  clickhouseTable: string;
  clickhouseUser: string;
  clickhousePasswordFile?: string;
}

/** The ClickHouse sink's options, shared by replay, capture and the clickhouse commands. */
export function clickhouseSink(opts: Partial<ClickHouseCommandOptions>): ClickHouseSink | null {
  if (!opts.clickhouseUrl) return null;
  let url: URL;
  try {
    url = new URL(opts.clickhouseUrl);
  } catch {
    throw new NetlogError('ERR_CONFIG_INVALID', `--clickhouse-url "${opts.clickhouseUrl}": not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new NetlogError('ERR_CONFIG_INVALID', `--clickhouse-url "${opts.clickhouseUrl}": http or https only`);
  return new ClickHouseSink({
    url: opts.clickhouseUrl,
    database: opts.clickhouseDatabase ?? 'netlog',
    table: opts.clickhouseTable ?? 'sessions',
    user: opts.clickhouseUser ?? 'default',
    password: clickhousePassword(opts.clickhousePasswordFile),
  });
}

const say = (level: string, msg: string, fields: Record<string, unknown> = {}) => {
  const extra = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  process.stderr.write(`netlog: ${level === 'warn' ? 'warning: ' : ''}${msg}${extra ? ` (${extra})` : ''}\n`);
};

/** `netlog clickhouse init`: database and table (TTL where the server has it). */
export async function clickhouseInitCommand(opts: ClickHouseCommandOptions & { retentionDays?: string }): Promise<void> {
  const sink = clickhouseSink(opts)!;
  const retention = opts.retentionDays === undefined ? null : number('retention-days', opts.retentionDays, true);
  const { ttl, version } = await sink.init(retention);
  say('info', `table ${sink.target} ready on ClickHouse ${version}`);
  if (retention && !ttl) say('warn', `ClickHouse ${version} has no table TTL (19.6 and later do): run \`netlog clickhouse prune --retention-days ${retention}\` daily instead`);
}

/** `netlog clickhouse prune`: drop day partitions past retention (servers without TTL). */
export async function clickhousePruneCommand(opts: ClickHouseCommandOptions & { retentionDays: string }): Promise<void> {
  const days = number('retention-days', opts.retentionDays, true);
  if (days === 0) return say('info', 'retention days 0: network logging is disabled; nothing pruned');
  const dropped = await clickhouseSink(opts)!.prune(days);
  say('info', `dropped ${dropped.length} day partitions older than ${days} days${dropped.length ? `: ${dropped.join(', ')}` : ''}`);
}

/** `netlog clickhouse ship`: send what waits in a store's outbox, then stop. */
export async function clickhouseShipCommand(opts: ClickHouseCommandOptions & { db: string; timeout: string }): Promise<void> {
  const sink = clickhouseSink(opts)!;
  const store = await SessionStore.open(opts.db, { outbox: true });
  try {
    const shipper = await SinkShipper.start(store.instance, sink, { log: say });
    const before = await shipper.pending();
    const left = await shipper.stop(number('timeout', opts.timeout) * 1000);
    say('info', `shipped ${shipper.shipped} of ${before} waiting sessions to ${sink.target}; ${left} left in the outbox`);
    if (left > 0) process.exitCode = 1;
  } finally {
    await store.close();
  }
}

/** Starts shipping a store's outbox when a sink is configured. */
export async function startShipping(store: SessionStore, sink: ClickHouseSink | null, o: ShipperOptions = {}): Promise<SinkShipper | null> {
  return sink ? SinkShipper.start(store.instance, sink, o) : null;
}
