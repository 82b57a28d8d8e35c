import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPPROTO_TCP, PacketInfo, TCP_SYN } from '../src/decode/packet-info.js';
import { PresetIdentity, type FlowIdentity, type IdentityRefs } from '../src/flow/flow-identifier.js';
import { FlowTracker } from '../src/flow/flow-tracker.js';
import type { SessionRecord } from '../src/flow/session-record.js';
import { flattenMatcher } from '../src/identity/flat-matcher.js';
import { IdentityMap } from '../src/identity/identity-map.js';
import type { Scope } from '../src/identity/identity-matcher.js';
import { IdentityRegistry } from '../src/identity/identity-registry.js';
import { maskWord, parsePrefix, type IpPrefix } from '../src/identity/ip-prefix.js';
import { loadOrgMap, type OrgMap, type ResolvedResource } from '../src/identity/org-map.js';
import { OrgMapWatcher } from '../src/identity/org-map-watcher.js';
import { IdentityAhead } from '../src/replay/identity-ahead.js';
import { replay } from '../src/replay/replay.js';
import { FIXTURES, ROOT } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'netlog-identity-'));

/** The identity the registry gives a flow's refs. */
function identityOf(registry: IdentityRegistry, r: IdentityRefs): FlowIdentity {
  const out: FlowIdentity = { orgId: null, siteId: null, clientId: null, userId: null, siteResourceId: null };
  registry.describe(r.generation, r.client, r.resource, out);
  return out;
}
let n = 0;
async function mapOf(json: unknown): Promise<IdentityMap> {
  const file = join(tmp, `map-${n++}.json`);
  writeFileSync(file, JSON.stringify(json));
  return new IdentityMap(await loadOrgMap(file));
}
const base = { orgId: 'org_1', siteId: 3, retentionDays: 7, clientSubnet: '100.90.128.0/17' };
const addr = (text: string) => {
  const p = parsePrefix(text)!;
  return [p.version, p.words] as const;
};

describe('matching', () => {
  it('clients: the most specific prefix wins; a machine client has no user', async () => {
    const m = await mapOf({
      ...base,
      clients: [
        { clientId: 1, userId: 'u_wide', addresses: ['100.90.128.0/24'] },
        { clientId: 2, userId: 'u_narrow', addresses: ['100.90.128.0/28'] },
        { clientId: 3, addresses: ['100.90.128.9', 'fd90::9'] },
      ],
      siteResources: [],
    });
    expect(m.client(...addr('100.90.128.200'))?.clientId).toBe(1);
    expect(m.client(...addr('100.90.128.5'))?.clientId).toBe(2);
    const machine = m.client(...addr('100.90.128.9'));
    expect(machine?.clientId).toBe(3);
    expect(machine?.userId).toBeNull();
    expect(m.client(...addr('fd90::9'))?.clientId).toBe(3);
    expect(m.client(...addr('fd90::8'))).toBeNull();
    expect(m.client(...addr('10.0.0.1'))).toBeNull();
  });

  it('resources: host before CIDR, then the longest prefix, then the narrowest port range', async () => {
    const m = await mapOf({
      ...base,
      clients: [],
      siteResources: [
        { siteResourceId: 10, mode: 'cidr', destination: '10.0.0.0/8' },
        { siteResourceId: 11, mode: 'cidr', destination: '10.1.0.0/16' },
        { siteResourceId: 12, mode: 'cidr', destination: '10.1.2.3/32', protocol: 'tcp' },
        { siteResourceId: 13, mode: 'host', destination: '10.1.2.3', protocol: 'tcp', ports: '1-65535' },
        { siteResourceId: 14, mode: 'host', destination: '10.1.2.3', protocol: 'tcp', ports: '8000-8100' },
        { siteResourceId: 15, mode: 'host', destination: '10.1.2.3', protocol: 'tcp', ports: '22,8080' },
        { siteResourceId: 16, mode: 'host', destination: '10.1.2.3', protocol: 'udp', ports: '53' },
        { siteResourceId: 17, mode: 'cidr', destination: 'fd00::/64', ports: '443' },
        { siteResourceId: 18, mode: 'host', destination: 'fd00::5' },
        { siteResourceId: 19, mode: 'host', destination: 'localhost', protocol: 'tcp' },
      ],
    });
    const id = (a: string, proto: 'tcp' | 'udp', port: number) => m.resource(...addr(a), proto, port)?.siteResourceId ?? null;
    expect(id('10.1.2.3', 'tcp', 8080)).toBe(15); // host; 8080 alone beats 8000-8100 and 1-65535
    expect(id('10.1.2.3', 'tcp', 8050)).toBe(14);
    expect(id('10.1.2.3', 'tcp', 9000)).toBe(13);
    expect(id('10.1.2.3', 'udp', 53)).toBe(16);
    expect(id('10.1.2.3', 'udp', 54)).toBe(11); // no host takes udp/54: the longest CIDR that does (12 is tcp only)
    expect(id('10.1.9.9', 'tcp', 1)).toBe(11);
    expect(id('10.9.9.9', 'udp', 1)).toBe(10);
    expect(id('11.0.0.1', 'tcp', 80)).toBeNull();
    expect(id('fd00::5', 'udp', 9)).toBe(18);
    expect(id('fd00::6', 'tcp', 443)).toBe(17);
    expect(id('fd00::6', 'tcp', 444)).toBeNull();
    expect(id('127.0.0.1', 'tcp', 80)).toBe(19); // a hostname, resolved at load
  });
});

