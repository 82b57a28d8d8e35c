import { Worker } from 'node:worker_threads';

/** The decoding thread's module (decode-worker.ts). */
export const DECODE_WORKER_URL = new URL('./decode-worker.js', import.meta.url);

let prestarted: Worker | null = null;
let failed = false;

/**
 * Starts a replay's decoding thread before the rest of the command loads. A worker takes
 * about 90 ms from `new Worker` to its first line (its isolate, Node's bootstrap in it, the
 * decoder's modules), and the first slot of packets reaches the flow table only after that;
 * started first, that time overlaps the main thread loading the CLI, the replay command and
 * DuckDB instead of following them. main.ts calls this for `netlog replay` on files;
 * replayParallel takes the worker and sends it its work (decode-worker.ts waits for it). A
 * worker nobody takes is unreferenced, so it does not keep the process alive.
 */
export function prestartDecodeWorker(): void {
  const worker = new Worker(DECODE_WORKER_URL);
  worker.unref();
  // Until taken, an error (the worker failed to load) or an exit only means it is not used:
  // replayParallel starts one of its own, and sees what that one does.
  worker.once('error', () => (failed = true));
  worker.once('exit', () => (failed = true));
  prestarted = worker;
}

/** The prestarted worker, if there is one and it is alive; each is taken once. */
export function takePrestartedWorker(): Worker | null {
  const worker = prestarted;
  prestarted = null;
  if (worker === null) return null;
  if (failed) {
    void worker.terminate();
    return null;
  }
  worker.ref();
  return worker;
}
