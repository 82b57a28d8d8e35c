import type { DuckDBConnection } from '@duckdb/node-api';
import type { SessionRecord } from '../flow/session-record.js';
import { filterSql, sessionMatches, type SessionFilter } from '../store/session-filter.js';
import { countSessions, readSessions } from '../store/session-query.js';
import type { OrgDirectory, SessionNames } from './org-directory.js';

/** A record as the API returns it: the stored fields and the names the org maps give them. */
export type NetworkLogEntry = SessionRecord & SessionNames;

export interface FilterAttributes {
  protocols: string[];
  destAddrs: string[];
  clients: Array<{ id: number; name: string | null }>;
  resources: Array<{ id: number; name: string | null }>;
  users: Array<{ id: string; email: string | null; name: string | null }>;
}

export interface NetworkLogPage {
  log: NetworkLogEntry[];
  pagination: { total: number; limit: number; offset: number };
  filterAttributes: FilterAttributes;
}

/** The values a filter input offers; destinations are the busiest few, not every one seen. */
const ATTRIBUTE_LIMIT = 200;

/**
 * The options for the table's filter inputs: what occurs in the org's sessions of the time
 * range, whatever the other filters (so choosing one client still offers the others).
 */
async function filterAttributes(c: DuckDBConnection, filter: SessionFilter, names: ReturnType<OrgDirectory['forOrg']>): Promise<FilterAttributes> {
  const { where, params } = filterSql({ orgId: filter.orgId, sinceS: filter.sinceS, untilS: filter.untilS, limit: 0, offset: 0 });
  const values = async (column: string): Promise<Array<string | number>> => {
    const notNull = `${where ? `${where} AND` : 'WHERE'} "${column}" IS NOT NULL`;
    const r = await c.runAndReadAll(
      `SELECT "${column}"::VARCHAR FROM sessions_all ${notNull} GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT ${ATTRIBUTE_LIMIT}`,
      params,
    );
    return r.getRows().map((row) => row[0] as string);
  };
  const protocols = (await values('protocol')).map(String).sort();
  const destAddrs = (await values('destAddr')).map(String);
  const clients = (await values('clientId')).map(Number).sort((a, b) => a - b);
  const resources = (await values('siteResourceId')).map(Number).sort((a, b) => a - b);
  const users = (await values('userId')).map(String).sort();
  return {
    protocols,
    destAddrs,
    clients: clients.map((id) => ({ id, name: names.client(id) })),
    resources: resources.map((id) => ({ id, name: names.resource(id) })),
    users: users.map((id) => ({ id, email: names.user(id)?.email ?? null, name: names.user(id)?.name ?? null })),
  };
}

/**
 * Filter options by org and time range, kept for a short while: they do not depend on the other
 * filters or the page, so paging, changing a filter and auto-refresh over a fixed range reuse
 * them instead of grouping the range again. New sessions show up in the options within `ttlMs`.
 */
export class FilterAttributeCache {
  private readonly entries = new Map<string, { at: number; value: Promise<FilterAttributes> }>();

  constructor(
    private readonly ttlMs = 30_000,
    private readonly maxEntries = 256,
  ) {}

  get(filter: SessionFilter, compute: () => Promise<FilterAttributes>): Promise<FilterAttributes> {
    const key = `${filter.orgId}|${filter.sinceS}|${filter.untilS}`;
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    const value = compute();
    this.entries.set(key, { at: now, value });
    value.catch(() => this.entries.delete(key)); // a failed computation is not remembered
    return value;
  }
}

/**
 * One page of an org's stored sessions, newest first, with names and filter options. The page,
 * the total and the options are read on connections of their own, at once.
 */
export async function networkLogPage(
  run: <T>(work: (c: DuckDBConnection) => Promise<T>) => Promise<T>,
  filter: SessionFilter,
  directory: OrgDirectory,
  cache: FilterAttributeCache,
): Promise<NetworkLogPage> {
  const names = directory.forOrg(filter.orgId!);
  const [sessions, total, attributes] = await Promise.all([
    run((c) => readSessions(c, filter)),
    run((c) => countSessions(c, filter)),
    cache.get(filter, () => run((c) => filterAttributes(c, filter, names))),
  ]);
  return {
    log: sessions.map((s) => ({ ...s, ...names.names(s) })),
    pagination: { total, limit: filter.limit, offset: filter.offset },
    filterAttributes: attributes,
  };
}

/** Sessions open now (duration null, bytes so far), filtered and paged like the stored ones. */
export function liveLogPage(open: readonly SessionRecord[], filter: SessionFilter, directory: OrgDirectory) {
  const names = directory.forOrg(filter.orgId!);
  const matching = open.filter((s) => sessionMatches(s, filter)).sort((a, b) => b.startedAt - a.startedAt || (a.sessionId < b.sessionId ? -1 : 1));
  return {
    log: matching.slice(filter.offset, filter.offset + filter.limit).map((s) => ({ ...s, ...names.names(s) })),
    pagination: { total: matching.length, limit: filter.limit, offset: filter.offset },
  };
}
