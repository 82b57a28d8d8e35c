import { NetlogError } from '../errors.js';
import { csvField } from '../format/session-text.js';
import { runReadOnlySql } from '../store/sql-query.js';

/** `netlog sql QUERY`: prints the result as an aligned table, JSON lines or CSV. */
export async function sqlCommand(query: string, opts: { db: string; format: string }): Promise<void> {
  if (!['table', 'jsonl', 'csv'].includes(opts.format)) {
    throw new NetlogError('ERR_CONFIG_INVALID', `--format must be table, jsonl or csv, not "${opts.format}"`);
  }
  const { columns, rows } = await runReadOnlySql(opts.db, query);
  const cell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  let out = '';
  if (opts.format === 'jsonl') {
    for (const r of rows) out += JSON.stringify(r) + '\n';
  } else if (opts.format === 'csv') {
    out += columns.map(csvField).join(',') + '\n';
    for (const r of rows) out += columns.map((c) => csvField(r[c])).join(',') + '\n';
  } else {
    const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
    out += columns.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
    for (const r of rows) out += columns.map((c, i) => cell(r[c]).padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
    out += `(${rows.length} row${rows.length === 1 ? '' : 's'})\n`;
  }
  process.stdout.write(out);
}
