import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SessionWriter } from '../src/cli/session-writer.js';
import { ROW_IPV6, SessionBatch, STILL_OPEN } from '../src/flow/session-batch.js';
import { formatEndpoint, formatIpv6 } from '../src/decode/address.js';
import type { SessionRecord } from '../src/flow/session-record.js';
import { JsonLineEncoder, nativeJsonLoaded } from '../src/format/session-json.js';
import { sessionJsonLine } from '../src/format/session-text.js';
import { IdentityMap } from '../src/identity/identity-map.js';
import { IdentityRegistry } from '../src/identity/identity-registry.js';
import { loadOrgMap } from '../src/identity/org-map.js';
import { replay } from '../src/replay/replay.js';
import { CORPUS, FIXTURES } from './helpers.js';

/** Every batch the flow table delivers for `files`, copied, and the records the slow path makes. */
async function batchesOf(files: string[], identifier?: IdentityRegistry): Promise<{ batches: SessionBatch[]; records: SessionRecord[] }> {
  const batches: SessionBatch[] = [];
  const records: SessionRecord[] = [];
  await replay(files, {
    identifier,
    onSessions: (b) => batches.push(b.copy()),
  });
  await replay(files, { identifier, onSession: (r) => records.push(r) });
  return { batches, records };
}

function encoded(batches: SessionBatch[], options: { native?: boolean } = {}): string {
  const encoder = new JsonLineEncoder(options);
  for (const b of batches) encoder.encode(b);
  return Buffer.concat(encoder.take()).toString('utf8');
}

/** A record with every odd value a writer must get right (escapes, big numbers, nulls). */
const ODD_BASE: SessionRecord = {
  timestamp: 1764028800,
  protocol: 'tcp',
  siteResourceId: 7,
  clientId: 21,
  userId: 'say "hi" \u00e9\u2028',
  sourceAddr: '[fd90::2]:51000',
  destAddr: '10.0.0.1:443',
  duration: 0.000001,
  bytesTx: 2 ** 40 + 3,
  bytesRx: 0,
  startedAt: 1764028800.000001,
  endedAt: 1764028800.000002,
  packetsTx: 3_000_000_000,
  packetsRx: 1,
  missedBytesTx: 0,
  missedBytesRx: 5,
  state: 'SF',
  history: 'ShADadFf',
  endReason: 'fin',
  sessionId: 'odd\tid',
  orgId: null,
  siteId: null,
};

