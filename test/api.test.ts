import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApiKeys } from '../src/api/api-keys.js';
import { OrgDirectory } from '../src/api/org-directory.js';
import { createApiApp, startApi, type RunningApi } from '../src/api/server.js';
import { StoreReader } from '../src/api/store-reader.js';
import type { SessionRecord } from '../src/flow/session-record.js';
import type { OrgMap } from '../src/identity/org-map.js';
import { API_NOW, buildApiStore, type ApiStore } from './api-store.js';
import { ROOT } from './helpers.js';

/**
 * The API against a real store: fixtures replayed with two org maps (two orgs) into DuckDB,
 * served on a loopback port and read with fetch, every answer checked against the records
 * the replay produced, filtered in plain JavaScript.
 */
const NOW = API_NOW;
let dir: string, db: string, keyFile: string;
let byOrg: ApiStore['byOrg'];
let maps: OrgMap[];
let key: ApiStore['key'];
let reader: StoreReader;
let api: RunningApi;

beforeAll(async () => {
  ({ dir, db, keyFile, byOrg, maps, key } = await buildApiStore());
  reader = await StoreReader.openReadOnly(db, 10_000);
  const app = createApiApp({ reader, keys: await loadApiKeys(keyFile), directory: new OrgDirectory(() => maps), now: () => NOW });
  api = await startApi(app, '127.0.0.1', 0);
});

afterAll(async () => {
  await api.close();
  reader.close();
});

const get = (path: string, org: keyof ApiStore['key'] = 'org_veth', headers: Record<string, string> = { Authorization: `Bearer ${key[org]}` }) => fetch(api.url + path, { headers });
const logs = async (query: string, org: keyof ApiStore['key'] = 'org_veth') => {
  const res = await get(`/v1/org/${org}/logs/network?${query}`, org);
  return { res, body: (await res.json()) as { data: any; success: boolean; error: boolean; message: string; status: number } };
};
const newestFirst = (a: SessionRecord, b: SessionRecord) => b.startedAt - a.startedAt || (a.sessionId < b.sessionId ? -1 : 1);
const host = (addr: string) => addr.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');

