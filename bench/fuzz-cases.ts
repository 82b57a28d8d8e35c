import { Readable } from 'node:stream';
import fc from 'fast-check';
import { FlowTracker } from '../src/flow/flow-tracker.js';
import type { SessionRecord } from '../src/flow/session-record.js';
import { readCapture } from '../src/replay/read-capture.js';

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
 * read is counted under exactly one decoder outcome, and every flow the table started comes
 * out as exactly one record with sane fields.
 */
export async function checkCase(input: Buffer): Promise<void> {
  const records: SessionRecord[] = [];
  const tracker = new FlowTracker({ maxFlows: 8, onSession: (r) => records.push(r) });
  const report = await readCapture('fuzz', (info, batch, i) => tracker.packet(info, batch.tsSec[i]!, batch.tsNsec[i]!), {
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
}
