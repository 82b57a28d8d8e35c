import { Readable } from 'node:stream';
import fc from 'fast-check';
import { Decoder } from '../src/decode/decoder.js';
import { PacketInfo } from '../src/decode/packet-info.js';
import { FlowTracker } from '../src/flow/flow-tracker.js';
import type { SessionRecord } from '../src/flow/session-record.js';
import { createRing, RingReader, RingWriter, SLOT_PACKETS } from '../src/replay/decoded-ring.js';
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
 * as exactly one record with sane fields, and the replay's C++ paths give the same
 * (checkNativeCase).
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
