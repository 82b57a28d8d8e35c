/**
 * Identity at scale: an org map of 100k clients and 100k site resources covering the synthetic
 * capture's addresses (IPv4 and IPv6 clients, host and CIDR resources with port lists), then
 *   node dist/bench/identity.js make MAP          write the map
 *   node dist/bench/identity.js lookup MAP        cost of one look-up per new flow (1M flows)
 * The replay-with-map figure comes from replay-case.js with the map as its second argument.
 */
import { writeFileSync } from 'node:fs';
import { IdentityMap } from '../src/identity/identity-map.js';
import { IdentityRegistry } from '../src/identity/identity-registry.js';
import { loadOrgMap } from '../src/identity/org-map.js';

const [step, file] = process.argv.slice(2) as [string, string];
const N = 100_000;
const ipv4 = (w: number) => `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
const CLIENT_BASE = ((100 << 24) | (90 << 16) | (128 << 8)) >>> 0; // as bench/synthetic-capture.ts
const SERVER_BASE = ((10 << 24) | (1 << 16)) >>> 0;

if (step === 'make') {
  const clients = [];
  for (let i = 0; i < N; i++) {
    const addresses =
      i < 32768 ? [ipv4(CLIENT_BASE + i), `fd90::${i.toString(16)}`] : [ipv4((((100 << 24) | (64 << 16)) + i) >>> 0)];
    clients.push({ clientId: i + 1, ...(i % 3 ? { userId: `user_${i}` } : {}), addresses });
  }
  const resources = [];
  for (let i = 0; i < N; i++) {
    const k = i % 4;
    if (k === 0) resources.push({ siteResourceId: i + 1, mode: 'host', destination: ipv4(SERVER_BASE + (i % 4096)), protocol: 'tcp', ports: `${22 + (i % 7)},443,8000-8100` });
    else if (k === 1) resources.push({ siteResourceId: i + 1, mode: 'cidr', destination: `10.${(i >> 8) & 255}.${i & 255}.0/24` });
    else if (k === 2) resources.push({ siteResourceId: i + 1, mode: 'host', destination: `fd00:1::${(i % 4096).toString(16)}`, ports: '1-65535' });
    else resources.push({ siteResourceId: i + 1, mode: 'cidr', destination: `10.${(i >> 12) & 255}.0.0/${16 + (i % 8)}`, protocol: 'udp', ports: '53' });
  }
  writeFileSync(file, JSON.stringify({ orgId: 'org_bench', siteId: 1, retentionDays: 30, clientSubnet: ['100.64.0.0/10', 'fd90::/64'], clients, siteResources: resources }));
  process.stdout.write(JSON.stringify({ step, clients: clients.length, siteResources: resources.length }) + '\n');
} else {
  const t0 = process.hrtime.bigint();
  const registry = new IdentityRegistry(new IdentityMap(await loadOrgMap(file), 'all'));
  const loadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const LOOKUPS = 1_000_000;
  const origin = [0, 0, 0, 0];
  const responder = [0, 0, 0, 0];
  let matched = 0;
  const refs = { generation: 0, client: -1, resource: -1 };
  const start = process.hrtime.bigint();
  for (let i = 0; i < LOOKUPS; i++) {
    const v6 = i % 5 === 0;
    const c = (i * 2654435761) % 40000;
    const s = (i * 40503) % 4096;
    if (v6) {
      origin[0] = 0xfd900000; origin[1] = 0; origin[2] = 0; origin[3] = c;
      responder[0] = 0xfd000001; responder[1] = 0; responder[2] = 0; responder[3] = s;
    } else {
      origin[0] = (CLIENT_BASE + c) >>> 0; origin[1] = origin[2] = origin[3] = 0;
      responder[0] = (SERVER_BASE + s) >>> 0; responder[1] = responder[2] = responder[3] = 0;
    }
    registry.identify(v6 ? 6 : 4, origin, responder, i % 7 ? 'tcp' : 'udp', i % 7 ? 443 : 53, refs);
    if (refs.resource >= 0) matched++;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(
    JSON.stringify({ step, lookups: LOOKUPS, matched, loadSeconds, nsPerLookup: (seconds / LOOKUPS) * 1e9, peakRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n',
  );
}
