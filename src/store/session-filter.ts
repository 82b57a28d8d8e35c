import type { DuckDBValue } from '@duckdb/node-api';
import { formatIpv6 } from '../decode/address.js';
import { NetlogError } from '../errors.js';
import type { SessionRecord } from '../flow/session-record.js';

/**
 * The filters `netlog query`, `netlog export` and the API share. Values are validated here and
 * reach SQL only as bound parameters of a prepared statement.
 */
export interface SessionFilter {
  /** Session start, unix seconds, inclusive. */
  sinceS?: number;
  untilS?: number;
  protocol?: 'tcp' | 'udp';
  clientId?: number;
  userId?: string;
  siteResourceId?: number;
  siteId?: number;
  /** The API's org scope (a key sees only its org's sessions). */
  orgId?: string;
  src?: AddressFilter;
  dst?: AddressFilter;
  limit: number;
  offset: number;
}

/** `ip:port` (exact), `ip` (any port), an IPv4 CIDR as a numeric range, or an IPv6 CIDR as
 *  leading hex digits of the expanded address (plus the top bits of one more digit). */
export type AddressFilter =
  | { kind: 'endpoint'; text: string }
  | { kind: 'host'; prefix: string }
  | { kind: 'ipv4-range'; first: number; last: number }
  | { kind: 'ipv6-prefix'; hex: string; nibbleIndex: number; nibbleShift: number; nibbleValue: number | null };

/** Raw option values as the CLI or a query string gives them. */
export interface RawSessionFilter {
  since?: string;
  until?: string;
  protocol?: string;
  client?: string;
  user?: string;
  resource?: string;
  site?: string;
  src?: string;
  dst?: string;
  limit?: string;
  offset?: string;
}

const bad = (option: string, value: string, why: string) =>
  new NetlogError('ERR_CONFIG_INVALID', `${option} "${value}": ${why}`);

const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** ISO 8601, or a span back from `now` such as `30m`, `24h`, `7d`. */
export function parseTime(option: string, value: string, now: Date): number {
  const rel = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(value.trim());
  if (rel) return Math.floor(now.getTime() / 1000 - Number(rel[1]) * UNIT_S[rel[2]!]!);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) throw bad(option, value, 'not an ISO 8601 time or a span like 24h or 7d');
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw bad(option, value, 'not a valid ISO 8601 time');
  return Math.floor(t / 1000);
}

export function parseId(option: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n > 2147483647) throw bad(option, value, 'not a whole number id');
  return n;
}

function ipv4Word(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** IPv6 text to its eight 16-bit groups, or null. */
function ipv6Groups(text: string): number[] | null {
  if (!/^[0-9a-fA-F:]+$/.test(text) || (text.match(/::/g) ?? []).length > 1) return null;
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const missing = 8 - h.length - t.length;
  if ((tail === undefined && missing !== 0) || (tail !== undefined && missing < 1)) return null;
  const groups = [...h, ...Array(tail === undefined ? 0 : missing).fill('0'), ...t];
  if (groups.length !== 8 || groups.some((g) => g.length === 0 || g.length > 4)) return null;
  return groups.map((g) => parseInt(g, 16));
}

/** IPv6 text to its RFC 5952 form (as netlog stores it), or null. */
function canonicalIpv6(text: string): string | null {
  const n = ipv6Groups(text);
  if (n === null) return null;
  return formatIpv6((n[0]! << 16 | n[1]!) >>> 0, (n[2]! << 16 | n[3]!) >>> 0, (n[4]! << 16 | n[5]!) >>> 0, (n[6]! << 16 | n[7]!) >>> 0);
}

export function parseAddressFilter(option: string, value: string): AddressFilter {
  const v = value.trim();
  const cidr = /^([^/]+)\/(\d{1,3})$/.exec(v);
  if (cidr) {
    const base = ipv4Word(cidr[1]!);
    const bits = Number(cidr[2]);
    if (base === null) {
      const groups = ipv6Groups(cidr[1]!);
      if (groups === null) throw bad(option, value, 'not an IPv4 or IPv6 CIDR');
      if (bits > 128) throw bad(option, value, 'an IPv6 prefix is at most /128');
      const hex = groups.map((g) => g.toString(16).padStart(4, '0')).join('');
      const whole = Math.floor(bits / 4);
      const rest = bits % 4;
      return {
        kind: 'ipv6-prefix',
        hex: hex.slice(0, whole),
        nibbleIndex: whole + 1,
        nibbleShift: 4 - rest,
        nibbleValue: rest === 0 ? null : parseInt(hex[whole]!, 16) >> (4 - rest),
      };
    }
    if (bits > 32) throw bad(option, value, 'an IPv4 prefix is at most /32');
    const size = 2 ** (32 - bits);
    const first = Math.floor(base / size) * size;
    return { kind: 'ipv4-range', first, last: first + size - 1 };
  }
  const v6port = /^\[([^\]]+)\]:(\d{1,5})$/.exec(v);
  if (v6port) {
    const a = canonicalIpv6(v6port[1]!);
    if (a === null || Number(v6port[2]) > 65535) throw bad(option, value, 'not an [IPv6]:port');
    return { kind: 'endpoint', text: `[${a}]:${Number(v6port[2])}` };
  }
  const v4port = /^([\d.]+):(\d{1,5})$/.exec(v);
  if (v4port) {
    const w = ipv4Word(v4port[1]!);
    if (w === null || Number(v4port[2]) > 65535) throw bad(option, value, 'not an IPv4:port');
    return { kind: 'endpoint', text: `${v4port[1]}:${Number(v4port[2])}` };
  }
  if (ipv4Word(v) !== null) return { kind: 'host', prefix: `${v}:` };
  const a = canonicalIpv6(v.replace(/^\[|\]$/g, ''));
  if (a !== null) return { kind: 'host', prefix: `[${a}]:` };
  throw bad(option, value, 'not an address, ip:port or CIDR');
}