describe('sessions in batches', () => {
  it('the batch path and the record-at-a-time path give the same sessions, and JSON lines byte for byte', async () => {
    const pcaps = readdirSync(FIXTURES).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => join(FIXTURES, f));
    const orgMap = await loadOrgMap(join(FIXTURES, 'org-maps', 'veth.json'));
    const registry = new IdentityRegistry(new IdentityMap(orgMap, 'all'));
    const resourcesOnly = new IdentityRegistry(new IdentityMap(orgMap, 'resources'));
    // A userId longer than a fragment's slot (identity-json.ts), quotes and non-ASCII in it.
    const longUser = { ...orgMap, clients: orgMap.clients.map((c) => (c.userId ? { ...c, userId: `user_${'\u00e9'.repeat(40)}"q"` } : c)) };
    const longUserRegistry = new IdentityRegistry(new IdentityMap(longUser, 'all'));
    let identified = 0;
    for (const identifier of [undefined, registry, resourcesOnly, longUserRegistry]) {
      for (const file of pcaps) {
        const { batches, records } = await batchesOf([file], identifier);
        // Encoded first: records() resolves identity references into values in place.
        const lines = encoded(batches);
        expect(batches.flatMap((b) => b.records())).toEqual(records);
        expect(lines).toBe(records.map(sessionJsonLine).join(''));
        identified += records.filter((r) => r.clientId !== null && r.userId !== null && r.siteResourceId !== null).length;
      }
    }
    expect(identified).toBeGreaterThan(10);
  });

  it('rows of two org map generations, mixed in batches, encode as JSON.stringify does', async () => {
    const orgMap = await loadOrgMap(join(FIXTURES, 'org-maps', 'veth.json'));
    const renamed = { ...orgMap, orgId: `${orgMap.orgId}_v2`, siteId: orgMap.siteId + 1, clients: orgMap.clients.map((c) => ({ ...c, userId: `${c.userId ?? 'none'}_v2` })) };
    const registry = new IdentityRegistry(new IdentityMap(orgMap, 'all'));
    const batches: SessionBatch[] = [];
    // Twenty copies of the capture: the reload comes after the first delivery, so flows open
    // then keep generation 0 while later ones get generation 1.
    const files = Array.from({ length: 20 }, () => join(FIXTURES, 'sessions-veth.pcap'));
    await replay(files, {
      identifier: registry,
      onSessions: (b) => {
        if (batches.length === 0) registry.replace(new IdentityMap(renamed, 'all'));
        batches.push(b.copy());
      },
    });
    const generations = new Set(batches.flatMap((b) => Array.from(b.idGeneration.subarray(0, b.length))));
    expect(generations).toEqual(new Set([0, 1]));
    // Some batch switches generation more than once, so the encoder goes back to one it left.
    const switches = (b: SessionBatch) => b.idGeneration.subarray(0, b.length).reduce((n, g, i, a) => n + (i > 0 && g !== a[i - 1] ? 1 : 0), 0);
    expect(Math.max(...batches.map(switches))).toBeGreaterThan(1);
    const lines = encoded(batches);
    expect(encoded(batches, { native: false })).toBe(lines);
    const records = batches.flatMap((b) => b.records());
    expect(lines).toBe(records.map(sessionJsonLine).join(''));
    // records() resolved the references into values in place: the same lines from those.
    expect(encoded(batches)).toBe(lines);
    expect(new Set(records.map((r) => r.orgId))).toEqual(new Set([orgMap.orgId, `${orgMap.orgId}_v2`]));
  });

  it('long identity text keeps every row whole where the encoder moves to a new buffer', async () => {
    // A userId of ~1.5 kB: its fragment fits where the rest of the row may not, so the encoder
    // must keep room for the rest (it once wrote past a buffer's end, and a typed array drops
    // such writes silently). Lengths from 1,400 to 1,655 bytes put row ends at many offsets.
    const orgMap = await loadOrgMap(join(FIXTURES, 'org-maps', 'veth.json'));
    const file = join(FIXTURES, 'sessions-veth.pcap');
    for (const extra of [0, 37, 101, 255]) {
      const long = { ...orgMap, clients: orgMap.clients.map((c, i) => ({ ...c, userId: `u${i}_${'x'.repeat(1400 + extra)}` })) };
      const { batches, records } = await batchesOf([file], new IdentityRegistry(new IdentityMap(long, 'all')));
      expect(records.filter((r) => r.userId !== null).length).toBeGreaterThan(0);
      const encoder = new JsonLineEncoder();
      // Over 1 MiB of rows, so that rows fall across the encoder's buffer ends.
      const rounds = Math.ceil(3_000_000 / (records.length * 1600));
      for (let n = 0; n < rounds; n++) for (const b of batches) encoder.encode(b);
      const text = Buffer.concat(encoder.take()).toString('utf8');
      expect(text === records.map(sessionJsonLine).join('').repeat(rounds), `userId of ${1400 + extra}+ bytes`).toBe(true);
    }
  });

  it('the native row writer gives the JavaScript bytes for odd values in flow table rows, or leaves the row to it', async () => {
    expect(nativeJsonLoaded()).toBe(true); // built by npm ci; without it every row is written in JavaScript
    const { batches } = await batchesOf([join(FIXTURES, 'sessions-veth.pcap')]);
    const b = new SessionBatch(64);
    while (b.length < 64) b.pushRows(batches[0]!, 0, Math.min(batches[0]!.length, 64 - b.length));
    // As the flow table writes an IPv6 row: words, no text (each writer makes its own).
    const v6 = (i: number, words: number[]) => {
      b.rowKind[i] = ROW_IPV6;
      b.sourceIp6.set(words, 4 * i);
      b.destIp6.set(words.map((w) => w ^ (i & 1 ? 0 : 0xffff)), 4 * i);
      b.sourceText[i] = null;
      b.destText[i] = null;
    };
    // IPv6 zero runs: none, at the start, the end, two of equal length (the first wins), one group only.
    v6(0, [0x20010db8, 0x00010002, 0x00030004, 0x00050006]);
    v6(1, [0, 0, 0, 1]);
    v6(2, [0xfe800000, 0, 0, 0]);
    v6(3, [0x20010000, 0x00010000, 0x00000001, 0x00000001]);
    v6(4, [0x20010db8, 0x00000001, 0x00010001, 0x00010001]);
    v6(5, [0, 0, 0, 0]);
    // Numbers past the plain ranges: JavaScript's own text (the row is left to it).
    b.bytesTx[6] = 2 ** 53 + 2;
    b.packetsRx[7] = 1.5;
    b.startUs[8] = 2 ** 32 * 1e6 + 7;
    b.endUs[8] = b.startUs[8]! + 10;
    b.endUs[9] = b.startUs[9]! - 5; // a negative duration
    b.endUs[10] = NaN; // open
    b.endReason[10] = STILL_OPEN;
    b.missedBytesTx[11] = 2 ** 31 + 1; // still an integer: written natively
    b.sourcePort[12] = 0;
    b.destPort[12] = 65535;
    b.startUs[13] = 0;
    b.endUs[13] = 1;
    b.sessionIdHi[14] = 0;
    b.sessionIdLo[14] = 0xffffffff;
    b.historyLength[15] = 18;
    for (let h = 0; h < 18; h++) b.historyCodes[18 * 15 + h] = h;
    b.history[15] = 'SsHhAaDdFfRrTtGg^^';
    const lines = encoded([b]);
    expect(b.sourceText[0]).toBeNull(); // the native writer made no text
    expect(encoded([b], { native: false })).toBe(lines);
    expect(lines).toBe(b.records().map(sessionJsonLine).join(''));
    expect(lines.split('\n')[15]).toContain('"history":"SsHhAaDdFfRrTtGg^^"');
    // The text the others made from the words is RFC 5952's.
    const text = (w: Uint32Array) => formatIpv6(w[0]!, w[1]!, w[2]!, w[3]!);
    for (let i = 0; i < 6; i++) expect(b.sourceText[i]).toBe(formatEndpoint(text(b.sourceIp6.subarray(4 * i)), b.sourcePort[i]!));
    expect(b.sourceText[1]).toBe(`[::1]:${b.sourcePort[1]}`);
  });

  it('JSON lines equal JSON.stringify over the tcpdump and Zeek corpora (IPv6, odd times, fragments)', async () => {
    let sessions = 0;
    for (const dir of ['tcpdump', 'zeek/tcp']) {
      const files = readdirSync(join(CORPUS, dir)).filter((f) => /\.(pcap|pcapng|cap|trace|dump)$/.test(f));
      for (const f of files) {
        const { batches } = await batchesOf([join(CORPUS, dir, f)]);
        const records = batches.flatMap((b) => b.records());
        sessions += records.length;
        const lines = encoded(batches);
        expect(lines, `${dir}/${f}`).toBe(records.map(sessionJsonLine).join(''));
        expect(encoded(batches, { native: false }), `${dir}/${f}`).toBe(lines);
      }
    }
    expect(sessions).toBeGreaterThan(400);
  });

  it('rows made from records keep their text, nulls and large numbers, and encode as JSON.stringify does', () => {
    const base = ODD_BASE;
    const odd: SessionRecord[] = [
      base,
      { ...base, startedAt: 1, endedAt: 1.5, duration: 0.5, timestamp: 1 },
      // Past 2^32 seconds (a pcapng clock can say so): JavaScript's own text of the number.
      { ...base, startedAt: 5e9 + 0.25, endedAt: null, duration: null, endReason: null, timestamp: 5e9 },
      { ...base, userId: null, siteResourceId: null, clientId: null, orgId: 'org-\u00fc', siteId: 3 },
    ];
    const b = new SessionBatch(8);
    for (const r of odd) b.pushRecord(r);
    expect(b.records()).toEqual(odd);
    expect(encoded([b])).toBe(odd.map(sessionJsonLine).join(''));
  });

  it('output past one buffer comes out whole and in order, lines split across chunks included', () => {
    const base = ODD_BASE;
    // ~4 MB of lines (past the 1 MiB buffer several times), one of them with a 2 MB user id.
    const records: SessionRecord[] = Array.from({ length: 8000 }, (_, i) => ({ ...base, bytesTx: i, userId: i === 4000 ? 'u'.repeat(2_000_000) : `user_${i}` }));
    const batches: SessionBatch[] = [];
    for (let i = 0; i < records.length; i += 2048) {
      const b = new SessionBatch(2048);
      for (const r of records.slice(i, i + 2048)) b.pushRecord(r);
      batches.push(b);
    }
    const encoder = new JsonLineEncoder();
    for (const b of batches) encoder.encode(b);
    const chunks = encoder.take();
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(records.map(sessionJsonLine).join(''));
    expect(encoder.size).toBe(0);
  });

  it('SessionWriter: bursts past a buffer between drains come out whole through streams that write at once or later', async () => {
    // 12,000 lines, about 7 MB, in six batches between two drains: the writer sends each
    // buffer as it fills. A synchronous sink takes it in write() and the buffer is reused at
    // once; an asynchronous one holds it until its callback, and the buffer must not be reused
    // before then (the bytes it got would change under it).
    const records: SessionRecord[] = Array.from({ length: 12_000 }, (_, i) => ({ ...ODD_BASE, bytesTx: i, userId: `user_${i}_${'x'.repeat(i % 500)}` }));
    const batches: SessionBatch[] = [];
    for (let i = 0; i < records.length; i += 2048) {
      const b = new SessionBatch(2048);
      for (const r of records.slice(i, i + 2048)) b.pushRecord(r);
      batches.push(b);
    }
    const expected = records.map(sessionJsonLine).join('');
    for (const later of [false, true]) {
      const got: Buffer[] = [];
      const sink = new Writable({
        highWaterMark: 1 << 16,
        write(chunk: Buffer, _encoding, done) {
          if (!later) {
            got.push(Buffer.from(chunk)); // copied now: the writer may reuse it as soon as this returns
            done();
            return;
          }
          // Copied only when the write completes, after other chunks were encoded.
          setImmediate(() => {
            got.push(Buffer.from(chunk));
            done();
          });
        },
      });
      const writer = new SessionWriter(sink, 'jsonl');
      for (const b of batches.slice(0, 3)) writer.write(b);
      await writer.drain();
      for (const b of batches.slice(3)) writer.write(b);
      await writer.drain();
      await new Promise<void>((resolve) => sink.end(resolve));
      expect(got.length).toBeGreaterThan(4);
      expect(Buffer.concat(got).toString('utf8')).toBe(expected);
    }
  });

  it('SessionWriter: drain() waits while the stream is full, also when write() already handed it everything', async () => {
    // Each batch is over a megabyte of JSON, so write() seals a buffer and hands the stream all
    // the encoder holds: drain() has nothing left to write, and must still wait for the
    // stream's 'drain' (it did not, and a reader slower than a SYN flood's replay let the
    // stream's buffer grow to 4.1 GB).
    const records: SessionRecord[] = Array.from({ length: 3 * 2048 }, (_, i) => ({ ...ODD_BASE, bytesTx: i, userId: `user_${i}_${'x'.repeat(300 + (i % 400))}` }));
    const batches: SessionBatch[] = [];
    for (let i = 0; i < records.length; i += 2048) {
      const b = new SessionBatch(2048);
      for (const r of records.slice(i, i + 2048)) b.pushRecord(r);
      batches.push(b);
    }
    const held: Array<() => void> = [];
    const got: Buffer[] = [];
    const sink = new Writable({
      highWaterMark: 1 << 16,
      write(chunk: Buffer, _encoding, done) {
        held.push(() => {
          got.push(Buffer.from(chunk));
          done();
        });
      },
    });
    const writer = new SessionWriter(sink, 'jsonl');
    let drained = false;
    for (const b of batches) writer.write(b);
    const waiting = writer.drain().then(() => (drained = true));
    await new Promise((r) => setImmediate(r));
    expect(sink.writableNeedDrain).toBe(true);
    expect(drained).toBe(false);
    while (!drained) {
      held.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await waiting;
    expect(sink.writableNeedDrain).toBe(false);
    const ended = new Promise<void>((resolve) => sink.end(resolve));
    while (held.length > 0) held.shift()!();
    await ended;
    expect(Buffer.concat(got).toString('utf8')).toBe(records.map(sessionJsonLine).join(''));
  });

  it('numbers and times of every width encode as JSON.stringify prints them', () => {
    // Digits are written two at a time: widths 1-10, fractions with leading and trailing zeros.
    let x = 12345;
    const next = (limit: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x % limit;
    };
    const records: SessionRecord[] = [];
    for (let i = 0; i < 4000; i++) {
      const width = 10 ** (i % 10);
      const startUs = next(2 ** 31) * 1e6 + (i % 7 === 0 ? 0 : next(1e6));
      const endUs = startUs + (i % 5 === 0 ? next(1000) : next(2 ** 31));
      records.push({
        ...ODD_BASE,
        userId: null,
        timestamp: Math.floor(startUs / 1e6),
        startedAt: startUs / 1e6,
        endedAt: endUs / 1e6,
        duration: (endUs - startUs) / 1e6,
        bytesTx: next(width) + (i % 3 === 0 ? width : 0),
        bytesRx: next(2 ** 31),
        packetsTx: i % 10,
        packetsRx: width - 1,
        missedBytesTx: next(100),
        missedBytesRx: 0,
      });
    }
    const b = new SessionBatch(records.length);
    for (const r of records) b.pushRecord(r);
    expect(encoded([b])).toBe(records.map(sessionJsonLine).join(''));
  });
});
