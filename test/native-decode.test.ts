import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticCapture } from '../bench/synthetic-capture.js';
import { describe, expect, it } from 'vitest';
import type { FileSourceOptions } from '../src/capture/file-source.js';
import { Decoder } from '../src/decode/decoder.js';
import { IdentityMap } from '../src/identity/identity-map.js';
import { loadOrgMap } from '../src/identity/org-map.js';
import { createRing, RingWriter, SLOT_PACKETS } from '../src/replay/decoded-ring.js';
import { IdentityAhead } from '../src/replay/identity-ahead.js';
import { NativeRingDecoder } from '../src/replay/native-decode.js';
import { readCapture, type CaptureReport } from '../src/replay/read-capture.js';
import type { IdentityMatcherData } from '../src/identity/identity-matcher.js';
import { CORPUS, FIXTURES, capturesUnder } from './helpers.js';

interface Decoded {
  ring: Uint8Array;
  /** Packets that carry their flow's identity, looked up ahead (TypeScript's way only). */
  lookedUp: number;
  /** Packets the addon left to TypeScript. */
  deferred: number;
  counts: number[];
  lengthsClamped: number;
  report: Omit<CaptureReport, 'error' | 'warnings' | 'tally'> & { error: string | null; warnings: string[]; tally: Record<string, number> };
}

/**
 * A capture decoded into a ring big enough for all of it (`slots`), as a replay's decoding
 * thread writes it: by the TypeScript Decoder and RingWriter.push, or through the addon.
 */
async function decodeIntoRing(file: string, slots: number, native: boolean, identity: IdentityMatcherData | null, source: FileSourceOptions = {}): Promise<Decoded> {
  const ring = createRing(slots);
  const writer = new RingWriter(ring);
  const decoder = new Decoder();
  const ahead = identity && new IdentityAhead(identity);
  const nativeDecoder = native ? NativeRingDecoder.create(writer, decoder) : null;
  if (native && !nativeDecoder) throw new Error('native/netlog_decode.node is not built');
  let lookedUp = 0;
  const r = await readCapture(
    file,
    (info, batch, i) => {
      ahead?.mark(info);
      if (info.presetIdentity !== 0) lookedUp++;
      writer.push(info, batch.tsSec[i]!, batch.tsNsec[i]!);
    },
    // As the decoding thread reads: with the addon, pcap records walked in C++ too.
    { decoder, decodeBatch: nativeDecoder ? (batch) => nativeDecoder.decodeBatch(batch, ahead) : undefined, source: { ...source, nativeRecords: native } },
  );
  writer.finish();
  return {
    ring: new Uint8Array(ring),
    lookedUp: native ? 0 : lookedUp,
    deferred: nativeDecoder?.deferred ?? 0,
    counts: [...decoder.counts],
    lengthsClamped: decoder.lengthsClamped,
    report: { ...r, error: r.error?.message ?? null, warnings: r.warnings.map((w) => w.message) },
  };
}

/** The ring, counters and report of the addon's way are those of the TypeScript way, byte for byte. */
async function expectSameBothWays(
  files: string[],
  identity: IdentityMatcherData | null,
  source: FileSourceOptions = {},
): Promise<{ decoded: number; deferred: number; lookedUp: number }> {
  let decoded = 0;
  let deferred = 0;
  let lookedUp = 0;
  for (const file of files) {
    const counting = new Decoder();
    await readCapture(file, () => {}, { decoder: counting });
    const slots = Math.ceil(counting.counts[0]! / SLOT_PACKETS) + 2;
    const ts = await decodeIntoRing(file, slots, false, identity, source);
    const native = await decodeIntoRing(file, slots, true, identity, source);
    expect(native.report, file).toEqual(ts.report);
    expect(native.counts, file).toEqual(ts.counts);
    expect(native.lengthsClamped, file).toBe(ts.lengthsClamped);
    // Buffer.compare: a whole-ring toEqual would diff megabytes on a mismatch.
    expect(Buffer.compare(native.ring, ts.ring), file).toBe(0);
    decoded += ts.counts[0]!;
    deferred += native.deferred;
    lookedUp += ts.lookedUp;
  }
  return { decoded, deferred, lookedUp };
}

