/**
 * A SYN flood through `netlog replay --max-flows 100000`: 1M, 3M and 10M SYNs, each a new flow
 * from a random address and port. Every flow must come out as a record (evicted when the
 * table is full, the rest at capture end), peak RSS must not grow with the flood, and the
 * speed must hold. Sessions go as JSON lines to `wc -l` (counted) and, in a second run, into
 * DuckDB. Prints a markdown table.
 *   node dist/bench/syn-flood.js [MAX_PACKETS]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSynFlood } from './synthetic-capture.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = join(root, 'bench', 'out');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const max = Number(process.argv[2] ?? 10_000_000);
mkdirSync(out, { recursive: true });

function timed(cmd: string): { seconds: number; peakRssMiB: number; stdout: string; stderr: string } {
  const r = spawnSync('/usr/bin/time', ['-f', 'NETLOG_TIME %e %M', 'sh', '-c', cmd], { encoding: 'utf8' });
  const line = r.stderr.split('\n').reverse().find((l) => l.startsWith('NETLOG_TIME'))!;
  const [, s, kb] = line.split(' ');
  return { seconds: Number(s), peakRssMiB: Number(kb) / 1024, stdout: r.stdout, stderr: r.stderr };
}

/** Each SYN is a flow of its own and must come out as exactly one record: the bench stops if not. */
function everyFlowOnce(syns: number, records: number, output: string): void {
  if (records !== syns) throw new Error(`${output}: ${records} records for ${syns} SYNs`);
}

console.log('| SYNs | output | records | evicted | seconds | packets/s | peak RSS MiB |\n|---:|---|---:|---:|---:|---:|---:|');
for (const n of [1_000_000, 3_000_000, 10_000_000].filter((n) => n <= max)) {
  const file = join(out, `syn-flood-${n}.pcap`);
  if (!existsSync(file)) writeSynFlood(file, n, 7);
  // `sh -c 'node ... | wc -l'`: GNU time measures the shell, whose children are node and wc;
  // %M is the largest of them, node.
  const j = timed(`node ${cli} replay ${file} --max-flows 100000 --format jsonl | wc -l`);
  const evicted = Number(/evicted=(\d+)/.exec(j.stderr)?.[1] ?? 0);
  everyFlowOnce(n, Number(j.stdout.trim()), 'JSON lines');
  console.log(`| ${n} | jsonl | ${j.stdout.trim()} | ${evicted} | ${j.seconds.toFixed(2)} | ${(n / j.seconds / 1e6).toFixed(2)} M | ${j.peakRssMiB.toFixed(0)} |`);
  const db = join(out, 'syn-flood.duckdb');
  rmSync(db, { force: true });
  const d = timed(`node ${cli} replay ${file} --max-flows 100000 --db ${db}`);
  const stored = execFileSync('node', [cli, 'sql', '--db', db, '-f', 'csv', 'SELECT count(*) FROM sessions'], { encoding: 'utf8' }).trim().split('\n').pop();
  const evictedDb = Number(/evicted=(\d+)/.exec(d.stderr)?.[1] ?? 0);
  everyFlowOnce(n, Number(stored), 'DuckDB');
  console.log(`| ${n} | DuckDB | ${stored} | ${evictedDb} | ${d.seconds.toFixed(2)} | ${(n / d.seconds / 1e6).toFixed(2)} M | ${d.peakRssMiB.toFixed(0)} |`);
  rmSync(db, { force: true });
}
