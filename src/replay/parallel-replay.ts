import { Worker } from 'node:worker_threads';
import { Decoder } from '../decode/decoder.js';
import { PacketInfo } from '../decode/packet-info.js';
import { netlogErrorFromData, type NetlogErrorData } from '../errors.js';
import { FlowTracker } from '../flow/flow-tracker.js';
import { IdentityRegistry } from '../identity/identity-registry.js';
import { createRing, RingReader } from './decoded-ring.js';
import type { DecodeStartMessage, DecodeWorkerData, IdentityStaleMessage, JsonFailedMessage } from './decode-worker.js';
import { channelIdentity, createJsonChannel, JsonChannelSender } from './json-channel.js';
import { NativeFlowPath } from './native-flow.js';
import { DECODE_WORKER_URL, takePrestartedWorker } from './prestart.js';
import type { CaptureReport } from './read-capture.js';
import type { ReplayOptions, ReplayResult } from './replay.js';

type WireReport = Omit<CaptureReport, 'warnings' | 'error'> & { warnings: NetlogErrorData[]; error: NetlogErrorData | null };

/**
 * replay() on two threads: a worker reads and decodes the captures (decode-worker.ts) while
 * this thread runs the flow table and the session writers, the decoded packets passing through
 * a ring in shared memory. With `jsonLines`, the worker also encodes and writes the JSON lines
 * (json-channel.ts) whenever it would wait for the ring. The same sessions, in the same order,
 * and the same reports as the one-thread replay (tested); only the work is spread over two cores.
 */
export async function replayParallel(files: string[], options: ReplayOptions): Promise<ReplayResult> {
  const tracker = new FlowTracker(options);
  const decoder = new Decoder();
  const reports: CaptureReport[] = [];
  const ring = createRing();
  // With an org map, the decoding thread looks new flows up (identity-ahead.ts), while the map
  // it has is the one in force.
  const registry = options.identifier instanceof IdentityRegistry ? options.identifier : null;
  const ahead = registry?.ahead() ?? null;
  if (ahead) tracker.identifyAheadFrom(ahead.generation);
  // JSON lines to a file descriptor are written by the decoding thread (json-channel.ts).
  const json = options.jsonLines ? createJsonChannel(options.jsonLines.fd, channelIdentity(options.identifier)) : null;
  const workerData: DecodeWorkerData = { files, ring, identity: ahead?.matcher ?? null, nativeDecode: options.nativeDecode ?? true, json };
  let worker = takePrestartedWorker();
  if (worker) worker.postMessage({ type: 'start', data: workerData } satisfies DecodeStartMessage);
  else worker = new Worker(DECODE_WORKER_URL, { workerData });
  let aheadStale = false;
  let failure: Error | null = null;
  let sender: JsonChannelSender | null = null;
  let decoded: () => void;
  const done = new Promise<void>((resolve) => (decoded = resolve));
  worker.on('message', (m: { type: 'report'; report: WireReport } | { type: 'done'; counts: Float64Array; lengthsClamped: number } | JsonFailedMessage) => {
    if (m.type === 'report') {
      const r = m.report;
      reports.push({ ...r, warnings: r.warnings.map(netlogErrorFromData), error: r.error && netlogErrorFromData(r.error) });
    } else if (m.type === 'done') {
      decoder.counts.set(m.counts);
      decoder.lengthsClamped = m.lengthsClamped;
      decoded();
    } else if (sender) sender.fail(Object.assign(new Error(m.message), { code: m.code }));
  });
  worker.on('error', (e) => (failure = e));
  let exitCode: number | null = null;
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      exitCode = code;
      resolve();
    }),
  );
  // Asked while the ring is empty: a worker that has ended without finishing the ring (it
  // failed to load, or was stopped) is a failure even when it raised no error.
  const failed = () => failure ?? (exitCode === null ? null : new Error(`the decoding thread ended (exit code ${exitCode}) before the captures were read`));
  const reader = new RingReader(ring);
  const info = new PacketInfo();
  const gap = new Float64Array(1);
  const fast = options.nativeFlow === false ? null : NativeFlowPath.create(tracker, reader);
  if (json) {
    sender = new JsonChannelSender(json, options.identifier ?? null, failed, exited);
    reader.onRelease = (slot) => sender!.released(slot);
    options.jsonLines!.attach(sender);
  }
  try {
    for (let n = await reader.next(failed, exited); n >= 0; n = await reader.next(failed, exited)) {
      trackSlot(reader, n, tracker, info, gap, fast);
      reader.release();
      if (ahead && !aheadStale && registry!.generation !== ahead.generation) {
        worker.postMessage({ type: 'identity-stale' } satisfies IdentityStaleMessage);
        aheadStale = true;
      }
      tracker.deliver();
      await options.afterBatch?.();
    }
    await Promise.race([done, exited]); // the reports arrive before 'done', an error before 'exit'
    if (failure) throw failure;
    tracker.flush('capture-end');
    await options.afterBatch?.();
    // With JSON lines there, the decoding thread ends once it has written the last of them.
    await sender?.close();
    await exited;
    if (failure) throw failure;
    if (sender?.failure) throw sender.failure;
  } catch (e) {
    // This side stopped reading (a sink failed, or the worker did): the worker may be waiting
    // for room in the ring, so it is stopped rather than awaited.
    await worker.terminate();
    throw e;
  } finally {
    fast?.dispose();
    options.jsonLines?.attach(null);
  }
  return { reports, tracker, decoder, fastPathPackets: fast?.taken ?? 0 };
}

/**
 * The flow table's part of a slot of `n` packets: each packet into the flow table, a run of one
 * flow (decoded-ring.ts) at once where the flow table can take it so; with `fast`, the packets
 * that neither open nor end a flow through the addon (native-flow.ts). `info` and `gap` are
 * scratch.
 */
export function trackSlot(reader: RingReader, n: number, tracker: FlowTracker, info: PacketInfo, gap: Float64Array, fast: NativeFlowPath | null = null): void {
  for (let i = 0; i < n; i++) {
    if (fast !== null) {
      // The packets the addon takes, up to one for the flow table itself.
      i = fast.track(reader, i, n);
      if (i === n) break;
    }
    const run = reader.read(i, info);
    tracker.packet(info, reader.tsSec(i), reader.tsNsec(i));
    // A run of the same flow after it: at once when the flow table can, else one by one.
    if (run > 0 && tracker.packetRun(info, run, reader.runBytes(i), reader.runTimes(i, run, gap), gap[0]!)) i += run;
  }
}
