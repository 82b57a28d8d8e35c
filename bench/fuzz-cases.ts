import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { Decoder } from '../src/decode/decoder.js';
import { PacketInfo } from '../src/decode/packet-info.js';
import { FlowTracker } from '../src/flow/flow-tracker.js';
import type { SessionRecord } from '../src/flow/session-record.js';
import type { IdentityMatcherData } from '../src/identity/identity-matcher.js';
import { IdentityMap } from '../src/identity/identity-map.js';
import { loadOrgMap, type OrgMap } from '../src/identity/org-map.js';
import { IdentityRegistry } from '../src/identity/identity-registry.js';
import type { SessionBatch } from '../src/flow/session-batch.js';
import { JsonLineEncoder, nativeJsonLoaded } from '../src/format/session-json.js';
import { sessionJsonLine } from '../src/format/session-text.js';
import { createRing, RingReader, RingWriter, SLOT_PACKETS } from '../src/replay/decoded-ring.js';
import { IdentityAhead } from '../src/replay/identity-ahead.js';
import { NativeRingDecoder } from '../src/replay/native-decode.js';
import { NativeFlowPath } from '../src/replay/native-flow.js';
import { trackSlot } from '../src/replay/parallel-replay.js';
import { readCapture, type CaptureReport } from '../src/replay/read-capture.js';

/**
 * Mutated real captures for the fuzzers (the short run in test/fuzz.test.ts, the long one in
 * bench/fuzz.ts): byte flips, length-breaking 32-bit words, truncation.
 */
export interface Mutation {
  flips: Array<{ at: number; value: number }>;
  words: Array<{ at: number; value: number }>;
  keep: number;
}

