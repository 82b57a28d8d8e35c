/**
 * The long fuzz run: `node dist/bench/fuzz.js [CASES] [SEED]` (default 1,000,000 cases).
 * Mutated real captures (bench/fuzz-cases.ts) through reader, decoder and flow table, spread
 * over the seed captures, until CASES have run or one fails. A failing input is shrunk by
 * fast-check and written to bench/out/fuzz-failure-*.pcap, to become a fixture and a test;
 * the exit status is then 1. Prints cases/s as it goes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { applyMutation, checkCase, mutation } from './fuzz-cases.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'bench', 'out');
const cases = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
const corpus = join(root, '..', 'shared', 'corpus');
const SEEDS = [
  join(root, 'fixtures', 'tun-wireguard.pcap'),
  join(root, 'fixtures', 'two-interfaces.pcapng'),
  join(root, 'fixtures', 'veth-ethernet-nsec.pcap'),
  join(root, 'fixtures', 'sll2-any.pcap'),
  join(root, 'fixtures', 'sessions-veth.pcap'),
  join(corpus, 'tcpdump', 'bigtcp-ipv6-hbh.pcap'),
  join(corpus, 'zeek', 'ipv6-hbh-routing0.pcap'),
  join(corpus, 'zeek', 'http-qinq-0.pcap'),
  join(corpus, 'zeek', 'tcp', 'reassembly.pcap'),
];
mkdirSync(out, { recursive: true });
console.log(`fuzz: ${cases} cases over ${SEEDS.length} seed captures, fast-check seed ${seed}`);
const perSeed = Math.ceil(cases / SEEDS.length);
const start = performance.now();
let done = 0;
for (const file of SEEDS) {
  const original = readFileSync(file);
  const t = performance.now();
  const result = await fc.check(
    fc.asyncProperty(mutation(original.length), async (m) => {
      await checkCase(applyMutation(original, m));
      done++;
    }),
    { numRuns: perSeed, seed },
  );
  const name = file.split('/').slice(-2).join('/');
  if (result.failed) {
    const input = applyMutation(original, result.counterexample![0] as never);
    const path = join(out, `fuzz-failure-${name.replace(/\W/g, '_')}-${seed}.pcap`);
    writeFileSync(path, input);
    console.log(`FAILED on ${name} after ${result.numRuns} runs: ${String(result.errorInstance)}\nshrunk input: ${path}`);
    process.exit(1);
  }
  console.log(`${name}: ${perSeed} cases, ${((perSeed / (performance.now() - t)) * 1000).toFixed(0)} cases/s`);
}
const seconds = (performance.now() - start) / 1000;
console.log(`all ${done} cases passed in ${seconds.toFixed(0)} s (${(done / seconds).toFixed(0)} cases/s)`);