/**
 * The look-up tables (hash table per prefix length, port segments) against the rules written
 * out plainly: random maps whose prefixes overlap, nest and repeat, random ports and protocols.
 */
describe('matching agrees with a brute-force reading of the rules', () => {
  // A small universe, so prefixes overlap: 10.0.0.0/8 and fd00::/16, lengths from both ends.
  const v4Word = fc.integer({ min: 0, max: 0xffff }).map((x) => ((10 << 24) | ((x & 0x3) << 16) | (x & 0x3f)) >>> 0);
  const v6Words = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 7 })).map(([a, b]) => [0xfd000000 | a, 0, b, 7 * b] as const);
  const prefix = fc.oneof(
    fc.tuple(v4Word, fc.constantFrom(8, 14, 16, 24, 26, 30, 32)).map(([w, len]): IpPrefix => ({ version: 4, words: [maskWord(w, len), 0, 0, 0], length: len })),
    fc.tuple(v6Words, fc.constantFrom(16, 64, 96, 120, 128)).map(
      ([w, len]): IpPrefix => ({ version: 6, words: w.map((x, i) => maskWord(x, Math.max(0, Math.min(32, len - 32 * i)))) as IpPrefix['words'], length: len }),
    ),
  );
  const text = (p: IpPrefix) =>
    p.version === 4
      ? `${p.words[0] >>> 24}.${(p.words[0] >>> 16) & 255}.${(p.words[0] >>> 8) & 255}.${p.words[0] & 255}/${p.length}`
      : `${p.words.flatMap((w) => [(w >>> 16).toString(16), (w & 0xffff).toString(16)]).join(':')}/${p.length}`;
  const range = fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 12 })).map(([lo, w]): [number, number] => [lo, Math.min(65535, lo + w)]);
  const resource = fc.record({
    mode: fc.constantFrom('host' as const, 'cidr' as const),
    prefix,
    protocol: fc.constantFrom(undefined, 'tcp' as const, 'udp' as const),
    portRanges: fc.oneof(fc.constant(null), fc.array(range, { minLength: 1, maxLength: 3 })),
  });
  const contains = (p: IpPrefix, version: number, w: readonly number[]) => p.version === version && p.words.every((x, i) => maskWord(w[i]!, Math.max(0, Math.min(32, p.length - 32 * i))) === x);

  function expectedClient(map: OrgMap, version: number, w: readonly number[]): number {
    let best = -1;
    let bestLength = -1;
    map.clients.forEach((c, i) => {
      for (const a of c.addresses) {
        const p = parsePrefix(a)!;
        if (contains(p, version, w) && p.length > bestLength) [best, bestLength] = [i, p.length];
      }
    });
    return best;
  }

  function expectedResource(map: OrgMap, version: number, w: readonly number[], proto: 'tcp' | 'udp', port: number): number {
    for (const mode of ['host', 'cidr'] as const) {
      const lengths = [...new Set(map.siteResources.flatMap((r) => (r.mode === mode && contains(r.prefixes[0]!, version, w) ? [r.prefixes[0]!.length] : [])))].sort((a, b) => b - a);
      for (const length of lengths) {
        let best = -1;
        let bestWidth = Infinity;
        map.siteResources.forEach((r, i) => {
          if (r.mode !== mode || r.prefixes[0]!.length !== length || !contains(r.prefixes[0]!, version, w)) return;
          if (r.protocol !== undefined && r.protocol !== proto) return;
          for (const [lo, hi] of r.portRanges ?? [[1, 65535]]) if (port >= lo && port <= hi && hi - lo < bestWidth) [best, bestWidth] = [i, hi - lo];
        });
        if (best >= 0) return best;
      }
    }
    return -1;
  }

  it('clients and resources, over 300 random maps', () => {
    const query = fc.record({ v6: fc.boolean(), v4: v4Word, v6w: v6Words, proto: fc.constantFrom('tcp' as const, 'udp' as const), port: fc.integer({ min: 0, max: 60 }) });
    fc.assert(
      fc.property(fc.array(prefix, { maxLength: 12 }), fc.array(resource, { maxLength: 30 }), fc.array(query, { minLength: 20, maxLength: 20 }), (clients, resources, queries) => {
        const map: OrgMap = {
          orgId: 'org_p',
          siteId: 1,
          retentionDays: 1,
          clientSubnets: [],
          clients: clients.map((p, i) => ({ clientId: i + 1, addresses: [text(p)] })),
          siteResources: resources.map((r, i): ResolvedResource => ({
            siteResourceId: i + 1,
            mode: r.mode,
            destination: text(r.prefix),
            ...(r.protocol ? { protocol: r.protocol } : {}),
            prefixes: [r.prefix],
            portRanges: r.portRanges,
          })),
        };
        const m = new IdentityMap(map, 'all');
        const refs: IdentityRefs = { generation: 0, client: -1, resource: -1 };
        for (const q of queries) {
          const version = q.v6 ? 6 : 4;
          const w = q.v6 ? [...q.v6w] : [q.v4, 0, 0, 0];
          m.match(version, w, w, q.proto, q.port, refs);
          expect(refs.client).toBe(expectedClient(map, version, w));
          expect(refs.resource).toBe(expectedResource(map, version, w, q.proto, q.port));
        }
      }),
      { numRuns: 300, seed: 20261125 },
    );
  });
});

