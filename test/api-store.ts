import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKey } from '../src/api/api-keys.js';
import type { SessionRecord } from '../src/flow/session-record.js';
import { IdentityMap } from '../src/identity/identity-map.js';
import { IdentityRegistry } from '../src/identity/identity-registry.js';
import { loadOrgMap, type OrgMap } from '../src/identity/org-map.js';
import { replay } from '../src/replay/replay.js';
import { SessionStore } from '../src/store/session-store.js';
import { FIXTURES } from './helpers.js';

export interface ApiStore {
  dir: string;
  db: string;
  keyFile: string;
  /** The records the replay produced, by org: the reference the API is checked against. */
  byOrg: Record<'org_fixture' | 'org_veth', SessionRecord[]>;
  maps: OrgMap[];
  key: Record<'org_fixture' | 'org_veth', string>;
}

/** The fixture captured at 20:53 that day: "now" for the API's default time range. */
export const API_NOW = new Date('2026-11-24T21:00:00Z');

/**
 * Two orgs in one store: the WireGuard fixture under site.json (org_fixture, scope resources)
 * and the veth fixtures under veth.json (org_veth, scope all), and a key for each.
 */
export async function buildApiStore(): Promise<ApiStore> {
  const dir = mkdtempSync(join(tmpdir(), 'netlog-api-'));
  const db = join(dir, 'netlog.duckdb');
  const keyFile = join(dir, 'keys.json');
  const byOrg: ApiStore['byOrg'] = { org_fixture: [], org_veth: [] };
  const maps: OrgMap[] = [];
  const store = await SessionStore.open(db);
  for (const [mapFile, scope, files] of [
    ['site.json', 'resources', ['tun-wireguard.pcap']],
    ['veth.json', 'all', ['sessions-veth.pcap', 'veth-ethernet-nsec.pcap']],
  ] as const) {
    const map = await loadOrgMap(join(FIXTURES, 'org-maps', mapFile));
    maps.push(map);
    const identifier = new IdentityRegistry(new IdentityMap(map, scope));
    const sink = byOrg[map.orgId as keyof ApiStore['byOrg']];
    await replay(files.map((f) => join(FIXTURES, f)), { identifier, onSessions: (b) => (sink.push(...b.records()), store.appendBatch(b)) });
  }
  await store.close();
  const key = { org_fixture: await createApiKey(keyFile, 'org_fixture', 'tests'), org_veth: await createApiKey(keyFile, 'org_veth') };
  return { dir, db, keyFile, byOrg, maps, key };
}
