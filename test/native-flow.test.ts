import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeSynFlood, writeSyntheticCapture } from '../bench/synthetic-capture.js';
import type { SessionRecord } from '../src/flow/session-record.js';
import { loadOrgMap } from '../src/identity/org-map.js';
import type { ReplayOptions } from '../src/replay/replay.js';
import { CORPUS, FIXTURES, ROOT } from './helpers.js';

// The decoding thread runs the built code (dist/), so the replay here is the built one too.
const built = async <T>(module: string): Promise<T> => (await import(pathToFileURL(join(ROOT, 'dist/src', module)).href)) as T;
const { replay } = await built<typeof import('../src/replay/replay.js')>('replay/replay.js');
const { IdentityRegistry } = await built<typeof import('../src/identity/identity-registry.js')>('identity/identity-registry.js');
const { IdentityMap } = await built<typeof import('../src/identity/identity-map.js')>('identity/identity-map.js');

/** A two-thread replay's sessions and counters, with or without the flow table's fast path. */
async function sessionsOf(files: string[], nativeFlow: boolean, options: Partial<ReplayOptions> = {}) {
  const records: SessionRecord[] = [];
  const r = await replay(files, { ...options, parallel: true, nativeFlow, onSessions: (b) => records.push(...b.records()) });
  return { records, ended: r.tracker.ended, outOfScope: r.tracker.outOfScope, fastPathPackets: r.fastPathPackets ?? 0, packets: r.reports.reduce((n, x) => n + x.packets, 0) };
}

/** The same sessions, in the same order, and the same counts, with and without the fast path. */
async function expectSame(files: string[], options: Partial<ReplayOptions> = {}) {
  const ts = await sessionsOf(files, false, options);
  const native = await sessionsOf(files, true, options);
  expect(native.records.length).toBe(ts.records.length);
  for (let i = 0; i < ts.records.length; i++) expect(native.records[i], `session ${i}`).toEqual(ts.records[i]);
  expect(native.ended).toEqual(ts.ended);
  expect(native.outOfScope).toBe(ts.outOfScope);
  expect(ts.fastPathPackets).toBe(0);
  return native;
}

const tmp = mkdtempSync(join(tmpdir(), 'netlog-native-flow-'));

describe('the flow table\'s fast path (native/netlog_flow.cc) against FlowTracker alone', () => {
  it('the same sessions over the fixtures, each a replay, and the tcpdump and Zeek corpora as one', async () => {
    const fixtures = readdirSync(FIXTURES).filter((f) => /\.pcap(ng)?(\.gz)?$/.test(f)).map((f) => join(FIXTURES, f));
    const corpora = ['tcpdump', 'zeek/tcp'].flatMap((dir) => readdirSync(join(CORPUS, dir)).map((f) => join(CORPUS, dir, f)));
    let taken = 0;
    let packets = 0;
    for (const files of [...fixtures.map((f) => [f]), corpora]) {
      const r = await expectSame(files);
      taken += r.fastPathPackets;
      packets += r.packets;
    }
    // Most packets neither open nor end a flow.
    expect(taken / packets).toBeGreaterThan(0.5);
  }, 300_000);

  it('the same with identity looked up ahead (scope all), idle timeouts, sweeps and evictions in between', async () => {
    // 60k packets of 200 interleaved flows at a time: with a table of 64 flows most packets
    // meet an eviction, and a 1 s UDP timeout and linger make sweeps fall all through.
    const synthetic = join(tmp, 'synthetic.pcap');
    writeSyntheticCapture(synthetic, 60_000, 11, 200);
    const flood = join(tmp, 'flood.pcap');
    writeSynFlood(flood, 20_000, 5);
    const registry = new IdentityRegistry(new IdentityMap(await loadOrgMap(join(FIXTURES, 'org-maps/veth.json')), 'all'));
    const veth = join(FIXTURES, 'sessions-veth.pcap');
    for (const options of [
      {},
      // A table that starts small and doubles many times: the fast path registers its arrays
      // again after each growth (the default start, 65,536 flows, grows for none of these).
      { initialFlows: 16 },
      { maxFlows: 64 },
      { timeouts: { udpS: 1, lingerS: 0.2, tcpTransientS: 2 } },
      { identifier: registry },
      { identifier: registry, maxFlows: 100, timeouts: { udpS: 1 } },
      { identifier: registry, initialFlows: 16 },
    ] as Array<Partial<ReplayOptions>>) {
      const r = await expectSame([synthetic, veth, flood], options);
      expect(r.fastPathPackets).toBeGreaterThan(10_000);
    }
  }, 120_000);
});
