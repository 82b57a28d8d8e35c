import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { NetlogError } from '../errors.js';
import type { SessionSink, SinkBatch } from './session-sink.js';

const gzipAsync = promisify(gzip);

export interface ClickHouseOptions {
  /** The HTTP interface, e.g. http://127.0.0.1:8123 */
  url: string;
  database: string;
  table: string;
  user: string;
  password: string;
  /** Per request, ms. */
  timeoutMs?: number;
}

/**
 * The table netlog writes: the record's fields with their names, plus where each row came from
 * (`netlogStore`, `netlogSeq`: the sending store and its outbox sequence number). Sorted by
 * (orgId, siteId, timestamp) as a multi-site query wants, partitioned by day. ClickHouse keys
 * cannot be Nullable, so a session without an org map is stored with orgId '' and siteId 0.
 * ReplacingMergeTree on (…, sessionId) folds any row that arrived twice when parts merge; the
 * shipper's presence check keeps it from arriving twice in the first place.
 */
export function createTableSql(o: Pick<ClickHouseOptions, 'database' | 'table'>, retentionDays: number | null, engine = 'ReplacingMergeTree'): string {
  const ttl = retentionDays ? `\nTTL toDateTime(timestamp) + INTERVAL ${retentionDays} DAY` : '';
  return `CREATE TABLE IF NOT EXISTS ${o.database}.${o.table} (
  timestamp Int64,
  protocol Enum8('tcp' = 1, 'udp' = 2),
  siteResourceId Nullable(Int32),
  clientId Nullable(Int32),
  userId Nullable(String),
  sourceAddr String,
  destAddr String,
  duration Nullable(Float64),
  bytesTx Int64,
  bytesRx Int64,
  startedAt Float64,
  endedAt Nullable(Float64),
  packetsTx Int64,
  packetsRx Int64,
  missedBytesTx Int64,
  missedBytesRx Int64,
  state Enum8('S0' = 1, 'S1' = 2, 'SF' = 3, 'REJ' = 4, 'S2' = 5, 'S3' = 6, 'RSTO' = 7, 'RSTR' = 8, 'RSTOS0' = 9, 'RSTRH' = 10, 'SH' = 11, 'SHR' = 12, 'OTH' = 13),
  history String,
  endReason Nullable(Enum8('fin' = 1, 'rst' = 2, 'idle' = 3, 'evicted' = 4, 'shutdown' = 5, 'capture-end' = 6)),
  sessionId String,
  orgId String,
  siteId Int32,
  netlogStore String,
  netlogSeq UInt64
) ENGINE = ${engine}
PARTITION BY toYYYYMMDD(toDateTime(timestamp))
ORDER BY (orgId, siteId, timestamp, sessionId)${ttl}`;
}

/** ClickHouse names: letters, digits and underscores, so they can sit in SQL unquoted. */
export function checkName(what: string, name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new NetlogError('ERR_CONFIG_INVALID', `--clickhouse-${what} "${name}": letters, digits and _ only`);
  return name;
}

/** --clickhouse-password-file, else $NETLOG_CLICKHOUSE_PASSWORD, else none. */
export function clickhousePassword(file: string | undefined): string {
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new NetlogError('ERR_CONFIG_INVALID', `cannot read the ClickHouse password file: ${(e as Error).message}`, { file });
    }
  }
  return process.env.NETLOG_CLICKHOUSE_PASSWORD ?? '';
}

/**
 * A row as JSONEachRow takes it: the record's JSON with its origin added and the key columns
 * made non-null. The record ends `"orgId":…,"siteId":…}` (SESSION_FIELDS order), so the fix-up
 * is a look at the tail, not a parse.
 */
function row(json: string, storeId: string, seq: number): string {
  let line = json.slice(0, -1);
  if (line.endsWith('"siteId":null')) line = line.slice(0, -4) + '0';
  if (line.includes('"orgId":null,"siteId":')) line = line.replace('"orgId":null,"siteId":', '"orgId":"","siteId":');
  return `${line},"netlogStore":"${storeId}","netlogSeq":${seq}}`;
}

/** Inserts over ClickHouse's HTTP interface: JSONEachRow, gzip request bodies. */
export class ClickHouseSink implements SessionSink {
  readonly name = 'clickhouse';
  private readonly auth: string;
  private readonly timeoutMs: number;

