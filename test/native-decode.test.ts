import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
import { CORPUS, FIXTURES } from './helpers.js';

/** Every capture file under `dir`, recursively. */
function capturesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    if (statSync(path).isDirectory()) return capturesUnder(path);
    return /(MANIFEST|README)/.test(f) ? [] : [path];
  });
}

interface Decoded {
  ring: Uint8Array;
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
  const r = await readCapture(
    file,
    (info, batch, i) => {
      ahead?.mark(info);
      writer.push(info, batch.tsSec[i]!, batch.tsNsec[i]!);
    },
    // As the decoding thread reads: with the addon, pcap records walked in C++ too.
    { decoder, decodeBatch: nativeDecoder ? (batch) => nativeDecoder.decodeBatch(batch, ahead) : undefined, source: { ...source, nativeRecords: native } },
  );
  writer.finish();
  return {
    ring: new Uint8Array(ring),
    deferred: nativeDecoder?.deferred ?? 0,
    counts: [...decoder.counts],
    lengthsClamped: decoder.lengthsClamped,
    report: { ...r, error: r.error?.message ?? null, warnings: r.warnings.map((w) => w.message) },
  };
}

/** The ring, counters and report of the addon's way are those of the TypeScript way, byte for byte. */
async function expectSameBothWays(files: string[], identity: IdentityMatcherData | null, source: FileSourceOptions = {}): Promise<{ decoded: number; deferred: number }> {
  let decoded = 0;
  let deferred = 0;
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
  }
  return { decoded, deferred };
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
    const { decoded, deferred } = await expectSameBothWays(files, map.matcher.data());
    expect(decoded).toBeGreaterThan(5_000);
    // The look-ups (a SYN, a UDP 5-tuple not seen lately) are among the packets left to TypeScript.
    expect(deferred).toBeGreaterThan(500);
  }, 300_000);

  it('the same across many slots: packets written by the addon and by TypeScript in one slot, runs cut at slot ends', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'netlog-native-')), 'synthetic.pcap');
    // 60k packets of 200 interleaved flows: 15 slots, runs of one flow and flows opening all along.
    writeSyntheticCapture(file, 60_000, 7, 200);
    const map = new IdentityMap(await loadOrgMap(join(FIXTURES, 'org-maps/veth.json')), 'all');
    for (const identity of [null, map.matcher.data()]) {
      const { decoded, deferred } = await expectSameBothWays([file, join(FIXTURES, 'sessions-veth.pcap')], identity);
      expect(decoded).toBeGreaterThan(60_000);
      if (identity) expect(deferred).toBeGreaterThan(1000);
    }
  }, 120_000);
});
