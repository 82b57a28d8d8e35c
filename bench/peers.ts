/**
 * `npm run bench:peers`: netlog against the flow tools a site operator could install instead,
 * on the same captures, in one run. Each tool reads the file at full speed:
 *   softflowd -r FILE -n 127.0.0.1:9995        (NetFlow export to loopback only)
 *   nfpcapd -r FILE -w DIR                      (nfdump's pcap collector, flow files)
 *   argus -r FILE -w OUT                        (argus records)
 *   tshark -q -r FILE -z conv,tcp -z conv,udp   (Wireshark's conversation tables)
 *   netlog replay FILE --db DB                  (sessions into DuckDB; each run checked to
 *                                               have stored every session it tracked)
 *   netlog replay FILE --format jsonl           (sessions to /dev/null)
 * Inputs (made once in bench/out/): real kernel traffic from bench/real-capture.sh (root; about
 * 5.6M packets), and a synthetic capture of 20M packets / 2M sessions. Wall time and peak RSS
 * come from GNU time; the table gives each tool's time over netlog --db's (above 1: netlog is
 * faster). PEER_RUNS (default 5) rounds, each tool once a round; tshark runs in the first
 * round only, and so do nfpcapd and argus on the synthetic input (each 40-250 s there, and 3-20
 * times netlog's time: the rounds are for the close comparisons).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticCapture } from './synthetic-capture.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = join(root, 'bench', 'out');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const RUNS = Number(process.env.PEER_RUNS ?? 5);
mkdirSync(out, { recursive: true });

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const isRoot = process.getuid?.() === 0;
const needed: Record<string, string> = { softflowd: 'softflowd', nfpcapd: 'nfdump', argus: 'argus-server', tshark: 'tshark', capinfos: 'tshark', tcpdump: 'tcpdump', ethtool: 'ethtool' };
const missing = [...new Set(Object.entries(needed).filter(([cmd]) => !have(cmd)).map(([, pkg]) => pkg))];
if (missing.length) {
  if (!isRoot) throw new Error(`missing ${missing.join(', ')}: run as root (the bench installs Debian packages) or apt-get install them`);
  console.log(`installing ${missing.join(' ')} ...`);
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

const version = (cmd: string[]) => {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  return /(\d+\.\d+(?:\.\d+)*)/.exec(r.stdout + r.stderr)?.[1] ?? '?';
};
console.log(`# Peers, ${new Date().toISOString()}, node ${process.version}, ${RUNS} rounds (median of each tool's runs)`);
console.log(`softflowd: ${version(['softflowd', '-v'])}; nfpcapd: ${version(['nfpcapd', '-V'])}; argus: ${version(['argus', '-h'])}; tshark: ${version(['tshark', '-v'])}`);

// Inputs.
const inputs: Array<{ name: string; file: string }> = [];
const real = join(out, 'peers-real.pcap');
if (!existsSync(real)) {
  if (isRoot) execFileSync('bash', [join(root, 'bench', 'real-capture.sh'), real, '1'], { stdio: 'inherit' });
  else console.log('real-traffic capture skipped: bench/real-capture.sh needs root');
}
if (existsSync(real)) inputs.push({ name: 'real kernel traffic (bench/real-capture.sh)', file: real });
const synthetic = join(out, 'peers-synthetic-20m.pcap');
if (!existsSync(synthetic)) {
  const s = writeSyntheticCapture(synthetic, 20_000_000, 20);
  console.log(`made ${synthetic}: ${s.packets} packets, ${s.sessions} sessions`);
}
inputs.push({ name: 'synthetic, 20M packets / 2M sessions (bench/synthetic-capture.ts)', file: synthetic });

interface Run {
  seconds: number;
  peakRssMiB: number;
  stderr: string;
}

/** One command under GNU time: wall seconds and peak RSS. */
function timed(cmd: string): Run {
  const r = spawnSync('/usr/bin/time', ['-f', 'NETLOG_TIME %e %M', 'sh', '-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const line = r.stderr.split('\n').reverse().find((l) => l.startsWith('NETLOG_TIME'));
  if (r.status !== 0 || !line) throw new Error(`${cmd} failed (${r.status}): ${r.stderr.slice(-500)}`);
  const [, s, kb] = line.split(' ');
  return { seconds: Number(s), peakRssMiB: Number(kb) / 1024, stderr: r.stderr };
}

/** A netlog --db run counts: every session it tracked must be in the store (its summary line). */
function checkStored(r: Run): void {
  const m = /(\d+) sessions, (\d+) written to /.exec(r.stderr);
  if (!m || m[1] !== m[2]) throw new Error(`netlog --db did not store every session: ${r.stderr.slice(-500)}`);
}

const median = (runs: Run[]) => [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)]!;
const scratch = join(out, 'peers-scratch');

for (const input of inputs) {
  const packets = Number(execFileSync('capinfos', ['-M', '-c', '-T', '-r', input.file], { encoding: 'utf8' }).trim().split('\t').pop());
  console.log(`\n## ${input.name}\n\n${input.file}: ${packets} packets, ${(statSync(input.file).size / 2 ** 20).toFixed(0)} MiB\n`);
  const big = packets > 10_000_000;
  const tools: Array<{ name: string; cmd: () => string; runs?: number; check?: (r: Run) => void }> = [
    { name: 'softflowd', cmd: () => `softflowd -r ${input.file} -n 127.0.0.1:9995` },
    { name: 'nfpcapd', cmd: () => `rm -rf ${scratch} && mkdir -p ${scratch} && nfpcapd -r ${input.file} -w ${scratch}`, runs: big ? 1 : RUNS },
    { name: 'argus', cmd: () => `rm -rf ${scratch} && mkdir -p ${scratch} && argus -r ${input.file} -w ${scratch}/argus.out`, runs: big ? 1 : RUNS },
    { name: 'tshark conv', cmd: () => `tshark -q -r ${input.file} -z conv,tcp -z conv,udp > /dev/null`, runs: 1 },
    // Not -q: its summary says how many sessions were written, checked against those tracked.
    { name: 'netlog --db', cmd: () => `rm -rf ${scratch} && mkdir -p ${scratch} && node ${cli} replay ${input.file} --db ${scratch}/netlog.duckdb`, check: checkStored },
    { name: 'netlog jsonl', cmd: () => `node ${cli} replay -q ${input.file} --format jsonl > /dev/null` },
  ];
  // Round by round (each tool once a round), not each tool's runs back to back: this machine's
  // speed drifts over minutes (softflowd alone took 10.3-15.2 s on the 20M-packet file within
  // a quarter of an hour), and back-to-back runs would give that drift to whichever tool ran
  // then. The paired ratio compares netlog --db with softflowd in the same round.
  const runs = new Map<string, Run[]>(tools.map((t) => [t.name, []]));
  const paired: number[] = [];
  for (let round = 0; round < RUNS; round++) {
    const inRound = new Map<string, Run>();
    for (const t of tools) {
      if (round >= (t.runs ?? RUNS)) continue;
      const r = timed(t.cmd());
      t.check?.(r);
      runs.get(t.name)!.push(r);
      inRound.set(t.name, r);
    }
    paired.push(inRound.get('softflowd')!.seconds / inRound.get('netlog --db')!.seconds);
  }
  const results = new Map([...runs].map(([name, rs]) => [name, median(rs)]));
  const base = results.get('netlog --db')!.seconds;
  console.log('| tool | wall s | packets/s | peak RSS MiB | tool time / netlog --db time |\n|---|---:|---:|---:|---:|');
  for (const [name, r] of results) {
    console.log(`| ${name} | ${r.seconds.toFixed(2)} | ${(packets / r.seconds / 1e6).toFixed(2)} M | ${r.peakRssMiB.toFixed(0)} | ${(r.seconds / base).toFixed(2)} |`);
  }
  const each = (name: string) => runs.get(name)!.map((r) => r.seconds.toFixed(2)).join(', ');
  console.log(`\nEach round: softflowd ${each('softflowd')} s; netlog --db ${each('netlog --db')} s; netlog jsonl ${each('netlog jsonl')} s.`);
  console.log(`softflowd time / netlog --db time in the same round: ${paired.map((x) => x.toFixed(2)).join(', ')} (median ${[...paired].sort((a, b) => a - b)[Math.floor(paired.length / 2)]!.toFixed(2)}).`);
  // netlog's two threads, each timed alone: its replay takes at least the slower of them.
  const alone = JSON.parse(execFileSync(process.execPath, [join(here, 'flow-table-alone.js'), input.file], { encoding: 'utf8' })) as { decodeSeconds: number; seconds: number; warmSeconds: number };
  console.log(
    `netlog's two threads, each alone (bench/flow-table-alone.ts, once): decoding ${alone.decodeSeconds.toFixed(2)} s, flow table ${alone.seconds.toFixed(2)} s (${alone.warmSeconds.toFixed(2)} s warm; sessions counted, not written); softflowd's whole run ${results.get('softflowd')!.seconds.toFixed(2)} s.`,
  );
  rmSync(scratch, { recursive: true, force: true });
}