describe('org map validation: every error names its path and the bad value', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['bad client address', { ...base, clients: [{ clientId: 1, addresses: ['100.90.128.300'] }], siteResources: [] }, /clients\[0\]\.addresses\[0\]: "100\.90\.128\.300" is not an IP address or CIDR/],
    ['duplicate client id', { ...base, clients: [{ clientId: 1, addresses: ['1.1.1.1'] }, { clientId: 1, addresses: ['1.1.1.2'] }], siteResources: [] }, /clients\[1\]\.clientId: 1 is used twice/],
    ['host mode with a CIDR', { ...base, clients: [], siteResources: [{ siteResourceId: 1, mode: 'host', destination: '10.0.0.0/8' }] }, /siteResources\[0\]\.destination: "10\.0\.0\.0\/8" is a CIDR/],
    ['bad ports', { ...base, clients: [], siteResources: [{ siteResourceId: 1, mode: 'cidr', destination: '10.0.0.0/8', ports: '80-70' }] }, /siteResources\[0\]\.ports: "80-70" is not a port list/],
    ['bad mode', { ...base, clients: [], siteResources: [{ siteResourceId: 1, mode: 'subnet', destination: '10.0.0.0/8' }] }, /siteResources\[0\]\.mode: "subnet"/],
    ['unknown field', { ...base, clients: [], siteResources: [], extra: 1 }, /org map \(top level\)/],
    ['missing orgId', { siteId: 1, retentionDays: 1, clientSubnet: '10.0.0.0/8', clients: [], siteResources: [] }, /orgId: missing/],
    ['negative retention', { ...base, retentionDays: -1, clients: [], siteResources: [] }, /retentionDays: -1/],
    ['unresolvable host', { ...base, clients: [], siteResources: [{ siteResourceId: 1, mode: 'host', destination: 'no-such-host.invalid' }] }, /siteResources\[0\]\.destination: "no-such-host\.invalid" does not resolve/],
  ];
  for (const [name, json, message] of cases) {
    it(name, async () => {
      await expect(mapOf(json)).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID', message });
    });
  }

  it('not JSON, or no file: a clear error naming the file', async () => {
    const file = join(tmp, 'broken.json');
    writeFileSync(file, '{ "orgId": ');
    await expect(loadOrgMap(file)).rejects.toThrow(/broken\.json: org map is not JSON/);
    await expect(loadOrgMap(join(tmp, 'none.json'))).rejects.toThrow(/cannot read the org map/);
  });
});

