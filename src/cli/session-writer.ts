import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { SessionBatch } from '../flow/session-batch.js';
import type { SessionRecord } from '../flow/session-record.js';
import { JsonLineEncoder } from '../format/session-json.js';
import type { JsonChannelSender, JsonLinesTarget } from '../replay/json-channel.js';
import { sessionCsvHeader, sessionCsvRow, sessionJsonLine, sessionTableHeader, sessionTableRow } from '../format/session-text.js';

export type SessionFormat = 'jsonl' | 'csv' | 'table';
export const SESSION_FORMATS: readonly SessionFormat[] = ['jsonl', 'csv', 'table'];

/**
 * Writes sessions as text to a stream. Batches arrive synchronously from the flow table; their
 * text is gathered (JSON lines as bytes, straight from the batch's columns) and written by
 * `drain`, which waits when the stream pushes back, so a slow reader of stdout bounds memory.
 * When the reader goes away (`netlog replay ... | head`: EPIPE), the writer is `closed` and
 * drops what comes after; any other write error is thrown by the next `drain`.
 */
export class SessionWriter {
  private text = '';
  private readonly json: JsonLineEncoder | null;
  private readonly row: (r: SessionRecord) => string;
  count = 0;
  /** The stream can take no more (its reader went away, or it failed). */
  closed = false;
  private failure: Error | null = null;
  /** Attached by a replay whose decoding thread writes the JSON lines (jsonLinesTarget). */
  private sender: JsonChannelSender | null = null;

  constructor(
    private readonly out: Writable,
    format: SessionFormat,
  ) {
    this.json = format === 'jsonl' ? new JsonLineEncoder() : null;
    this.row = format === 'csv' ? sessionCsvRow : format === 'table' ? sessionTableRow : sessionJsonLine;
    if (format === 'csv') this.text = sessionCsvHeader();
    if (format === 'table') this.text = sessionTableHeader();
    out.on('error', (e: NodeJS.ErrnoException) => {
      this.closed = true;
      if (e.code !== 'EPIPE') this.failure = e;
    });
  }

  /**
   * JSON lines to a stream with a file descriptor, nothing of it buffered: a parallel replay
   * may have its decoding thread write them (json-channel.ts), and this writer hands it the
   * batches while attached. Null for any other format or stream.
   */
  jsonLinesTarget(): JsonLinesTarget | null {
    const fd = (this.out as { fd?: unknown }).fd;
    if (this.json === null || typeof fd !== 'number' || this.out.writableLength > 0) return null;
    return { fd, attach: (sender) => (this.sender = sender) };
  }

  write = (b: SessionBatch): void => {
    if (this.closed) return;
    this.count += b.length;
    if (this.sender) {
      this.sender.write(b);
      return;
    }
    if (this.json) {
      this.json.encode(b);
      // A burst (a timeout sweep ends 50k sessions at once in the bench capture) goes out as it
      // is made, a buffer at a time, so the buffers come back for reuse (see writeChunk); the
      // stream's own buffering still holds it all for a slow reader, and drain() waits for it.
      if (this.json.filled > 0) this.writeOut(this.json);
    } else for (let i = 0; i < b.length; i++) this.text += this.row(b.record(i));
  };

  /** Sessions that are records already (read back from the store). */
  writeRecords(records: readonly SessionRecord[]): void {
    this.count += records.length;
    for (const r of records) this.text += this.row(r);
  }

  drain = async (): Promise<void> => {
    if (this.failure) throw this.failure;
    if (this.closed) return;
    const sender = this.sender;
    if (sender) {
      if (!sender.closed) await sender.drain();
      if (!sender.closed) return;
      const failure = await sender.writeError();
      if (failure) throw failure;
      this.closed = true; // EPIPE on the decoding thread: as from the stream's error below
      return;
    }
    let more = true;
    if (this.text.length > 0) {
      more = this.out.write(this.text);
      this.text = '';
    }
    if (this.json && this.json.size > 0) more = this.writeOut(this.json);
    // write() hands full buffers to the stream between drains, and a full stream's `false`
    // from one of those must hold the replay too (writableNeedDrain): without it a reader
    // slower than the replay (`| wc -l` under a SYN flood) let the stream's buffer grow to
    // 4.1 GB for 10M sessions. A stream that fails while full never drains: the wait ends on
    // the error too.
    if (!more || this.out.writableNeedDrain) await once(this.out, 'drain').catch(() => {});
    // A write error (ENOSPC) comes on a later tick, often during that wait: thrown now, not
    // taken for a reader gone away (`closed`), which would end the replay quietly.
    if (this.failure) throw this.failure;
  };

  /**
   * After the last drain: waits until the stream has written what it holds, and throws its
   * write error if it had one. A file stream's error (stdout on a full disk: ENOSPC) comes on a
   * later tick than the write, after a replay's last drain had looked: the replay ended with
   * status 0 and its sessions silently cut.
   */
  finish = async (): Promise<void> => {
    await this.drain();
    if (!this.closed && this.out.writableLength > 0) await once(this.out, 'drain').catch(() => {});
    await new Promise((resolve) => setImmediate(resolve));
    if (this.failure) throw this.failure;
  };

  /**
   * Writes what the encoder holds, chunk by chunk, each handed back for reuse once the stream
   * is done with it. The encoder keeps four spare buffers; before this, a 2.5M-packet replay
   * took 103 fresh 1 MB buffers (a 20M-packet one 694, peak RSS 926 MB; their page faults were
   * 9% of its profile), for two reasons: the bench capture's timeout sweeps end ~50k sessions
   * at once, 30 MB of JSON made before the next drain; and a write's callback comes on the next
   * tick, which a replay's loop of resolved promises leaves waiting for long stretches.
   */
  private writeOut(json: JsonLineEncoder): boolean {
    let more = true;
    for (const chunk of json.take()) more = this.writeChunk(json, chunk);
    return more;
  }

  /**
   * A stream that wrote the chunk at once (a file or /dev/null, and pipes on Linux: writes are
   * synchronous there) holds no bytes of it afterwards: the chunk is reused right away rather
   * than on its callback. One that holds it (a full pipe, a socket) gives it back on the callback.
   */
  private writeChunk(json: JsonLineEncoder, chunk: Buffer): boolean {
    let handedBack = false;
    const handBack = () => {
      if (handedBack) return;
      handedBack = true;
      json.recycle(chunk);
    };
    const more = this.out.write(chunk, handBack);
    if (this.out.writableLength === 0) handBack();
    return more;
  }
}
