import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../src/replay/read-capture.js';
import { CORPUS, FIXTURES } from './helpers.js';

/**
 * Property: mutated real captures never make the reader or the decoder throw anything but a
 * NetlogError (readCapture rethrows anything else), never hang, and every packet read is counted
 * under exactly one decoder outcome. FUZZ_RUNS raises the number of cases per seed (default 150).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const SEEDS = [
  join(FIXTURES, 'tun-wireguard.pcap'),
  join(FIXTURES, 'two-interfaces.pcapng'),
  join(FIXTURES, 'veth-ethernet-nsec.pcap'),
  join(FIXTURES, 'sll2-any.pcap'),
  join(CORPUS, 'tcpdump/bigtcp-ipv6-hbh.pcap'),
  join(CORPUS, 'zeek/ipv6-hbh-routing0.pcap'),
  join(CORPUS, 'zeek/http-qinq-0.pcap'),
];

// Values that break length arithmetic: zero, tiny, sign bit, all ones.
const EDGE_WORDS = [0, 1, 3, 4, 11, 12, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

const mutation = (length: number) =>
  fc.record({
    flips: fc.array(fc.record({ at: fc.nat({ max: length - 1 }), value: fc.nat({ max: 255 }) }), { maxLength: 24 }),
    words: fc.array(fc.record({ at: fc.nat({ max: length - 4 }), value: fc.constantFrom(...EDGE_WORDS) }), { maxLength: 4 }),
    // Most cases keep the first few KiB, where every header of the file is.
    keep: fc.oneof(fc.constant(length), fc.nat({ max: length }), fc.nat({ max: Math.min(length, 4096) })),
  });

describe('fuzz: mutated captures through reader and decoder', () => {
  for (const seed of SEEDS) {
    const original = readFileSync(seed);
    it(seed.split('/').slice(-2).join('/'), async () => {
      await fc.assert(
        fc.asyncProperty(mutation(original.length), async (m) => {
          const bytes = Buffer.from(original);
          for (const f of m.flips) bytes[f.at] = f.value;
          for (const w of m.words) bytes.writeUInt32LE(w.value, w.at);
          const input = bytes.subarray(0, m.keep);
          const report = await readCapture('fuzz', () => {}, { source: { stream: Readable.from([input]), bufferBytes: 4096 } });
          const counted = Object.values(report.tally).reduce((a, b) => a + b, 0);
          expect(counted).toBe(report.packets);
        }),
        { numRuns: RUNS },
      );
    });
  }
});