describe('scope and ids on replayed captures', () => {
  async function sessions(file: string, scope: Scope) {
    const identifier = new IdentityRegistry(new IdentityMap(await loadOrgMap(join(FIXTURES, 'org-maps/site.json')), scope));
    const out: SessionRecord[] = [];
    const { tracker } = await replay([join(FIXTURES, file)], { identifier, onSession: (r) => out.push(r) });
    return { out, outOfScope: tracker.outOfScope };
  }

  it('resources: only client-to-resource sessions, with the right ids', async () => {
    const { out, outOfScope } = await sessions('tun-wireguard.pcap', 'resources');
    expect(out.map((s) => [s.destAddr.replace(/^.*:/, ''), s.protocol, s.siteResourceId, s.clientId, s.userId, s.orgId, s.siteId])).toEqual([
      ['8080', 'tcp', 101, 7, 'user_alice', 'org_fixture', 1],
      ['8080', 'tcp', 101, 7, 'user_alice', 'org_fixture', 1],
      ['8080', 'tcp', 102, 7, 'user_alice', 'org_fixture', 1],
      ['5353', 'udp', 103, 7, 'user_alice', 'org_fixture', 1],
    ]);
    expect(outOfScope).toBe(1); // the refused connection to port 9: no resource there
  });

  it('clients: every session from a client address; all: everything', async () => {
    expect((await sessions('tun-wireguard.pcap', 'clients')).out.map((s) => s.siteResourceId)).toEqual([101, 101, 102, 103, null]);
    // The veth capture's addresses are outside the tunnel: out of scope for clients, kept by all.
    const veth = await sessions('sessions-veth.pcap', 'clients');
    expect([veth.out.length, veth.outOfScope]).toEqual([0, 13]);
    const all = await sessions('sessions-veth.pcap', 'all');
    expect(all.out.length).toBe(13);
    expect(all.out.every((s) => s.clientId === null && s.siteResourceId === null && s.orgId === 'org_fixture')).toBe(true);
  });
});

