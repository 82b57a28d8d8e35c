import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SessionRecord } from '../src/flow/session-record.js';
import { sessionCsvHeader, sessionCsvRow } from '../src/format/session-text.js';
import { replay } from '../src/replay/replay.js';
import { parseSessionFilter, type RawSessionFilter } from '../src/store/session-filter.js';
import { withReadOnlyStore } from '../src/store/read-only.js';
import { exportCsv, exportParquet, querySessions, streamCsv } from '../src/store/session-query.js';
import { SessionStore } from '../src/store/session-store.js';
import { runReadOnlySql } from '../src/store/sql-query.js';
import { FIXTURES } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'netlog-query-'));
const db = join(dir, 'netlog.duckdb');
const records: SessionRecord[] = [];
const NOW = new Date('2026-11-24T21:00:00Z'); // the fixtures were captured at 20:53 that day

beforeAll(async () => {
  const store = await SessionStore.open(db);
  for (const f of ['sessions-veth.pcap', 'tun-wireguard.pcap', 'veth-ethernet-nsec.pcap']) {
    await replay([join(FIXTURES, f)], { onSession: (r) => (records.push(r), store.append(r)) });
  }
  await store.close();
});

const newestFirst = (a: SessionRecord, b: SessionRecord) => b.startedAt - a.startedAt || (a.sessionId < b.sessionId ? -1 : 1);
const host = (addr: string) => addr.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
const ipv4Number = (h: string) => h.split('.').reduce((a, o) => a * 256 + Number(o), 0);

/** The filter applied in plain JavaScript to the records replay emitted: the reference. */
const reference: Array<[string, RawSessionFilter, (r: SessionRecord) => boolean]> = [
  ['no filter', {}, () => true],
  ['protocol udp', { protocol: 'udp' }, (r) => r.protocol === 'udp'],
  ['dst endpoint', { dst: '10.77.0.2:8080' }, (r) => r.destAddr === '10.77.0.2:8080'],
  ['src host', { src: '10.77.0.1' }, (r) => host(r.sourceAddr) === '10.77.0.1'],
  ['src IPv6 host, any spelling', { src: 'FD90:0:0::2' }, (r) => host(r.sourceAddr) === 'fd90::2'],
  ['dst [v6]:port', { dst: '[fd77::2]:8080' }, (r) => r.destAddr === '[fd77::2]:8080'],
  ['src IPv4 CIDR', { src: '100.90.0.0/16' }, (r) => !r.sourceAddr.startsWith('[') && ipv4Number(host(r.sourceAddr)) >>> 16 === (100 << 8 | 90)],
  ['dst CIDR /31 and tcp', { dst: '10.77.0.2/31', protocol: 'tcp' }, (r) => r.protocol === 'tcp' && host(r.destAddr) === '10.77.0.2'],
  ['since 10 minutes ago', { since: '10m' }, (r) => r.timestamp >= NOW.getTime() / 1000 - 600],
  ['until ISO', { until: '2026-11-24T20:53:05Z' }, (r) => r.timestamp <= Date.parse('2026-11-24T20:53:05Z') / 1000],
  ['client (none yet)', { client: '7' }, () => false],
  ['src IPv6 CIDR /64', { src: 'fd90::/64' }, (r) => r.sourceAddr.startsWith('[fd90::')],
  ['dst IPv6 CIDR /15 (a part-digit prefix)', { dst: 'fd76::/15' }, (r) => /^\[fd7[67]:/.test(r.destAddr)],
  ['dst IPv6 CIDR /16 excludes a neighbour', { dst: 'fd76::/16' }, () => false],
  ['src ::/0 is every IPv6 session', { src: '::/0' }, (r) => r.sourceAddr.startsWith('[')],
];

describe('query: filters as bound parameters, newest first, against the same filter in JS', () => {
  for (const [name, raw, keep] of reference) {
    it(name, async () => {
      const expected = records.filter(keep).sort(newestFirst);
      const page = await querySessions(db, parseSessionFilter({ ...raw, limit: '1000' }, NOW));
      expect(page.total).toBe(expected.length);
      expect(page.sessions.map((s) => s.sessionId)).toEqual(expected.map((s) => s.sessionId));
    });
  }

  it('pages cover every session once', async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < records.length; offset += 4) {
      const page = await querySessions(db, parseSessionFilter({ limit: '4', offset: String(offset) }, NOW));
      expect(page.total).toBe(records.length);
      seen.push(...page.sessions.map((s) => s.sessionId));
    }
    expect(seen).toEqual([...records].sort(newestFirst).map((s) => s.sessionId));
  });

  it('a stored session reads back equal to the record replay emitted', async () => {
    const page = await querySessions(db, parseSessionFilter({ limit: '1000' }, NOW));
    const byId = new Map(records.map((r) => [r.sessionId, r]));
    for (const s of page.sessions) expect(s).toEqual(byId.get(s.sessionId));
  });

  it('bad values are ERR_CONFIG_INVALID naming the option', () => {
    const cases: Array<[RawSessionFilter, RegExp]> = [
      [{ protocol: 'icmp' }, /--protocol "icmp"/],
      [{ since: 'yesterday' }, /--since "yesterday"/],
      [{ src: '10.0.0.300' }, /--src "10.0.0.300"/],
      [{ dst: '10.0.0.0/40' }, /--dst "10.0.0.0\/40"/],
      [{ client: 'abc' }, /--client "abc"/],
      [{ limit: '0' }, /--limit "0"/],
      [{ since: '2026-11-25', until: '2026-11-24' }, /after --until/],
      [{ src: 'fd00::/129' }, /at most \/128/],
      [{ src: 'fd00:::1/64' }, /not an IPv4 or IPv6 CIDR/],
    ];
    for (const [raw, message] of cases) {
      expect(() => parseSessionFilter(raw, NOW)).toThrow(message);
    }
  });
});