// Values that break length arithmetic: zero, tiny, sign bit, all ones.
const EDGE_WORDS = [0, 1, 3, 4, 11, 12, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

export const mutation = (length: number): fc.Arbitrary<Mutation> =>
  fc.record({
    flips: fc.array(fc.record({ at: fc.nat({ max: length - 1 }), value: fc.nat({ max: 255 }) }), { maxLength: 24 }),
    words: fc.array(fc.record({ at: fc.nat({ max: length - 4 }), value: fc.constantFrom(...EDGE_WORDS) }), { maxLength: 4 }),
    // Most cases keep the first few KiB, where every header of the file is.
    keep: fc.oneof(fc.constant(length), fc.nat({ max: length }), fc.nat({ max: Math.min(length, 4096) })),
  });

export function applyMutation(original: Buffer, m: Mutation): Buffer {
  const bytes = Buffer.from(original);
  for (const f of m.flips) bytes[f.at] = f.value;
  for (const w of m.words) bytes.writeUInt32LE(w.value, w.at);
  return bytes.subarray(0, m.keep);
}

/**
 * One case through reader, decoder and a small flow table (8 slots, so eviction runs too).
 * Throws unless: only NetlogErrors surface (readCapture rethrows anything else), every packet
 * read is counted under exactly one decoder outcome, every flow the table started comes out
 * as exactly one record with sane fields, and the replay's C++ paths (checkNativeCase) and a
 * mapped file (checkMappedCase) give the same.
 */
export async function checkCase(input: Buffer): Promise<void> {
  const records: SessionRecord[] = [];
  const tracker = new FlowTracker({ maxFlows: 8, onSession: (r) => records.push(r) });
  const decoder = new Decoder();
  const report = await readCapture('fuzz', (info, batch, i) => tracker.packet(info, batch.tsSec[i]!, batch.tsNsec[i]!), {
    decoder,
    source: { stream: Readable.from([input]), bufferBytes: 4096 },
  });
  tracker.flush('capture-end');
  const counted = Object.values(report.tally).reduce((a, b) => a + b, 0);
  if (counted !== report.packets) throw new Error(`${report.packets} packets read, ${counted} counted`);
  const ended = Object.values(tracker.ended).reduce((a, b) => a + b, 0);
  if (ended !== records.length) throw new Error(`${ended} flows ended, ${records.length} records`);
  if (tracker.openFlows !== 0) throw new Error(`${tracker.openFlows} flows open after flush`);
  const packets = records.reduce((a, r) => a + r.packetsTx + r.packetsRx, 0);
  const decoded = report.tally.decoded ?? 0;
  if (packets > decoded) throw new Error(`records hold ${packets} packets, ${decoded} decoded`);
  for (const r of records) {
    if (!(r.duration! >= 0) || r.bytesTx < 0 || r.bytesRx < 0 || r.missedBytesTx > r.bytesTx || r.missedBytesRx > r.bytesRx) {
      throw new Error(`bad record ${JSON.stringify(r)}`);
    }
  }
  await checkNativeCase(input, records, report, decoder);
  await checkLookAhead(input, decoder.counts[0]!);
  await checkMappedCase(input, records, report);
  await checkJsonCase(input);
}

/**
 * The case's sessions, with the seed org map's identity, as JSON lines from the native row
 * writer and from JavaScript's: the same bytes, and JSON.stringify's of the records. Skipped
 * when the addon is not built.
 */
async function checkJsonCase(input: Buffer): Promise<void> {
  if (!nativeJsonLoaded()) return;
  const identifier = new IdentityRegistry(new IdentityMap(await seedOrgMap(), 'all'));
  const batches: SessionBatch[] = [];
  const tracker = new FlowTracker({ maxFlows: 8, identifier, onSessions: (b) => batches.push(b.copy()) });
  await readCapture('fuzz', (info, batch, i) => tracker.packet(info, batch.tsSec[i]!, batch.tsNsec[i]!), {
    source: { stream: Readable.from([input]), bufferBytes: 4096 },
  });
  tracker.flush('capture-end');
  const lines = (native: boolean) => {
    const encoder = new JsonLineEncoder({ native });
    for (const b of batches) encoder.encode(b);
    return Buffer.concat(encoder.take()).toString('utf8');
  };
  const native = lines(true);
  const js = lines(false);
  if (native !== js) throw new Error(`native JSON lines differ: ${native.slice(0, 400)} against ${js.slice(0, 400)}`);
  const expected = batches.flatMap((b) => b.records()).map(sessionJsonLine).join('');
  if (js !== expected) throw new Error(`JSON lines differ from JSON.stringify: ${js.slice(0, 400)} against ${expected.slice(0, 400)}`);
}

let mappedDir: string | null = null;

/**
 * The same case from a file, which FileSource maps into memory and parses in place (one window
 * that is the whole file, nothing read) rather than reading it through small windows as the
 * stream above: the same report and records. Without the map addon the file is read.
 */
async function checkMappedCase(input: Buffer, expected: SessionRecord[], expectedReport: CaptureReport): Promise<void> {
  mappedDir ??= mkdtempSync(join(tmpdir(), 'netlog-fuzz-mapped-'));
  const file = join(mappedDir, 'case.pcap');
  writeFileSync(file, input);
  const records: SessionRecord[] = [];
  const tracker = new FlowTracker({ maxFlows: 8, onSession: (r) => records.push(r) });
  const report = await readCapture(file, (info, batch, i) => tracker.packet(info, batch.tsSec[i]!, batch.tsNsec[i]!));
  tracker.flush('capture-end');
  const said = (r: CaptureReport) => JSON.stringify([r.packets, r.tally, r.error?.code, r.error?.offset, r.error?.message.replace(file, 'fuzz'), r.warnings.map((w) => w.message.replace(file, 'fuzz'))]);
  if (said(report) !== said(expectedReport)) throw new Error(`mapped read: ${said(report)}; streamed ${said(expectedReport)}`);
  if (JSON.stringify(records) !== JSON.stringify(expected)) throw new Error(`mapped records differ: ${JSON.stringify(records).slice(0, 400)} against ${JSON.stringify(expected).slice(0, 400)}`);
}

/**
 * An org map over the fuzz seeds' addresses (test/fuzz.test.ts, bench/fuzz.ts), so that their
 * mutations take every branch of a look-up: clients by address and by CIDR, addresses only in
 * a client subnet, host and CIDR resources nested with port lists and a protocol, IPv4 and IPv6.
 */
const SEED_ORG_MAP = {
  orgId: 'org_fuzz',
  siteId: 1,
  retentionDays: 1,
  clientSubnet: ['100.90.128.0/24', 'fd90::/64', '2001:4f8::/32', '141.142.0.0/16'],
  clients: [
    { clientId: 1, userId: 'u1', addresses: ['100.90.128.2', 'fd90::2'] },
    { clientId: 2, addresses: ['10.77.0.0/24', 'fd77::/64'] },
    { clientId: 3, userId: 'u3', addresses: ['2604:1380:4091:ce00::b', '10.77.0.2'] },
  ],
  siteResources: [
    { siteResourceId: 1, mode: 'host', destination: '100.90.128.1', protocol: 'tcp', ports: '8080,9000-9100' },
    { siteResourceId: 2, mode: 'host', destination: 'fd90::1' },
    { siteResourceId: 3, mode: 'cidr', destination: '10.77.0.0/16', protocol: 'udp', ports: '53,5353' },
    { siteResourceId: 4, mode: 'cidr', destination: '10.77.0.0/24', protocol: 'tcp', ports: '1-1024' },
    { siteResourceId: 5, mode: 'host', destination: '10.77.0.1', ports: '22,80' },
    { siteResourceId: 6, mode: 'cidr', destination: '192.150.187.0/24', protocol: 'tcp', ports: '80' },
    { siteResourceId: 7, mode: 'cidr', destination: '2604:1380::/32', protocol: 'tcp' },
    { siteResourceId: 8, mode: 'cidr', destination: '2001:4f8::/32', protocol: 'udp' },
    { siteResourceId: 9, mode: 'cidr', destination: 'fd77::/16' },
  ],
};

let seedMap: Promise<OrgMap> | null = null;
let seedMatchers: Promise<IdentityMatcherData[]> | null = null;

/** SEED_ORG_MAP, loaded as `--org-map` loads a file. */
function seedOrgMap(): Promise<OrgMap> {
  seedMap ??= (async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'netlog-fuzz-map-')), 'org-map.json');
    writeFileSync(file, JSON.stringify(SEED_ORG_MAP));
    return loadOrgMap(file);
  })();
  return seedMap;
}