export function parseSessionFilter(raw: RawSessionFilter, now: Date = new Date(), defaultLimit = 100): SessionFilter {
  const f: SessionFilter = { limit: defaultLimit, offset: 0 };
  if (raw.since !== undefined) f.sinceS = parseTime('--since', raw.since, now);
  if (raw.until !== undefined) f.untilS = parseTime('--until', raw.until, now);
  if (f.sinceS !== undefined && f.untilS !== undefined && f.sinceS > f.untilS) {
    throw bad('--since', raw.since!, `is after --until "${raw.until}"`);
  }
  if (raw.protocol !== undefined) {
    if (raw.protocol !== 'tcp' && raw.protocol !== 'udp') throw bad('--protocol', raw.protocol, 'must be tcp or udp');
    f.protocol = raw.protocol;
  }
  if (raw.client !== undefined) f.clientId = parseId('--client', raw.client);
  if (raw.user !== undefined) f.userId = raw.user;
  if (raw.resource !== undefined) f.siteResourceId = parseId('--resource', raw.resource);
  if (raw.site !== undefined) f.siteId = parseId('--site', raw.site);
  if (raw.src !== undefined) f.src = parseAddressFilter('--src', raw.src);
  if (raw.dst !== undefined) f.dst = parseAddressFilter('--dst', raw.dst);
  if (raw.limit !== undefined) {
    f.limit = Number(raw.limit);
    if (!/^\d+$/.test(raw.limit) || f.limit < 1) throw bad('--limit', raw.limit, 'must be a whole number >= 1');
  }
  if (raw.offset !== undefined) {
    f.offset = Number(raw.offset);
    if (!/^\d+$/.test(raw.offset)) throw bad('--offset', raw.offset, 'must be a whole number >= 0');
  }
  return f;
}

/** Whether an `ip:port` / `[v6]:port` text is inside an address filter: filterSql's terms in JavaScript. */
export function addressMatches(addr: string, a: AddressFilter): boolean {
  if (a.kind === 'endpoint') return addr === a.text;
  if (a.kind === 'host') return addr.startsWith(a.prefix);
  if (a.kind === 'ipv4-range') {
    if (addr.startsWith('[')) return false;
    const w = ipv4Word(addr.slice(0, addr.lastIndexOf(':')));
    return w !== null && w >= a.first && w <= a.last;
  }
  if (!addr.startsWith('[')) return false;
  const groups = ipv6Groups(addr.slice(1, addr.indexOf(']')));
  if (groups === null) return false;
  const hex = groups.map((g) => g.toString(16).padStart(4, '0')).join('');
  if (!hex.startsWith(a.hex)) return false;
  return a.nibbleValue === null || parseInt(hex[a.nibbleIndex - 1]!, 16) >> a.nibbleShift === a.nibbleValue;
}

