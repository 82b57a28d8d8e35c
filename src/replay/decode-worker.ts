/**
 * The decoding thread of a parallel replay (parallel-replay.ts): reads the captures in order
 * through one Decoder and writes every TCP/UDP packet into the shared ring; posts each
 * capture's report, then the decoder's counters.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Decoder } from '../decode/decoder.js';
import { netlogErrorData } from '../errors.js';
import { RingWriter } from './decoded-ring.js';
import { readCapture } from './read-capture.js';

export interface DecodeWorkerData {
  files: string[];
  ring: SharedArrayBuffer;
}

const { files, ring } = workerData as DecodeWorkerData;
const writer = new RingWriter(ring);
const decoder = new Decoder();
try {
  for (const file of files) {
    const report = await readCapture(file, (info, batch, i) => writer.push(info, batch.tsSec[i]!, batch.tsNsec[i]!), { decoder });
    parentPort!.postMessage({
      type: 'report',
      report: { ...report, warnings: report.warnings.map(netlogErrorData), error: report.error && netlogErrorData(report.error) },
    });
  }
  parentPort!.postMessage({ type: 'done', counts: decoder.counts, lengthsClamped: decoder.lengthsClamped });
} finally {
  writer.finish();
}