  constructor(private readonly o: ClickHouseOptions) {
    checkName('database', o.database);
    checkName('table', o.table);
    this.auth = 'Basic ' + Buffer.from(`${o.user}:${o.password}`).toString('base64');
    this.timeoutMs = o.timeoutMs ?? 30_000;
  }

  get target(): string {
    return `${this.o.url} ${this.o.database}.${this.o.table}`;
  }

  /** One statement; the answer's text. Non-200 answers become errors with ClickHouse's message. */
  async query(sql: string, body?: Buffer, gzipped = false): Promise<string> {
    const url = new URL(this.o.url);
    url.searchParams.set('query', sql);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { Authorization: this.auth, ...(gzipped ? { 'Content-Encoding': 'gzip' } : {}) },
        body: body ?? '',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new NetlogError('ERR_SINK', `ClickHouse at ${this.o.url} unreachable: ${cause}`);
    }
    const text = await res.text();
    if (res.status !== 200) throw new NetlogError('ERR_SINK', `ClickHouse answered ${res.status}: ${text.trim().split('\n')[0]}`);
    return text;
  }

  async send(batch: SinkBatch): Promise<void> {
    let lines = '';
    for (let i = 0; i < batch.json.length; i++) lines += row(batch.json[i]!, batch.storeId, batch.seqs[i]!) + '\n';
    // Level 1: 22 MB of JSON for 50k rows becomes 3.7 MB (level 6: 3.0 MB) in half the time.
    const body = await gzipAsync(lines, { level: 1 });
    await this.query(`INSERT INTO ${this.o.database}.${this.o.table} FORMAT JSONEachRow`, body, true);
  }

  async present(batch: SinkBatch): Promise<Set<number>> {
    if (batch.seqs.length === 0) return new Set();
    // Bounded by the sort key's prefix (orgs, sites, time range) so the check reads little.
    const orgs = [...new Set(batch.orgIds.map((o) => o ?? ''))];
    const sites = [...new Set(batch.siteIds.map((s) => s ?? 0))];
    const times = batch.timestamps;
    let [lo, hi] = [Infinity, -Infinity];
    for (const t of times) [lo, hi] = [Math.min(lo, t), Math.max(hi, t)];
    const quote = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
    const sql =
      `SELECT netlogSeq FROM ${this.o.database}.${this.o.table} WHERE orgId IN (${orgs.map(quote).join(',')}) ` +
      `AND siteId IN (${sites.join(',')}) AND timestamp BETWEEN ${lo} AND ${hi} ` +
      `AND netlogStore = ${quote(batch.storeId)} AND netlogSeq BETWEEN ${batch.seqs[0]} AND ${batch.seqs[batch.seqs.length - 1]} FORMAT TabSeparated`;
    const text = await this.query(sql);
    return new Set(text.split('\n').filter(Boolean).map(Number));
  }

  /** The server's version as [major, minor]. */
  async version(): Promise<[number, number]> {
    const v = (await this.query('SELECT version()')).trim().split('.').map(Number);
    return [v[0] ?? 0, v[1] ?? 0];
  }

  /**
   * `netlog clickhouse init`: the database and the table. A TTL from retentionDays where the
   * server has table TTLs (19.6 and later); older servers are told to prune by partition.
   */
  async init(retentionDays: number | null): Promise<{ ttl: boolean; version: string }> {
    const [major, minor] = await this.version();
    const ttl = retentionDays !== null && retentionDays > 0 && (major > 19 || (major === 19 && minor >= 6));
    await this.query(`CREATE DATABASE IF NOT EXISTS ${this.o.database}`);
    await this.query(createTableSql(this.o, ttl ? retentionDays : null));
    return { ttl, version: `${major}.${minor}` };
  }

  /** Drops the day partitions older than `retentionDays` (for servers without table TTL). */
  async prune(retentionDays: number, now: Date = new Date()): Promise<string[]> {
    const cutoff = new Date(now.getTime() - retentionDays * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
    const parts = await this.query(
      `SELECT DISTINCT partition FROM system.parts WHERE active AND database = '${this.o.database}' AND table = '${this.o.table}' FORMAT TabSeparated`,
    );
    const old = parts.split('\n').filter((p) => /^\d{8}$/.test(p) && p < cutoff);
    for (const p of old) await this.query(`ALTER TABLE ${this.o.database}.${this.o.table} DROP PARTITION ${p}`);
    return old;
  }
}
