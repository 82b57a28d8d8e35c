import { NetlogError } from '../errors.js';
import { parseSessionFilter, type RawSessionFilter } from '../store/session-filter.js';
import { once } from 'node:events';
import { withReadOnlyStore } from '../store/read-only.js';
import { countSessions, exportCsv, exportParquet, querySessions, streamCsv, type ExportFilter } from '../store/session-query.js';
import { SESSION_FORMATS, SessionWriter, type SessionFormat } from './session-writer.js';

type FilterOptions = RawSessionFilter & { db: string };

/** `netlog query`: one page of sessions, newest first; the total on stderr. */
export async function queryCommand(opts: FilterOptions & { format: string }): Promise<void> {
  if (!SESSION_FORMATS.includes(opts.format as SessionFormat)) {
    throw new NetlogError('ERR_CONFIG_INVALID', `--format must be one of ${SESSION_FORMATS.join(', ')}, not "${opts.format}"`);
  }
  const filter = parseSessionFilter(opts);
  const { sessions, total } = await querySessions(opts.db, filter);
  const writer = new SessionWriter(process.stdout, opts.format as SessionFormat);
  writer.writeRecords(sessions);
  await writer.drain();
  process.stderr.write(`netlog: ${sessions.length} of ${total} sessions (offset ${filter.offset})\n`);
}

/** `netlog export`: every session the filters select, to CSV (streamed) or Parquet. */
export async function exportCommand(opts: FilterOptions & { format: string; out: string }): Promise<void> {
  if (opts.format !== 'csv' && opts.format !== 'parquet') {
    throw new NetlogError('ERR_CONFIG_INVALID', `--format must be csv or parquet, not "${opts.format}"`);
  }
  const { limit: _limit, offset: _offset, ...filter } = parseSessionFilter({ ...opts, limit: undefined, offset: undefined });
  const count =
    opts.format === 'parquet'
      ? await exportParquet(opts.db, filter, opts.out)
      : opts.out === '-'
        ? await csvToStdout(opts.db, filter)
        : await exportCsv(opts.db, filter, opts.out);
  process.stderr.write(`netlog: exported ${count} sessions to ${opts.out}\n`);
}

/**
 * CSV on stdout through the API's streaming path rather than COPY TO /dev/stdout, which DuckDB
 * cannot open when stdout is a socket (a parent process's pipe, ENXIO). Same bytes either way.
 */
function csvToStdout(db: string, filter: ExportFilter): Promise<number> {
  return withReadOnlyStore(db, async (c) => {
    const total = await countSessions(c, filter);
    for await (const piece of streamCsv(c, filter)) {
      if (!process.stdout.write(piece)) await once(process.stdout, 'drain');
    }
    return total;
  });
}
