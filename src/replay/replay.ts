import { Decoder } from '../decode/decoder.js';
import { FlowTracker, type FlowTrackerOptions } from '../flow/flow-tracker.js';
import type { JsonLinesTarget } from './json-channel.js';
import { replayParallel } from './parallel-replay.js';
import { readCapture, type CaptureReport } from './read-capture.js';

export interface ReplayOptions extends FlowTrackerOptions {
  /** Awaited after each batch of packets (backpressure from the session sink). */
  afterBatch?: () => Promise<void> | void;
  /** Decode on a worker thread while this one tracks flows (files only, not stdin). */
  parallel?: boolean;
  /** With `parallel`: the worker decodes the common packets in C++ (native-decode.ts; default
   *  true; the TypeScript decoder when false or when the addon is not built). */
  nativeDecode?: boolean;
  /** With `parallel`: the flow table takes the packets that neither open nor end a flow
   *  through its C++ fast path (native-flow.ts; default true). */
  nativeFlow?: boolean;
  /** With `parallel`: JSON lines written by the decoding thread to this descriptor (json-channel.ts). */
  jsonLines?: JsonLinesTarget;
}

export interface ReplayResult {
  reports: CaptureReport[];
  tracker: FlowTracker;
  decoder: Decoder;
  /** Packets the flow table's C++ fast path took (native-flow.ts); the rest FlowTracker's. */
  fastPathPackets?: number;
}

/**
 * Replays captures, in order, through one decoder and one flow table, as if they were one
 * capture; at the end every flow still open is recorded with endReason `capture-end`. A file
 * that stops with an error keeps what it delivered and the next file is still read.
 */
export async function replay(files: string[], options: ReplayOptions): Promise<ReplayResult> {
  if (options.parallel && !files.includes('-')) return replayParallel(files, options);
  const tracker = new FlowTracker(options);
  const decoder = new Decoder();
  const reports: CaptureReport[] = [];
  for (const file of files) {
    reports.push(
      await readCapture(file, (info, batch, i) => tracker.packet(info, batch.tsSec[i]!, batch.tsNsec[i]!), {
        decoder,
        afterBatch: () => {
          tracker.deliver();
          return options.afterBatch?.();
        },
      }),
    );
  }
  tracker.flush('capture-end');
  await options.afterBatch?.();
  return { reports, tracker, decoder };
}