describe('export', () => {
  it('CSV written by DuckDB is byte for byte what replay --format csv writes for the same sessions', async () => {
    for (const [raw, keep] of [
      [{}, () => true],
      [{ protocol: 'udp' }, (r: SessionRecord) => r.protocol === 'udp'],
    ] as Array<[RawSessionFilter, (r: SessionRecord) => boolean]>) {
      const out = join(dir, `export-${Object.keys(raw).join('-') || 'all'}.csv`);
      const n = await exportCsv(db, parseSessionFilter(raw, NOW), out);
      const expected = records.filter(keep).sort(newestFirst);
      expect(n).toBe(expected.length);
      expect(readFileSync(out, 'utf8')).toBe(sessionCsvHeader() + expected.map(sessionCsvRow).join(''));
    }
  });

  it('CSV from DuckDB guards formula-looking text, quotes and tabs exactly as the JS writer', async () => {
    const odd = join(dir, 'odd.duckdb');
    const store = await SessionStore.open(odd);
    const base = records[0]!;
    const tricky = ['=HYPERLINK("http://x")', '+1', '-2', '@SUM(A1)', '\tx', 'a,b', 'say "hi"', 'plain', ''];
    const made = tricky.map((t, i) => ({
      ...base,
      sessionId: `odd${i}`,
      timestamp: Math.floor(base.startedAt + i),
      startedAt: base.startedAt + i,
      endedAt: base.endedAt! + i,
      userId: t,
      orgId: t || null,
    }));
    for (const r of made) store.append(r);
    await store.close();
    const out = join(dir, 'odd.csv');
    await exportCsv(odd, parseSessionFilter({}, NOW), out);
    const expected = sessionCsvHeader() + [...made].sort(newestFirst).map(sessionCsvRow).join('');
    expect(readFileSync(out, 'utf8')).toBe(expected);
    // The streamed path (API export, `export --out -`) quotes in JavaScript: the same bytes.
    const streamed = await withReadOnlyStore(odd, async (c) => {
      let text = '';
      for await (const piece of streamCsv(c, parseSessionFilter({}, NOW))) text += piece;
      return text;
    });
    expect(streamed).toBe(expected);
  });

  it('Parquet holds the selected sessions', async () => {
    const out = join(dir, 'udp.parquet');
    const n = await exportParquet(db, parseSessionFilter({ protocol: 'udp' }, NOW), out);
    const udp = records.filter((r) => r.protocol === 'udp');
    expect(n).toBe(udp.length);
    const { rows } = await runReadOnlySql(db, `SELECT sum("bytesTx" + "bytesRx") AS b FROM read_parquet('${out}')`);
    expect(rows[0]!.b).toBe(udp.reduce((a, r) => a + r.bytesTx + r.bytesRx, 0));
    expect(readFileSync(out).subarray(0, 4).toString()).toBe('PAR1');
  });
});