describe("new flows' identity looked up ahead by a replay's decoding thread", () => {
  // The decoding thread runs the built code (dist/), so the replay here is the built one too.
  const built = async <T>(module: string): Promise<T> => (await import(pathToFileURL(join(ROOT, 'dist/src', module)).href)) as T;
  const builtParts = async () => ({
    builtReplay: (await built<typeof import('../src/replay/replay.js')>('replay/replay.js')).replay,
    BuiltRegistry: (await built<typeof import('../src/identity/identity-registry.js')>('identity/identity-registry.js')).IdentityRegistry,
    BuiltMap: (await built<typeof import('../src/identity/identity-map.js')>('identity/identity-map.js')).IdentityMap,
  });

  it('gives the sessions, ids and scope counts of the one-thread replay, with the look-ups done ahead', async () => {
    const { builtReplay, BuiltRegistry, BuiltMap } = await builtParts();
    const files = ['tun-wireguard.pcap', 'sessions-veth.pcap', 'two-interfaces.pcapng'].map((f) => join(FIXTURES, f));
    for (const [map, scope] of [['site', 'resources'], ['site', 'clients'], ['site', 'all'], ['veth', 'all'], ['veth', 'resources']] as const) {
      const orgMap = await loadOrgMap(join(FIXTURES, `org-maps/${map}.json`));
      const run = async (parallel: boolean) => {
        const out: SessionRecord[] = [];
        const identifier = new BuiltRegistry(new BuiltMap(orgMap, scope));
        const { tracker } = await builtReplay(files, { identifier, parallel, onSession: (r) => out.push(r) });
        return { out, outOfScope: tracker.outOfScope, ahead: tracker.identifiedAhead };
      };
      const single = await run(false);
      const parallel = await run(true);
      expect(parallel.out, `${map} ${scope}`).toEqual(single.out);
      expect(parallel.outOfScope).toBe(single.outOfScope);
      expect(single.out.some((s) => s.clientId !== null)).toBe(true);
      expect(single.ahead).toBe(0);
      // Every flow of these captures opens with a SYN or a UDP packet: all were looked up ahead.
      expect(parallel.ahead).toBe(single.out.length + single.outOfScope);
    }
  });

  it('a reload during the replay: answers from ahead stop, the new map names the flows after it, no session is lost', async () => {
    const { builtReplay, BuiltRegistry, BuiltMap } = await builtParts();
    const files = Array.from({ length: 20 }, () => join(FIXTURES, 'sessions-veth.pcap')); // ~12 slots of the ring
    const orgMap = await loadOrgMap(join(FIXTURES, 'org-maps/veth.json'));
    const renamed = { ...orgMap, clients: orgMap.clients.map((c) => (c.userId ? { ...c, userId: `${c.userId}_v2` } : c)) };
    const registry = new BuiltRegistry(new BuiltMap(orgMap, 'all'));
    const out: SessionRecord[] = [];
    const { tracker } = await builtReplay(files, {
      identifier: registry,
      parallel: true,
      onSessions: (b) => {
        if (out.length === 0) registry.replace(new BuiltMap(renamed, 'all')); // after the first slot's sessions
        out.push(...b.records());
      },
    });
    const single: SessionRecord[] = [];
    await builtReplay(files, { onSession: (r) => single.push(r) });
    expect(out.length).toBe(single.length);
    const users = new Set(out.map((r) => r.userId));
    expect(users).toEqual(new Set(['user_bob', 'user_bob_v2']));
    expect(tracker.identifiedAhead).toBeGreaterThan(0);
    expect(tracker.identifiedAhead).toBeLessThan(out.length / 2);
  });

  it("is sent the map's tables flattened for the decoding addon once, at load, in shared memory", async () => {
    const map = new IdentityMap(await loadOrgMap(join(FIXTURES, 'org-maps/site.json')), 'all');
    const flat = map.sharedMatcher.flat!;
    expect(flat.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(flat)).toEqual(Array.from(flattenMatcher(map.matcher.data())));
    expect(new IdentityRegistry(map).ahead().matcher.flat).toBe(flat);
    expect(new IdentityAhead(map.sharedMatcher).flattened).toBe(flat);
    // Data without it (a matcher's plain data()) is flattened by the decoding thread itself.
    expect(Array.from(new IdentityAhead(map.matcher.data()).flattened)).toEqual(Array.from(flat));
  });

  it("the flow table takes an answer from ahead only while the map it came from is in force", async () => {
    const twoClients = (userIds: [string, string]) =>
      mapOf({
        ...base,
        clients: [
          { clientId: 1, userId: userIds[0], addresses: ['100.90.128.2'] },
          { clientId: 2, userId: userIds[1], addresses: ['100.90.128.3'] },
        ],
        siteResources: [{ siteResourceId: 101, mode: 'host', destination: '100.90.128.1' }],
      });
    const registry = new IdentityRegistry(await twoClients(['user_a', 'user_b']));
    const out: SessionRecord[] = [];
    const tracker = new FlowTracker({ identifier: registry, onSession: (r) => out.push(r) });
    tracker.identifyAheadFrom(registry.generation);
    // A SYN from the first client, carrying the second client's position as its answer: the
    // answer is taken as it is, so the session shows the second client.
    const syn = (srcPort: number) => {
      const info = new PacketInfo();
      Object.assign(info, { ipVersion: 4, protocol: IPPROTO_TCP, src0: parsePrefix('100.90.128.2')!.words[0], dst0: parsePrefix('100.90.128.1')!.words[0] });
      Object.assign(info, { srcPort, dstPort: 443, tcpFlags: TCP_SYN, seq: 1000, presetIdentity: PresetIdentity.IN_SCOPE, presetClient: 1, presetResource: 0 });
      return info;
    };
    tracker.packet(syn(40000), 1_800_000_000, 0);
    registry.replace(await twoClients(['user_a2', 'user_b2']));
    // After a reload the answer from ahead is stale: the flow table looks the flow up itself.
    tracker.packet(syn(40001), 1_800_000_001, 0);
    tracker.flush('capture-end');
    expect(out.map((s) => [s.clientId, s.userId, s.siteResourceId])).toEqual([
      [2, 'user_b', 101],
      [1, 'user_a2', 101],
    ]);
    expect(tracker.identifiedAhead).toBe(1);
  });
});

