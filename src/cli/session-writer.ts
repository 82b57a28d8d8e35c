import type { Writable } from 'node:stream';
import type { SessionRecord } from '../flow/session-record.js';
import {
  sessionCsvHeader,
  sessionCsvRow,
  sessionJsonLine,
  sessionTableHeader,
  sessionTableRow,
} from '../format/session-text.js';

export type SessionFormat = 'jsonl' | 'csv' | 'table';
export const SESSION_FORMATS: readonly SessionFormat[] = ['jsonl', 'csv', 'table'];

/**
 * Writes session records as text to a stream. Records arrive synchronously from the flow
 * table; they are gathered into one string and written per batch by `drain`, which waits when
 * the stream pushes back, so a slow reader of stdout bounds memory.
 */
export class SessionWriter {
  private pending = '';
  count = 0;
  private readonly row: (r: SessionRecord) => string;

  constructor(
    private readonly out: Writable,
    format: SessionFormat,
  ) {
    this.row = format === 'csv' ? sessionCsvRow : format === 'table' ? sessionTableRow : sessionJsonLine;
    if (format === 'csv') this.pending = sessionCsvHeader();
    if (format === 'table') this.pending = sessionTableHeader();
  }

  write = (r: SessionRecord): void => {
    this.pending += this.row(r);
    this.count++;
  };

  drain = async (): Promise<void> => {
    if (this.pending.length === 0) return;
    const chunk = this.pending;
    this.pending = '';
    if (!this.out.write(chunk)) await new Promise<void>((resolve) => this.out.once('drain', resolve));
  };
}
