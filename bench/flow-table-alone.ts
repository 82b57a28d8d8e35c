/**
 * The two threads of a replay, each alone. The capture is decoded into a ring that holds all
 * of it (the decoding thread's work: the addon and RingWriter, runs of one flow marked as in a
 * replay), timed as `decodeSeconds`; then what the flow table's thread does with each slot is timed (trackSlot,
 * and handing on the sessions, counted here, not written) as `seconds`. A replay runs each for
 * every packet, in order, on a thread of its own, so the slower of the two is the most the
 * replay reaches on this machine, however fast writing the sessions gets. `seconds` is the first
 * pass over the ring, with the JIT as cold as in a replay; `warmSeconds` the faster of two more
 * (15-30% faster here: the first pass also grows the flow table).
 * With an org map (scope all), both threads do their identity work as in a replay: the decoding
 * thread looks new flows up ahead (identity-ahead.ts), the flow table takes the answers.
 *   node dist/bench/flow-table-alone.js CAPTURE [ORG_MAP]
 */
import { Decoder } from '../src/decode/decoder.js';
import { PacketInfo } from '../src/decode/packet-info.js';
import { FlowTracker } from '../src/flow/flow-tracker.js';
import { IdentityMap } from '../src/identity/identity-map.js';
import { IdentityRegistry } from '../src/identity/identity-registry.js';
import { loadOrgMap } from '../src/identity/org-map.js';
import { IdentityAhead } from '../src/replay/identity-ahead.js';
import { createRing, RingReader, RingWriter, SLOT_PACKETS } from '../src/replay/decoded-ring.js';
import { NativeRingDecoder } from '../src/replay/native-decode.js';
import { NativeFlowPath } from '../src/replay/native-flow.js';
import { trackSlot } from '../src/replay/parallel-replay.js';
import { readCapture } from '../src/replay/read-capture.js';

const [capture, orgMap] = process.argv.slice(2) as [string, string | undefined];
const identifier = orgMap ? new IdentityRegistry(new IdentityMap(await loadOrgMap(orgMap), 'all')) : undefined;
// A first pass counts the packets the ring must hold, with room for the end mark: the writer
// then never waits for a reader.
let decoded = 0;
await readCapture(capture, () => decoded++);
const ring = createRing(Math.ceil(decoded / SLOT_PACKETS) + 2);
new Uint8Array(ring).fill(0); // its pages faulted in now, not in the timed part
const writer = new RingWriter(ring);
// The decoding thread's part, timed too: reading, decoding and writing the ring, the common
// packets by the addon as in a replay (native-decode.ts), unless NETLOG_BENCH_TS_DECODE=1.
const decoder = new Decoder();
const native = process.env.NETLOG_BENCH_TS_DECODE === '1' ? null : NativeRingDecoder.create(writer, decoder);
const decodeStart = process.hrtime.bigint();
// As a replay's decoding thread gets the map: its matcher's data, made into look-ups there.
const ahead = identifier ? new IdentityAhead(identifier.ahead().matcher) : null;
const report = await readCapture(
  capture,
  (info, batch, i) => {
    ahead?.mark(info);
    writer.push(info, batch.tsSec[i]!, batch.tsNsec[i]!);
  },
  {
    decoder,
    decodeBatch: native ? (batch) => native.decodeBatch(batch, ahead) : undefined,
    source: { nativeRecords: native !== null },
  },
);
writer.finish();
const decodeSeconds = Number(process.hrtime.bigint() - decodeStart) / 1e9;

const passes: number[] = [];
let sessions = 0;
const info = new PacketInfo();
const gap = new Float64Array(1);
for (let pass = 0; pass < 3; pass++) {
  let ended = 0;
  const tracker = new FlowTracker({ identifier, onSessions: (b) => (ended += b.length) });
  if (identifier) tracker.identifyAheadFrom(identifier.generation);
  // Each pass reads the whole ring from its first slot; release() is not called, so the slots
  // stay full for the next pass.
  const reader = new RingReader(ring);
  // The flow table's fast path as in a replay (native-flow.ts), unless NETLOG_BENCH_TS_FLOW=1.
  const fast = process.env.NETLOG_BENCH_TS_FLOW === '1' ? null : NativeFlowPath.create(tracker, reader);
  const start = process.hrtime.bigint();
  for (let n = await reader.next(() => null); n >= 0; n = await reader.next(() => null)) {
    trackSlot(reader, n, tracker, info, gap, fast);
    tracker.deliver();
    reader.skip();
  }
  tracker.flush('capture-end');
  passes.push(Number(process.hrtime.bigint() - start) / 1e9);
  sessions = ended;
}
process.stdout.write(
  JSON.stringify({
    packets: report.packets,
    sessions,
    decodeSeconds,
    nativeDecode: native !== null,
    nativeFlow: process.env.NETLOG_BENCH_TS_FLOW !== '1',
    seconds: passes[0]!,
    warmSeconds: Math.min(...passes.slice(1)),
    packetsPerSecond: report.packets / passes[0]!,
    sessionsPerSecond: sessions / passes[0]!,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  }) + '\n',
);
