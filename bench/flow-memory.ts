/**
 * Flow-table cost with N concurrent open flows (default 1,000,000), for netlog's typed-array
 * table and for the same state kept in lru-cache (string key, one object per flow), the design's
 * first choice. Each table gets N distinct TCP SYNs, then every flow gets 4 more packets.
 *   node --expose-gc dist/bench/flow-memory.js netlog|lru-cache [N]
 */
import { LRUCache } from 'lru-cache';
import { PacketInfo, TCP_ACK, TCP_SYN } from '../src/decode/packet-info.js';
import { FlowTracker } from '../src/flow/flow-tracker.js';

const kind = process.argv[2] as 'netlog' | 'lru-cache';
const N = Number(process.argv[3] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc!;

function used(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external; // external already includes array buffers
}

const info = new PacketInfo();
info.ipVersion = 4;
info.protocol = 6;
info.dstPort = 443;
/** Flow i: client 100.64.0.0 + i/60000, port 1024 + i%60000, to 10.0.0.1:443. */
function setFlow(i: number, flags: number): void {
  info.src0 = (0x64400000 + Math.floor(i / 60000)) >>> 0;
  info.dst0 = 0x0a000001;
  info.srcPort = 1024 + (i % 60000);
  info.tcpFlags = flags;
  info.seq = i;
  info.payloadLength = flags === TCP_SYN ? 0 : 100;
}

/** What a straightforward lru-cache flow map holds per flow. */
interface FlowObject {
  firstUs: number;
  lastUs: number;
  packets: [number, number];
  bytes: [number, number];
  seqBase: [number, number];
  state: [number, number];
  history: string;
}

const before = used();
const start = process.hrtime.bigint();
let t = 1.7e9;
if (kind === 'netlog') {
  // Allocated at full size, so the figure is the table's, not garbage left by doubling.
  const tracker = new FlowTracker({ maxFlows: N, initialFlows: N, onSessions: () => {} });
  for (let i = 0; i < N; i++) {
    setFlow(i, TCP_SYN);
    tracker.packet(info, t, 0);
  }
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < N; i++) {
      setFlow(i, TCP_ACK);
      tracker.packet(info, t, 0);
    }
  }
  report(tracker.openFlows);
} else {
  const table = new LRUCache<string, FlowObject>({ max: N });
  const touch = (now: number) => {
    const key = `${info.src0}:${info.srcPort}-${info.dst0}:${info.dstPort}/${info.protocol}`;
    let f = table.get(key);
    if (!f) {
      f = { firstUs: now, lastUs: now, packets: [0, 0], bytes: [0, 0], seqBase: [info.seq, 0], state: [1, 0], history: 'S' };
      table.set(key, f);
    }
    f.lastUs = now;
    f.packets[0]++;
    f.bytes[0] += info.payloadLength;
  };
  for (let i = 0; i < N; i++) {
    setFlow(i, TCP_SYN);
    touch(t);
  }
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < N; i++) {
      setFlow(i, TCP_ACK);
      touch(t);
    }
  }
  report(table.size);
}

function report(flows: number): void {
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const bytes = used() - before;
  process.stdout.write(
    JSON.stringify({
      kind,
      flows,
      packets: 5 * N,
      seconds,
      packetsPerSecond: (5 * N) / seconds,
      bytesPerFlow: bytes / flows,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    }) + '\n',
  );
}
void t;
