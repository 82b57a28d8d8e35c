/**
 * The long run: `node dist/bench/soak.js [MINUTES] [PPS] [CAPTURE]` (defaults 30, 50000,
 * bench/out/synthetic-2500000.pcap). tcpreplay --loop sends CAPTURE at a steady PPS into one
 * end of a veth pair in a namespace the bench makes; `netlog capture --serve` records the
 * other end into a fresh DuckDB. Every 10 s the bench reads the daemon's RSS (/proc) and its
 * /metrics (event-loop delay, packets, kernel drops, sessions written, flows open) and prints
 * a row; at the end, the RSS range after a 2-minute warm-up and its growth per hour.
 * Needs root and tcpreplay. Prints markdown.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiKey } from '../src/api/api-keys.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const minutes = Number(process.argv[2] ?? 30);
const pps = Number(process.argv[3] ?? 50_000);
const capture = process.argv[4] ?? join(root, 'bench', 'out', 'synthetic-2500000.pcap');
const ns = `nlsoak${process.pid % 10000}`;
const dir = mkdtempSync(join(tmpdir(), 'netlog-soak-'));
const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
const keyFile = join(dir, 'keys.json');
const key = await createApiKey(keyFile, 'soak');

sh('ip', 'netns', 'add', ns);
const children: Array<ReturnType<typeof spawn>> = [];
try {
  sh('ip', '-n', ns, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
  for (const dev of ['lo', 'va', 'vb']) sh('ip', '-n', ns, 'link', 'set', dev, 'up');
  const daemon = spawn(
    'ip',
    ['netns', 'exec', ns, process.execPath, join(root, 'dist', 'src', 'cli', 'main.js'), 'capture', '-i', 'vb', '--db', join(dir, 'soak.duckdb'), '--serve', '--listen', '127.0.0.1:18090', '--api-keys', keyFile],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  children.push(daemon);
  await new Promise((r) => setTimeout(r, 3000));
  const sender = spawn('ip', ['netns', 'exec', ns, 'tcpreplay', '-q', '--loop=100000', `--pps=${pps}`, '-i', 'va', capture], { stdio: 'ignore' });
  children.push(sender);
  const metric = (text: string, name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  const kind = (text: string, k: string) => Number(new RegExp(`^netlog_process_memory_bytes\\{kind="${k}"\\} ([\\d.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  const sum = (text: string, name: string) => [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} ([\\d.e+-]+)$`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
  console.log(`# Soak: ${minutes} min at ${pps} packets/s (tcpreplay --loop of ${capture}), ${new Date().toISOString()}\n`);
  console.log('| minute | RSS MiB | V8 heap used / total MiB | loop delay p99 / max ms | packets | kernel drops | sessions written | flows open |\n|---:|---:|---:|---:|---:|---:|---:|---:|');
  const samples: Array<{ t: number; rss: number }> = [];
  const t0 = Date.now();
  while (Date.now() - t0 < minutes * 60_000) {
    await new Promise((r) => setTimeout(r, 10_000));
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${daemon.pid}/status`, 'utf8'))![1]) / 1024;
    const m = sh('ip', 'netns', 'exec', ns, 'curl', '-sS', '-H', `Authorization: Bearer ${key}`, 'http://127.0.0.1:18090/metrics');
    const t = (Date.now() - t0) / 60_000;
    samples.push({ t, rss });
    console.log(
      `| ${t.toFixed(1)} | ${rss.toFixed(0)} | ${(kind(m, 'heap_used') / 2 ** 20).toFixed(0)} / ${(kind(m, 'heap_total') / 2 ** 20).toFixed(0)} | ${(metric(m, 'netlog_event_loop_lag_p99_seconds') * 1000).toFixed(1)} / ${(metric(m, 'netlog_event_loop_lag_max_seconds') * 1000).toFixed(1)} | ${metric(m, 'netlog_packets_total')} | ${sum(m, 'netlog_pcap_dropped_total')} | ${metric(m, 'netlog_sessions_written_total')} | ${metric(m, 'netlog_flows_open')} |`,
    );
  }
  const warm = samples.filter((s) => s.t >= 2);
  if (warm.length >= 2) {
    const rss = warm.map((s) => s.rss);
    const slope = (warm.at(-1)!.rss - warm[0]!.rss) / ((warm.at(-1)!.t - warm[0]!.t) / 60);
    console.log(`\nRSS after the 2-minute warm-up: ${Math.min(...rss).toFixed(0)}-${Math.max(...rss).toFixed(0)} MiB; first to last ${slope >= 0 ? '+' : ''}${slope.toFixed(1)} MiB per hour`);
  }
} finally {
  for (const c of children.reverse()) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 3000));
  execFileSync('ip', ['netns', 'del', ns]);
  rmSync(dir, { recursive: true, force: true });
}