/** Whether a record passes a filter (paging aside): the WHERE of filterSql, for records in memory. */
export function sessionMatches(r: SessionRecord, f: SessionFilter): boolean {
  return (
    (f.sinceS === undefined || r.timestamp >= f.sinceS) &&
    (f.untilS === undefined || r.timestamp <= f.untilS) &&
    (f.protocol === undefined || r.protocol === f.protocol) &&
    (f.clientId === undefined || r.clientId === f.clientId) &&
    (f.userId === undefined || r.userId === f.userId) &&
    (f.siteResourceId === undefined || r.siteResourceId === f.siteResourceId) &&
    (f.siteId === undefined || r.siteId === f.siteId) &&
    (f.orgId === undefined || r.orgId === f.orgId) &&
    (f.src === undefined || addressMatches(r.sourceAddr, f.src)) &&
    (f.dst === undefined || addressMatches(r.destAddr, f.dst))
  );
}

/** The IPv4 host of an `ip:port` column as a number (NULL for IPv6), in SQL. */
const ipv4Of = (column: string) =>
  `CASE WHEN ${column} LIKE '[%' THEN NULL ELSE ` +
  [0, 1, 2, 3].map((i) => `split_part(split_part(${column}, ':', 1), '.', ${i + 1})::BIGINT * ${2 ** (24 - 8 * i)}`).join(' + ') +
  ' END';

/** The IPv6 host of an `[v6]:port` column as 32 hex digits, `::` expanded, in SQL. */
const ipv6HexOf = (column: string) => {
  const host = `trim(split_part(${column}, ']', 1), '[')`;
  const halves = `string_split(${host}, '::')`;
  const left = `CASE WHEN ${halves}[1] = '' THEN []::VARCHAR[] ELSE string_split(${halves}[1], ':') END`;
  const right = `CASE WHEN len(${halves}) = 2 AND ${halves}[2] <> '' THEN string_split(${halves}[2], ':') ELSE []::VARCHAR[] END`;
  const zeros = `list_transform(range(8 - len(list_filter(string_split(${host}, ':'), lambda g: g <> ''))), lambda z: '0')`;
  return `list_aggregate(list_transform(list_concat(${left}, ${zeros}, ${right}), lambda g: lpad(g, 4, '0')), 'string_agg', '')`;
};

/** WHERE clause (with a leading WHERE, or empty) and its positional parameters. */
export function filterSql(f: SessionFilter): { where: string; params: DuckDBValue[] } {
  const terms: string[] = [];
  const params: DuckDBValue[] = [];
  const p = (v: DuckDBValue) => (params.push(v), `$${params.length}`);
  if (f.sinceS !== undefined) terms.push(`"timestamp" >= ${p(f.sinceS)}`);
  if (f.untilS !== undefined) terms.push(`"timestamp" <= ${p(f.untilS)}`);
  if (f.protocol !== undefined) terms.push(`protocol = ${p(f.protocol)}`);
  if (f.clientId !== undefined) terms.push(`"clientId" = ${p(f.clientId)}`);
  if (f.userId !== undefined) terms.push(`"userId" = ${p(f.userId)}`);
  if (f.siteResourceId !== undefined) terms.push(`"siteResourceId" = ${p(f.siteResourceId)}`);
  if (f.siteId !== undefined) terms.push(`"siteId" = ${p(f.siteId)}`);
  if (f.orgId !== undefined) terms.push(`"orgId" = ${p(f.orgId)}`);
  for (const [column, a] of [['"sourceAddr"', f.src], ['"destAddr"', f.dst]] as const) {
    if (a === undefined) continue;
    if (a.kind === 'endpoint') terms.push(`${column} = ${p(a.text)}`);
    else if (a.kind === 'host') terms.push(`starts_with(${column}, ${p(a.prefix)})`);
    else if (a.kind === 'ipv4-range') terms.push(`(${ipv4Of(column)}) BETWEEN ${p(a.first)} AND ${p(a.last)}`);
    else {
      let term = `${column} LIKE '[%' AND starts_with(${ipv6HexOf(column)}, ${p(a.hex)})`;
      if (a.nibbleValue !== null) {
        const digit = `('0x' || substr(${ipv6HexOf(column)}, ${p(a.nibbleIndex)}, 1))::INTEGER`;
        term += ` AND (${digit} >> ${p(a.nibbleShift)}) = ${p(a.nibbleValue)}`;
      }
      terms.push(`(${term})`);
    }
  }
  return { where: terms.length ? `WHERE ${terms.join(' AND ')}` : '', params };
}