describe('reloading the org map', () => {
  const mapJson = (userId: string) => ({
    ...base,
    clientSubnet: '100.90.128.0/24',
    clients: [{ clientId: 7, userId, addresses: ['100.90.128.2'] }],
    siteResources: [{ siteResourceId: 101, mode: 'host', destination: '100.90.128.1' }],
  });
  const origin = parsePrefix('100.90.128.2')!.words;
  const responder = parsePrefix('100.90.128.1')!.words;

  it('open flows keep the identity they started with; new flows get the new map; a bad map is rejected', async () => {
    const file = join(tmp, 'reloaded.json');
    writeFileSync(file, JSON.stringify(mapJson('user_old')));
    const registry = new IdentityRegistry(new IdentityMap(await loadOrgMap(file)));
    const reports: string[] = [];
    const watcher = new OrgMapWatcher(file, 'resources', registry, (o) => reports.push(o.message));
    const refs = () => ({ generation: 0, client: -1, resource: -1 });
    const who = (r: ReturnType<typeof refs>) => identityOf(registry, r);
    const before = refs();
    registry.identify(4, origin, responder, 'tcp', 443, before);

    writeFileSync(file, JSON.stringify(mapJson('user_new')));
    expect((await watcher.reload()).ok).toBe(true);
    const after = refs();
    registry.identify(4, origin, responder, 'tcp', 443, after);
    expect(who(before).userId).toBe('user_old');
    expect(who(after).userId).toBe('user_new');

    writeFileSync(file, '{ "orgId": 5 }');
    const bad = await watcher.reload();
    expect(bad.ok).toBe(false);
    expect(bad.message).toMatch(/rejected, the previous one stays: .*orgId: 5/);
    const later = refs();
    registry.identify(4, origin, responder, 'tcp', 443, later);
    expect(who(later).userId).toBe('user_new');
    expect(reports).toEqual([expect.stringMatching(/reloaded: 1 clients, 1 site resources/), bad.message]);
  });

  it('a file change and SIGHUP each reload it', async () => {
    const file = join(tmp, 'watched.json');
    writeFileSync(file, JSON.stringify(mapJson('v1')));
    const registry = new IdentityRegistry(new IdentityMap(await loadOrgMap(file)));
    const reloaded = () => new Promise<string>((resolve) => (done = resolve));
    let done: (m: string) => void = () => {};
    const watcher = new OrgMapWatcher(file, 'resources', registry, (o) => done(o.message)).start();
    try {
      let next = reloaded();
      writeFileSync(file, JSON.stringify(mapJson('v2')));
      await next;
      const r = { generation: 0, client: -1, resource: -1 };
      registry.identify(4, origin, responder, 'tcp', 1, r);
      expect(identityOf(registry, r).userId).toBe('v2');
      next = reloaded();
      process.kill(process.pid, 'SIGHUP');
      expect(await next).toMatch(/reloaded/);
    } finally {
      watcher.stop();
    }
  });
});
