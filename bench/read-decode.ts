/**
 * One benchmark case in its own process, so that peak RSS is the case's own:
 *   node dist/bench/read-decode.js ours|pcap read|decode FILE
 * `read` iterates packets only; `decode` also walks every packet to its TCP/UDP header.
 * Prints one JSON line: packets, decoded, seconds, packetsPerSecond, peakRssMiB.
 */
import { createRequire } from 'node:module';
import { FileSource } from '../src/capture/file-source.js';
import { Decoder } from '../src/decode/decoder.js';

const [reader, mode, file] = process.argv.slice(2) as ['ours' | 'pcap', 'read' | 'decode', string];
const decode = mode === 'decode';
const decoder = new Decoder();

async function ours(): Promise<number> {
  const source = new FileSource(file);
  let packets = 0;
  for await (const batch of source.batches()) {
    if (decode) for (let i = 0; i < batch.count; i++) decoder.decodeAt(batch, i);
    packets += batch.count;
  }
  return packets;
}

/** node_pcap's offline session: libpcap reads, then one JS callback per packet. */
function nodePcap(): Promise<number> {
  const require = createRequire(import.meta.url);
  const pcap = require('pcap');
  return new Promise((resolve) => {
    const session = pcap.createOfflineSession(file, { filter: '' });
    const linkType: number = { LINKTYPE_ETHERNET: 1, LINKTYPE_RAW: 101, LINKTYPE_LINUX_SLL: 113 }[session.link_type as string] ?? 1;
    let packets = 0;
    session.on('packet', (raw: { buf: Buffer; header: Buffer }) => {
      packets++;
      if (decode) decoder.decode(raw.buf, 0, raw.header.readUInt32LE(8), raw.header.readUInt32LE(12), linkType);
    });
    session.on('complete', () => resolve(packets));
  });
}

const start = process.hrtime.bigint();
const packets = reader === 'pcap' ? await nodePcap() : await ours();
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
process.stdout.write(
  JSON.stringify({
    reader,
    mode,
    packets,
    decoded: decoder.counts[0],
    seconds,
    packetsPerSecond: packets / seconds,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  }) + '\n',
);
