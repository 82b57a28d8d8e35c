import { SESSION_FIELDS, type SessionRecord } from '../flow/session-record.js';

/** One JSON object per line. */
export function sessionJsonLine(r: SessionRecord): string {
  return JSON.stringify(r) + '\n';
}

export function sessionCsvHeader(): string {
  return SESSION_FIELDS.join(',') + '\n';
}

/**
 * RFC 4180 CSV row in SESSION_FIELDS order. null is an empty field. A text value that a
 * spreadsheet would run as a formula (starting with = + - @, tab or CR) is prefixed with `'`,
 * as Pangolin's export does (OWASP "CSV injection").
 */
export function sessionCsvRow(r: SessionRecord): string {
  let line = '';
  for (let i = 0; i < SESSION_FIELDS.length; i++) {
    if (i > 0) line += ',';
    line += csvField(r[SESSION_FIELDS[i]!]);
  }
  return line + '\n';
}

export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  const s = String(v);
  return csvQuote(/^[=+\-@\t\r]/.test(s) ? `'${s}` : s);
}

/** A text field quoted as RFC 4180 (and DuckDB's CSV writer) does: only when it must be. */
export function csvQuote(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const TABLE_COLUMNS: Array<[string, number, (r: SessionRecord) => string]> = [
  ['start (UTC)', 26, (r) => new Date(r.startedAt * 1000).toISOString().replace('T', ' ').replace('Z', '')],
  ['proto', 5, (r) => r.protocol],
  ['source', 24, (r) => r.sourceAddr],
  ['destination', 24, (r) => r.destAddr],
  ['duration s', 11, (r) => (r.duration === null ? '-' : r.duration.toFixed(3))],
  ['bytesTx', 10, (r) => String(r.bytesTx)],
  ['bytesRx', 10, (r) => String(r.bytesRx)],
  ['pkts', 9, (r) => `${r.packetsTx}/${r.packetsRx}`],
  ['state', 6, (r) => r.state],
  ['history', 12, (r) => r.history],
  ['end', 11, (r) => r.endReason ?? 'open'],
];

export function sessionTableHeader(): string {
  return TABLE_COLUMNS.map(([name, width]) => name.padEnd(width)).join(' ').trimEnd() + '\n';
}

/** A fixed-width row for people; numbers right-aligned. */
export function sessionTableRow(r: SessionRecord): string {
  return (
    TABLE_COLUMNS.map(([, width, get], i) => {
      const v = get(r);
      return i >= 4 && i <= 7 ? v.padStart(width) : v.padEnd(width);
    })
      .join(' ')
      .trimEnd() + '\n'
  );
}
