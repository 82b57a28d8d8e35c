/**
 * Live capture throughput: tcpreplay --topspeed of a capture into one end of a veth pair in a
 * network namespace the bench makes; each consumer captures the other end. Reports packets
 * handled per second of the replay and libpcap's drop counters. Needs root and tcpreplay.
 *   node dist/bench/live-capture.js CAPTURE [netlog pcap cap]
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [capture, ...kinds] = process.argv.slice(2);
const ns = `nlbench${process.pid % 10000}`;
const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });

sh('ip', 'netns', 'add', ns);
try {
  // No IPv6 on the namespace's own interfaces: a veth coming up sends neighbour discovery and
  // MLD packets for seconds, which landed in the first consumer's count and clock. The replayed
  // IPv6 packets are captured all the same (the packet socket sees every frame).
  sh('ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
  sh('ip', '-n', ns, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
  for (const dev of ['lo', 'va', 'vb']) sh('ip', '-n', ns, 'link', 'set', dev, 'up');
  console.log('| consumer | sent | captured | replay s | consumer s | packets/s handled | consumer CPU s | kernel drops |\n|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const kind of kinds.length ? kinds : ['netlog', 'netlog-decode', 'pcap', 'cap']) {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, join(here, 'live-consumer.js'), kind, 'vb'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    while (!out.includes('ready') && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    if (child.exitCode !== null) continue; // not installed (pcap, cap)
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGUSR1'); // the consumer's clock starts now, not at the veth's own first packets
    await new Promise((r) => setTimeout(r, 50));
    // Preloaded: read from disk while sending, tcpreplay made 0.75-1.08M packets/s here; from memory 1.47M.
    const replay = sh('ip', 'netns', 'exec', ns, 'tcpreplay', '--topspeed', '--preload-pcap', '-i', 'va', capture!);
    const sent = Number(/Actual: (\d+) packets/.exec(replay)![1]);
    const seconds = Number(/sent in ([\d.]+) seconds/.exec(replay)![1]);
    await new Promise((r) => setTimeout(r, 1500)); // let the consumer drain its buffer
    child.kill('SIGTERM');
    await once(child, 'exit');
    const result = JSON.parse(out.split('\n').find((l) => l.startsWith('{'))!);
    const dropped = result.drops?.dropped ?? result.drops?.ps_drop ?? '?';
    // The consumer's first to last packet, but never shorter than tcpreplay's own sending
    // time: the first packets wait for the kernel to hand over a block, so the consumer's clock
    // starts a little late, and a rate above the sender's would only measure that.
    const consumerSeconds = Math.max(seconds, result.seconds);
    console.log(
      `| ${kind} | ${sent} | ${result.packets} | ${seconds.toFixed(3)} | ${consumerSeconds.toFixed(3)} | ${(result.handled / consumerSeconds / 1e6).toFixed(2)} M | ${result.cpuSeconds.toFixed(2)} | ${dropped} |`,
    );
  }
} finally {
  sh('ip', 'netns', 'del', ns);
}