/** SEED_ORG_MAP's look-ups in each scope (each decides scope and look-ups differently). */
function seedMatcherData(): Promise<IdentityMatcherData[]> {
  seedMatchers ??= seedOrgMap().then((orgMap) => (['resources', 'clients', 'all'] as const).map((scope) => new IdentityMap(orgMap, scope).matcher.data()));
  return seedMatchers;
}

/**
 * The same case decoded as a replay's decoding thread does with an org map: TypeScript, with
 * IdentityAhead.mark, and the addon, which looks flows up itself (flat-matcher.ts), must
 * write the same ring byte for byte. Skipped when the addon is not built.
 */
async function checkLookAhead(input: Buffer, decoded: number): Promise<void> {
  for (const identity of await seedMatcherData()) await checkLookAheadWith(input, decoded, identity);
}

async function checkLookAheadWith(input: Buffer, decoded: number, identity: IdentityMatcherData): Promise<void> {
  const slots = Math.ceil(decoded / SLOT_PACKETS) + 2;
  const rings: Uint8Array[] = [];
  for (const native of [false, true]) {
    const ring = createRing(slots);
    const writer = new RingWriter(ring);
    const decoder = new Decoder();
    const ahead = new IdentityAhead(identity);
    const addon = native ? NativeRingDecoder.create(writer, decoder) : null;
    if (native && addon === null) return;
    await readCapture(
      'fuzz',
      (info, batch, i) => {
        ahead.mark(info);
        writer.push(info, batch.tsSec[i]!, batch.tsNsec[i]!);
      },
      {
        decoder,
        decodeBatch: addon ? (batch) => addon.decodeBatch(batch, ahead) : undefined,
        source: { stream: Readable.from([input]), bufferBytes: 4096, nativeRecords: native },
      },
    );
    writer.finish();
    rings.push(new Uint8Array(ring));
  }
  if (Buffer.compare(rings[0]!, rings[1]!) !== 0) throw new Error(`the addon's look-ups ahead (scope ${identity.scope}) wrote another ring than TypeScript's`);
}

/**
 * The same case as a replay's two threads take it, through the addons (pcap records and the
 * common packets decoded in C++ into a ring, runs marked; the flow table's fast path over
 * the ring): the same decoder counts, report and records, in order, as the one-thread
 * TypeScript path above. Both addons read hostile bytes, so this is where a C++ fault would
 * show. Skipped when the addons are not built.
 */
async function checkNativeCase(input: Buffer, expected: SessionRecord[], expectedReport: CaptureReport, expectedDecoder: Decoder): Promise<void> {
  const decoded = expectedDecoder.counts[0]!;
  const ring = createRing(Math.ceil(decoded / SLOT_PACKETS) + 2);
  const writer = new RingWriter(ring);
  const decoder = new Decoder();
  const native = NativeRingDecoder.create(writer, decoder);
  if (native === null) return;
  const report = await readCapture('fuzz', (info, batch, i) => writer.push(info, batch.tsSec[i]!, batch.tsNsec[i]!), {
    decoder,
    decodeBatch: (batch) => native.decodeBatch(batch, null),
    source: { stream: Readable.from([input]), bufferBytes: 4096, nativeRecords: true },
  });
  writer.finish();
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!same([...decoder.counts], [...expectedDecoder.counts])) throw new Error(`native decode counts ${[...decoder.counts]}, TypeScript ${[...expectedDecoder.counts]}`);
  if (report.packets !== expectedReport.packets || report.error?.message !== expectedReport.error?.message) {
    throw new Error(`native read: ${report.packets} packets, ${report.error?.message}; TypeScript ${expectedReport.packets}, ${expectedReport.error?.message}`);
  }
  const records: SessionRecord[] = [];
  const tracker = new FlowTracker({ maxFlows: 8, onSession: (r) => records.push(r) });
  const reader = new RingReader(ring);
  const fast = NativeFlowPath.create(tracker, reader);
  const info = new PacketInfo();
  const gap = new Float64Array(1);
  for (let n = await reader.next(() => null); n >= 0; n = await reader.next(() => null)) {
    trackSlot(reader, n, tracker, info, gap, fast);
    reader.release();
  }
  tracker.flush('capture-end');
  fast?.dispose();
  if (!same(records, expected)) throw new Error(`native records differ: ${JSON.stringify(records).slice(0, 400)} against ${JSON.stringify(expected).slice(0, 400)}`);
}
