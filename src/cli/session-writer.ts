import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { SessionBatch } from '../flow/session-batch.js';
import type { SessionRecord } from '../flow/session-record.js';
import { JsonLineEncoder } from '../format/session-json.js';
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

  write = (b: SessionBatch): void => {
    if (this.closed) return;
    this.count += b.length;
    if (this.json) this.json.encode(b);
    else for (let i = 0; i < b.length; i++) this.text += this.row(b.record(i));
  };

  /** Sessions that are records already (read back from the store). */
  writeRecords(records: readonly SessionRecord[]): void {
    this.count += records.length;
    for (const r of records) this.text += this.row(r);
  }

  drain = async (): Promise<void> => {
    if (this.failure) throw this.failure;
    if (this.closed) return;
    let more = true;
    if (this.text.length > 0) {
      more = this.out.write(this.text);
      this.text = '';
    }
    const json = this.json;
    if (json && json.size > 0) for (const chunk of json.take()) more = this.out.write(chunk, () => json.recycle(chunk));
    // A stream that fails while full never drains: the wait ends on the error too.
    if (!more) await once(this.out, 'drain').catch(() => {});
  };
}
