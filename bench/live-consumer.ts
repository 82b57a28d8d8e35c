/**
 * One live-capture consumer in its own process, for bench/live-capture.ts: captures IFACE
 * until SIGTERM, then prints packets handled and libpcap's drop counters.
 *   node dist/bench/live-consumer.js netlog|pcap|cap IFACE
 * netlog: our binding, batched dispatch, decoded and tracked into sessions (no store);
 * netlog-decode: the same, decoding only.
 * pcap (node_pcap) and cap: their own capture, one JavaScript callback per packet, and the
 * same decoder on each packet.
 */
import { createRequire } from 'node:module';
import { LiveSource } from '../src/capture/live-source.js';
import { Decoder } from '../src/decode/decoder.js';
import { Skip } from '../src/decode/packet-info.js';
import { FlowTracker } from '../src/flow/flow-tracker.js';

const [kind, iface] = process.argv.slice(2) as ['netlog' | 'netlog-decode' | 'pcap' | 'cap', string];
const require = createRequire(import.meta.url);
const decoder = new Decoder();
let packets = 0;
let drops: unknown = null;
// Counting starts at SIGUSR1, which the bench sends just before it starts tcpreplay: a veth
// coming up used to send packets of its own, and timing from those counted the wait for
// tcpreplay as capture time. From then on: when the consumer handled its first and its latest
// packet, and the CPU it used, which says how far from busy it was.
let started = false;
let packetsBefore = 0;
let firstAt = 0;
let lastAt = 0;
let cpuAtStart = process.cpuUsage();
process.on('SIGUSR1', () => {
  started = true;
  packetsBefore = packets;
  cpuAtStart = process.cpuUsage();
});
const seen = () => {
  if (!started) return;
  lastAt = performance.now();
  if (firstAt === 0) firstAt = lastAt;
};
const report = () => {
  const cpu = process.cpuUsage(cpuAtStart);
  const handled = packets - packetsBefore;
  const seconds = (lastAt - firstAt) / 1000;
  process.stdout.write(JSON.stringify({ kind, packets, handled, decoded: decoder.counts[0], drops, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 }) + '\n');
  process.exit(0);
};

if (kind === 'netlog' || kind === 'netlog-decode') {
  // netlog-decode stops at the decoder, as the pcap and cap consumers do.
  const source = new LiveSource(iface, { bufferBytes: 64 * 1024 * 1024, snaplen: 256 });
  const tracker = kind === 'netlog' ? new FlowTracker({ onSessions: () => {} }) : null;
  process.once('SIGTERM', () => source.stop());
  process.stdout.write('ready\n');
  for await (const batch of source.batches()) {
    for (let i = 0; i < batch.count; i++) {
      if (decoder.decodeAt(batch, i) === Skip.NONE && tracker) tracker.packet(decoder.info, batch.tsSec[i]!, batch.tsNsec[i]!);
    }
    tracker?.deliver();
    packets = source.stats.packets;
    seen();
  }
  packets = source.stats.packets;
  drops = source.drops();
  report();
} else if (kind === 'pcap') {
  const pcap = require('pcap');
  const session = pcap.createSession(iface, { filter: '', buffer_size: 64 * 1024 * 1024, snap_length: 256 });
  session.on('packet', (raw: { buf: Buffer; header: Buffer }) => {
    if ((packets++ & 255) === 0) seen();
    decoder.decode(raw.buf, 0, raw.header.readUInt32LE(8), raw.header.readUInt32LE(12), 1);
  });
  process.once('SIGTERM', () => {
    drops = session.stats();
    report();
  });
  process.stdout.write('ready\n');
} else {
  const { Cap } = require('cap');
  const c = new Cap();
  const buf = Buffer.alloc(65535);
  const linkType = c.open(iface, '', 64 * 1024 * 1024, buf);
  c.setMinBytes?.(0);
  c.on('packet', (nbytes: number) => {
    if ((packets++ & 255) === 0) seen();
    decoder.decode(buf, 0, nbytes, nbytes, linkType === 'ETHERNET' ? 1 : 101);
  });
  process.once('SIGTERM', () => {
    drops = c.stats?.() ?? null;
    report();
  });
  process.stdout.write('ready\n');
}