const ipv4 = (w: number) => `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;

/**
 * An org map over the synthetic capture's addresses (bench/synthetic-capture.ts: clients
 * 100.90.128.0/17 and fd90::/64, servers 10.1.0.0/20 and fd00:1::/116), shaped as the bench's
 * 100k map is (bench/identity.ts) but smaller, with what makes matching branch: clients by
 * address and by CIDR, some not in the map but in the client subnet, some outside it; host
 * resources with port lists and ranges, and for one protocol; CIDR resources nested at several
 * lengths; IPv6 hosts; addresses and ports that match nothing.
 */
function syntheticOrgMap(): object {
  const clientBase = ((100 << 24) | (90 << 16) | (128 << 8)) >>> 0;
  const serverBase = ((10 << 24) | (1 << 16)) >>> 0;
  const clients = [];
  for (let i = 0; i < 3000; i++) {
    const k = i % 3;
    const addresses = k === 0 ? [ipv4(clientBase + i), `fd90::${i.toString(16)}`] : k === 1 ? [ipv4(clientBase + i)] : [`${ipv4((clientBase + (i << 4)) >>> 0)}/28`];
    clients.push({ clientId: i + 1, ...(i % 4 ? { userId: `user_${i}` } : {}), addresses });
  }
  const siteResources = [];
  for (let i = 0; i < 3000; i++) {
    const k = i % 5;
    if (k === 0) siteResources.push({ siteResourceId: i + 1, mode: 'host', destination: ipv4(serverBase + (i % 4096)), protocol: 'tcp', ports: `${22 + (i % 7)},443,8000-8100` });
    else if (k === 1) siteResources.push({ siteResourceId: i + 1, mode: 'cidr', destination: `10.1.${i & 15}.0/24`, ports: i % 2 ? '1-1024' : '53,80' });
    else if (k === 2) siteResources.push({ siteResourceId: i + 1, mode: 'host', destination: `fd00:1::${(i % 4096).toString(16)}`, ports: i % 3 ? '1-65535' : '443' });
    else if (k === 3) siteResources.push({ siteResourceId: i + 1, mode: 'cidr', destination: `10.1.0.0/${16 + (i % 8)}`, protocol: 'udp', ports: '53' });
    else siteResources.push({ siteResourceId: i + 1, mode: 'cidr', destination: `fd00:1::/${112 + (i % 16)}`, protocol: i % 2 ? 'tcp' : 'udp' });
  }
  return { orgId: 'org_test', siteId: 1, retentionDays: 30, clientSubnet: ['100.90.128.0/18', 'fd90::/64'], clients, siteResources };
}

describe('the decoding addon (native/netlog_decode.cc) against the TypeScript decoder', () => {
  it('walks pcap records as PcapFormat does, through windows and batches of any size, cut and corrupt files too', async () => {
    const veth = readFileSync(join(FIXTURES, 'sessions-veth.pcap'));
    const dir = mkdtempSync(join(tmpdir(), 'netlog-native-records-'));
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, veth.subarray(0, veth.length - 30));
    const corrupt = join(dir, 'corrupt.pcap');
    const bad = Buffer.from(veth);
    let record = 24; // the 100th record's captured length, past the maximum
    for (let i = 0; i < 100; i++) record += 16 + bad.readUInt32LE(record + 8);
    bad.writeUInt32LE(0x7fffffff, record + 8);
    writeFileSync(corrupt, bad);
    const files = [join(FIXTURES, 'sessions-veth.pcap'), join(FIXTURES, 'tun-wireguard.pcap'), cut, corrupt, join(CORPUS, 'tcpdump/pcap-invalid-version-1.pcap')].filter((f) => existsSync(f));
    for (const source of [{}, { bufferBytes: 64 }, { batchSize: 1 }, { bufferBytes: 200, batchSize: 7 }]) {
      const { decoded } = await expectSameBothWays(files, null, source);
      expect(decoded).toBeGreaterThan(2000);
    }
    const r = await decodeIntoRing(corrupt, 10, true, null);
    expect(r.report.error).toMatch(/record captured length 2147483647 exceeds the maximum/);
    expect(r.report.packets).toBe(100);
  });

  it('writes the same ring, counters and reports for every capture of the shared corpus', async () => {
    const files = capturesUnder(CORPUS);
    expect(files.length).toBeGreaterThan(1600);
    const { decoded, deferred } = await expectSameBothWays(files, null);
    expect(decoded).toBeGreaterThan(100_000);
    // Most packets take the fast path; the rest (fragments, IPv6 extension headers, cut lengths) TypeScript's.
    expect(deferred).toBeGreaterThan(0);
    expect(deferred / decoded).toBeLessThan(0.1);
  }, 300_000);

  it('the same with look-ups ahead: the packets left to TypeScript carry the same identity (fixtures and the tcpdump and Zeek TCP corpora)', async () => {
    const map = new IdentityMap(await loadOrgMap(join(FIXTURES, 'org-maps/veth.json')), 'all');
    const files = [
      ...readdirSync(FIXTURES).filter((f) => /\.pcap(ng)?(\.gz)?$/.test(f)).map((f) => join(FIXTURES, f)),
      ...['tcpdump', 'zeek/tcp'].flatMap((dir) => readdirSync(join(CORPUS, dir)).map((f) => join(CORPUS, dir, f))),
    ];
    const { decoded, deferred, lookedUp } = await expectSameBothWays(files, map.matcher.data());
    expect(decoded).toBeGreaterThan(5_000);
    // The look-ups (a SYN, a UDP 5-tuple not seen lately) are the addon's too: it leaves no more
    // packets to TypeScript with the map than without it.
    expect(lookedUp).toBeGreaterThan(400);
    expect(deferred).toBe((await expectSameBothWays(files, null)).deferred);
  }, 300_000);

  it('looks flows up as IdentityMatcher does: nested CIDRs, port lists, IPv6, each scope', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netlog-native-identity-'));
    const capture = join(dir, 'synthetic.pcap');
    writeSyntheticCapture(capture, 80_000, 11, 2000);
    const mapFile = join(dir, 'org-map.json');
    writeFileSync(mapFile, JSON.stringify(syntheticOrgMap()));
    const orgMap = await loadOrgMap(mapFile);
    for (const scope of ['resources', 'clients', 'all'] as const) {
      const map = new IdentityMap(orgMap, scope);
      const { lookedUp, deferred } = await expectSameBothWays([capture], map.matcher.data());
      expect(lookedUp, scope).toBeGreaterThan(5_000);
      expect(deferred, scope).toBe(0);
      // The look-ups found clients and resources, and missed some: every branch was taken.
      const ahead = new IdentityAhead(map.matcher.data());
      const outcomes = new Set<string>();
      const decoder = new Decoder();
      await readCapture(capture, (info) => {
        ahead.mark(info);
        if (info.presetIdentity !== 0) outcomes.add(`${info.presetIdentity}:${info.presetClient >= 0}:${info.presetResource >= 0}`);
      }, { decoder });
      expect(outcomes.size, `${scope}: ${[...outcomes].join(' ')}`).toBeGreaterThanOrEqual(scope === 'all' ? 4 : 3);
    }
  }, 120_000);

  it('the same across many slots: packets written by the addon and by TypeScript in one slot, runs cut at slot ends', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'netlog-native-')), 'synthetic.pcap');
    // 60k packets of 200 interleaved flows: 15 slots, runs of one flow and flows opening all along.
    writeSyntheticCapture(file, 60_000, 7, 200);
    const map = new IdentityMap(await loadOrgMap(join(FIXTURES, 'org-maps/veth.json')), 'all');
    for (const identity of [null, map.matcher.data()]) {
      const { decoded, lookedUp } = await expectSameBothWays([file, join(FIXTURES, 'sessions-veth.pcap')], identity);
      expect(decoded).toBeGreaterThan(60_000);
      if (identity) expect(lookedUp).toBeGreaterThan(1000);
    }
  }, 120_000);
});
