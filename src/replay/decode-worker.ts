/**
 * The decoding thread of a parallel replay (parallel-replay.ts), given its work as workerData or,
 * when started ahead of it (prestart.ts), in a 'start' message: reads the captures in order
 * through one Decoder and writes every TCP/UDP packet into the shared ring, with the identity
 * of the flows it likely opens when there is an org map; posts each capture's report, then the
 * decoder's counters. Given a JSON lines channel, it encodes and writes the replay's sessions
 * while it waits for the flow table, and after the captures until the flow table is done.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PacketBatch } from '../capture/packet-batch.js';
import { Decoder } from '../decode/decoder.js';
import { netlogErrorData } from '../errors.js';
import { PresetIdentity } from '../flow/flow-identifier.js';
import type { IdentityMatcherData } from '../identity/identity-matcher.js';
import { RingWriter } from './decoded-ring.js';
import { IdentityAhead } from './identity-ahead.js';
import { JsonChannelWriter, type JsonChannelData } from './json-channel.js';
import { NativeRingDecoder } from './native-decode.js';
import { readCapture } from './read-capture.js';

export interface DecodeWorkerData {
  files: string[];
  ring: SharedArrayBuffer;
  /** The org map's look-ups, to identify new flows ahead of the flow table (identity-ahead.ts). */
  identity: IdentityMatcherData | null;
  /** Decode the common packets in C++ (native-decode.ts) when the addon is built. */
  nativeDecode: boolean;
  /** The replay's JSON lines, to encode and write here while waiting for the flow table (json-channel.ts). */
  json: JsonChannelData | null;
}

/** To the flow table's thread: writing the JSON lines failed (other than their reader going away). */
export interface JsonFailedMessage {
  type: 'json-failed';
  message: string;
  code: string | undefined;
}

/** From the flow table's thread: the org map was reloaded, so look-ups ahead would be wasted. */
export interface IdentityStaleMessage {
  type: 'identity-stale';
}

/** To a worker started before its work was known (prestart.ts): the work. */
export interface DecodeStartMessage {
  type: 'start';
  data: DecodeWorkerData;
}

const decoder = new Decoder();
let ahead: IdentityAhead | null = null;
let started: (data: DecodeWorkerData) => void;
const work = new Promise<DecodeWorkerData>((resolve) => (started = resolve));
parentPort!.on('message', (m: IdentityStaleMessage | DecodeStartMessage) => {
  if (m.type === 'start') started(m.data);
  else if (m.type === 'identity-stale') {
    ahead = null;
    decoder.info.presetIdentity = PresetIdentity.NONE; // no longer marked packet by packet
  }
});
if (workerData) started!(workerData as DecodeWorkerData);
const { files, ring, identity, nativeDecode, json } = await work;
parentPort!.unref(); // listening must not keep this thread alive once the captures are read
const writer = new RingWriter(ring);
const jsonWriter =
  json &&
  new JsonChannelWriter(json, (e) => parentPort!.postMessage({ type: 'json-failed', message: e.message, code: e.code } satisfies JsonFailedMessage));
writer.meanwhile = jsonWriter;
ahead = identity && new IdentityAhead(identity);
const native = nativeDecode ? NativeRingDecoder.create(writer, decoder) : null;
const decodeBatch = native ? (batch: PacketBatch) => native.decodeBatch(batch, ahead) : undefined;
try {
  for (const file of files) {
    const report = await readCapture(
      file,
      (info, batch, i) => {
        ahead?.mark(info);
        writer.push(info, batch.tsSec[i]!, batch.tsNsec[i]!);
      },
      // With the addon, classic pcap records are walked in C++ too (native-records.ts).
      { decoder, decodeBatch, source: { nativeRecords: native !== null } },
    );
    parentPort!.postMessage({
      type: 'report',
      report: { ...report, warnings: report.warnings.map(netlogErrorData), error: report.error && netlogErrorData(report.error) },
    });
  }
  parentPort!.postMessage({ type: 'done', counts: decoder.counts, lengthsClamped: decoder.lengthsClamped });
} finally {
  writer.finish();
}
// The sessions the flow table ends after the last packet (capture-end) are still to come.
jsonWriter?.finish();
