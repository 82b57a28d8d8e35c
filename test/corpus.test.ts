import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readCapture } from '../src/replay/read-capture.js';
import { CORPUS, ROOT } from './helpers.js';

/**
 * Every capture of ../shared/corpus (tcpdump's and Zeek's test traces, hundreds of them
 * malformed on purpose) goes through reader and decoder: no exception but a NetlogError, no
 * hang, and a file read to its end holds exactly as many packets as Wireshark's capinfos counts
 * (test/golden/corpus-packets.tsv, from test/golden/make-corpus-golden.sh).
 */
it('replays the whole shared corpus: read to the end with capinfos’ packet count, or a coded error', async () => {
  const rows = readFileSync(join(ROOT, 'test/golden/corpus-packets.tsv'), 'utf8').split('\n').filter(Boolean);
  expect(rows.length).toBeGreaterThan(1600);
  const byCode = new Map<string, number>();
  const outcomes = new Map<string, number>();
  for (const row of rows) {
    const [file, expected] = row.split('\t') as [string, string];
    const report = await readCapture(join(CORPUS, file), () => {});
    const code = report.error?.code ?? 'read to end';
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
    for (const [k, v] of Object.entries(report.tally)) outcomes.set(k, (outcomes.get(k) ?? 0) + v);
    if (report.error === null) {
      expect(String(report.packets), file).toBe(expected);
    } else if (expected !== '-') {
      // capinfos read it; only a link type netlog does not decode may stop us.
      expect(report.error.code, file).toBe('ERR_LINKTYPE_UNSUPPORTED');
    }
  }
  console.log('corpus files by outcome:', Object.fromEntries(byCode));
  console.log('corpus packets by decoder outcome:', Object.fromEntries(outcomes));
  expect(byCode.get('read to end')).toBeGreaterThan(1300);
});