describe('API: keys', () => {
  it('serves /healthz and the page without a key', async () => {
    expect(await (await fetch(`${api.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const page = await fetch(`${api.url}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('Network Logs');
  });

  it('refuses a missing or unknown key with 401, and another org with 403', async () => {
    for (const [headers, message] of [
      [{}, 'missing Authorization: Bearer <key> header'],
      [{ Authorization: 'Basic abc' }, 'missing Authorization: Bearer <key> header'],
      [{ Authorization: 'Bearer nlk_not-a-key' }, 'API key not recognised'],
    ] as const) {
      const res = await get('/v1/org/org_veth/logs/network', 'org_veth', headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.json()).toEqual({ data: null, success: false, error: true, message, status: 401 });
    }
    for (const route of ['', '/export', '/live']) {
      const res = await get(`/v1/org/org_veth/logs/network${route}`, 'org_fixture');
      expect(res.status).toBe(403);
      expect((await res.json()).message).toBe('this key reads org "org_fixture", not "org_veth"');
    }
    expect((await get('/metrics', 'org_veth', {})).status).toBe(401);
  });

  it('tells a key which org it reads', async () => {
    expect((await (await get('/v1/orgs', 'org_fixture')).json()).data).toEqual({ orgs: [{ orgId: 'org_fixture' }] });
  });
});

describe('API: the network-logs route', () => {
  const filters: Array<[string, (r: SessionRecord) => boolean]> = [
    ['', () => true],
    ['protocol=udp', (r) => r.protocol === 'udp'],
    ['protocol=tcp&destAddr=10.77.0.2:8080', (r) => r.protocol === 'tcp' && r.destAddr === '10.77.0.2:8080'],
    ['sourceAddr=10.77.0.1', (r) => host(r.sourceAddr) === '10.77.0.1'],
    ['sourceAddr=FD77:0::1', (r) => host(r.sourceAddr) === 'fd77::1'],
    ['destAddr=10.77.0.0/30', (r) => host(r.destAddr) === '10.77.0.2'],
    ['destAddr=fd77::/64', (r) => r.destAddr.startsWith('[fd77::')],
    ['clientId=22', (r) => r.clientId === 22],
    ['userId=user_bob', (r) => r.userId === 'user_bob'],
    ['siteResourceId=202', (r) => r.siteResourceId === 202],
    ['siteId=2', () => true],
    ['siteId=1', () => false],
    ['timeStart=2026-11-24T20:53:05Z', (r) => r.timestamp >= Date.parse('2026-11-24T20:53:05Z') / 1000],
    ['timeEnd=2026-11-24T20:53:05Z', (r) => r.timestamp <= Date.parse('2026-11-24T20:53:05Z') / 1000],
    ['timeStart=2026-11-24T20:00:00Z&timeEnd=2026-11-24T20:30:00Z', () => false],
    ['timeStart=2026-11-01T00:00:00Z&clientId=21&protocol=tcp', (r) => r.clientId === 21 && r.protocol === 'tcp'],
  ];

  it.each(filters)('filter %s: the org\'s matching sessions, newest first, with names', async (query, keep) => {
    const { res, body } = await logs(`${query}&limit=1000`);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ success: true, error: false, status: 200 });
    const want = byOrg.org_veth!.filter(keep).sort(newestFirst);
    expect(body.data.log.map((r: SessionRecord) => r.sessionId)).toEqual(want.map((r) => r.sessionId));
    expect(body.data.pagination).toEqual({ total: want.length, limit: 1000, offset: 0 });
    for (const r of body.data.log) {
      const { clientName, resourceName, userEmail, userName, ...stored } = r;
      expect(stored).toEqual(want.find((w) => w.sessionId === r.sessionId));
      expect(clientName).toBe({ 21: 'bob, build box', 22: '=monitor' }[r.clientId as number] ?? null);
      expect(resourceName).toBe({ 201: 'intranet', 202: 'dns', 203: 'v6 services' }[r.siteResourceId as number] ?? null);
      expect([userEmail, userName]).toEqual(r.userId === 'user_bob' ? ['bob@example.com', 'Bob'] : [null, null]);
    }
  });

  it('defaults to the last 7 days and 100 rows, and keeps each org to itself', async () => {
    const { body } = await logs('', 'org_fixture');
    expect(body.data.pagination).toEqual({ total: byOrg.org_fixture!.length, limit: 100, offset: 0 });
    expect(body.data.log.every((r: SessionRecord) => r.orgId === 'org_fixture')).toBe(true);
    expect(body.data.log[0].userEmail).toBe('alice@example.com');
  });

  it('pages: limit and offset walk the whole result once', async () => {
    const all = byOrg.org_veth!.slice().sort(newestFirst).map((r) => r.sessionId);
    const seen: string[] = [];
    for (let offset = 0; offset < all.length + 5; offset += 5) {
      const { body } = await logs(`limit=5&offset=${offset}`);
      expect(body.data.pagination).toEqual({ total: all.length, limit: 5, offset });
      seen.push(...body.data.log.map((r: SessionRecord) => r.sessionId));
    }
    expect(seen).toEqual(all);
  });

  it('offers filter values from the org and time range, named from the org map', async () => {
    const { body } = await logs('clientId=22');
    const a = body.data.filterAttributes;
    expect(a.protocols).toEqual(['tcp', 'udp']);
    expect(a.clients).toEqual([{ id: 21, name: 'bob, build box' }, { id: 22, name: '=monitor' }]);
    expect(a.resources).toEqual([{ id: 201, name: 'intranet' }, { id: 202, name: 'dns' }, { id: 203, name: 'v6 services' }]);
    expect(a.users).toEqual([{ id: 'user_bob', email: 'bob@example.com', name: 'Bob' }]);
    expect(a.destAddrs[0]).toBe('10.77.0.2:8080'); // the busiest first
    expect(new Set(a.destAddrs)).toEqual(new Set(byOrg.org_veth!.map((r) => r.destAddr)));
  });

  it.each([
    ['limit=0', 'limit "0": must be a whole number from 1 to 1000'],
    ['limit=1001', 'limit "1001": must be a whole number from 1 to 1000'],
    ['offset=-1', 'offset "-1": must be a whole number from 0 to 9007199254740991'],
    ['protocol=icmp', 'protocol "icmp": must be tcp or udp'],
    ['clientId=abc', 'clientId "abc": not a whole number id'],
    ['siteResourceId=1.5', 'siteResourceId "1.5": not a whole number id'],
    ['timeStart=yesterday', 'timeStart "yesterday": not an ISO 8601 time or a span like 24h or 7d'],
    ['timeStart=2026-11-24T21:00:00Z&timeEnd=2026-11-24T20:00:00Z', 'timeStart "2026-11-24T21:00:00Z" is after timeEnd "2026-11-24T20:00:00Z"'],
    ['sourceAddr=10.0.0.300', 'sourceAddr "10.0.0.300": not an address, ip:port or CIDR'],
    ['destAddr=10.0.0.0/40', 'destAddr "10.0.0.0/40": an IPv4 prefix is at most /32'],
    ['userId=', 'userId: must not be empty'],
    ['clientid=21', 'unknown query parameter clientid'],
  ])('%s is a 400 naming the parameter', async (query, message) => {
    const { res, body } = await logs(query);
    expect(res.status).toBe(400);
    expect(body).toEqual({ data: null, success: false, error: true, message, status: 400 });
  });
});

describe('API: CSV export', () => {
  const run = promisify(execFile);
  const cli = join(ROOT, 'dist', 'src', 'cli', 'main.js');

  it.each([
    ['', [] as string[]],
    ['clientId=21&protocol=tcp', ['--client', '21', '--protocol', 'tcp']],
    ['destAddr=fd77::/64', ['--dst', 'fd77::/64']],
    ['siteResourceId=202', ['--resource', '202']],
  ])('%s: streamed, byte-equal to `netlog export` (DuckDB COPY) with the same filters', async (query, options) => {
    const res = await get(`/v1/org/org_veth/logs/network/export?timeStart=2026-11-01T00:00:00Z&${query}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="network-logs-org_veth-2026-11-24T21-00-00-000Z.csv"');
    const body = await res.text();
    const out = join(dir, `export-${options.join('') || 'all'}.csv`.replace(/[/:]/g, '_'));
    await run('node', [cli, 'export', '--db', db, '--site', '2', '--since', '2026-11-01T00:00:00Z', '--out', out, ...options]);
    expect(body).toBe(readFileSync(out, 'utf8'));
    expect(body.split('\n').length - 2).toBeGreaterThan(0);
  });

  it('`netlog export --out -` writes the same bytes to a stdout that is a socket (as a parent process gives)', async () => {
    const out = join(dir, 'export-stdout-reference.csv');
    await run('node', [cli, 'export', '--db', db, '--out', out]);
    const { stdout } = await run('node', [cli, 'export', '--db', db, '--out', '-']);
    expect(stdout).toBe(readFileSync(out, 'utf8'));
  });

  it('ignores paging: an export is every matching session', async () => {
    const body = await (await get('/v1/org/org_veth/logs/network/export?limit=1')).text();
    expect(body.trimEnd().split('\n')).toHaveLength(1 + byOrg.org_veth!.length);
  });
});

describe('API: live sessions and metrics', () => {
  it('says where live sessions come from when the server only reads a store', async () => {
    const res = await get('/v1/org/org_veth/logs/network/live');
    expect(res.status).toBe(404);
    expect((await res.json()).message).toMatch(/netlog capture --serve/);
  });

  it('filters and pages open sessions like stored ones', async () => {
    // Every replayed record as if still open: the live route must pick what the stored route picks.
    const open = byOrg.org_veth!.concat(byOrg.org_fixture!).map((r) => ({ ...r, duration: null, endedAt: null, endReason: null }));
    const keys = await loadApiKeys(keyFile);
    const app = createApiApp({ reader, keys, directory: new OrgDirectory(() => maps), live: () => open, now: () => NOW });
    for (const query of ['limit=1000', 'protocol=udp&limit=1000', 'destAddr=fd77::/64&limit=1000', 'sourceAddr=10.77.0.0/24&clientId=21', 'limit=3&offset=3']) {
      const live = await (await app.request(`/v1/org/org_veth/logs/network/live?${query}`, { headers: { Authorization: `Bearer ${key.org_veth}` } })).json();
      const { body } = await logs(query);
      expect(live.data.log.map((r: SessionRecord) => r.sessionId)).toEqual(body.data.log.map((r: SessionRecord) => r.sessionId));
      expect(live.data.pagination).toEqual(body.data.pagination);
      expect(live.data.log.every((r: SessionRecord) => r.duration === null)).toBe(true);
    }
  });

  it('counts requests by route and status in Prometheus text', async () => {
    const res = await get('/metrics');
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    const text = await res.text();
    expect(text).toContain('# TYPE netlog_api_requests_total counter');
    expect(text).toMatch(/netlog_api_requests_total\{route="\/v1\/org\/:orgId\/logs\/network",status="400"\} 12/);
    expect(text).toMatch(/netlog_api_request_seconds_count\{route="\/v1\/org\/:orgId\/logs\/network"\} \d+/);
  });

  it('stops a query past the time limit with a clear error', async () => {
    const slow = StoreReader.shared((reader as unknown as { instance: never }).instance, 50);
    await expect(slow.run((c) => c.run('SELECT count(*) FROM range(100000000000) a'))).rejects.toThrow(/ran longer than 0.05 s/);
  });
});
