import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { applyMutation, checkCase, mutation } from '../bench/fuzz-cases.js';
import { CORPUS, FIXTURES } from './helpers.js';

/**
 * Property (bench/fuzz-cases.ts checkCase): mutated real captures never make the reader, the
 * decoder or the flow table throw anything but a NetlogError, never hang, count every packet
 * under exactly one decoder outcome, and turn every flow into exactly one sane record.
 * FUZZ_RUNS raises the number of cases per seed (default 150); bench/fuzz.ts runs millions.
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

describe('fuzz: mutated captures through reader, decoder and flow table', () => {
  for (const seed of SEEDS) {
    const original = readFileSync(seed);
    it(seed.split('/').slice(-2).join('/'), async () => {
      await fc.assert(
        fc.asyncProperty(mutation(original.length), async (m) => {
          await checkCase(applyMutation(original, m));
        }),
        { numRuns: RUNS },
      );
    });
  }
});
