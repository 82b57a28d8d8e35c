import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FileSource } from '../src/capture/file-source.js';
import type { NetlogError } from '../src/errors.js';
import { readCapture } from '../src/replay/read-capture.js';
import { CORPUS, FIXTURES, ROOT, readTsharkPackets } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'netlog-capture-'));
const TUN = join(FIXTURES, 'tun-wireguard.pcap');
const tunBytes = readFileSync(TUN);
/** Record offsets of the fixture, from tshark's frame lengths (snaplen did not cut any). */
const tunRecordOffsets = (() => {
  const offsets: number[] = [];
  let o = 24;
  for (const p of readTsharkPackets(join(FIXTURES, 'golden/tun-wireguard.packets.tsv'))) {
    offsets.push(o);
    o += 16 + p.frameLength;
  }
  expect(o).toBe(tunBytes.length);
  return offsets;
})();

function write(name: string, bytes: Buffer): string {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

const count = () => {
  let n = 0;
  return { handler: () => void n++, get n() { return n; } };
};

describe('capture file reader', () => {
  it('a capture cut inside a record: the records before it are delivered, then ERR_CAPTURE_TRUNCATED at its offset', async () => {
    for (const k of [0, 1, 7, 100, tunRecordOffsets.length - 1]) {
      for (const [into, map] of [[3, true], [16, true], [20, true], [3, false], [20, false]] as const) {
        const cut = write(`cut-${k}-${into}.pcap`, tunBytes.subarray(0, tunRecordOffsets[k]! + into));
        const c = count();
        // Mapped (the default for a file) and read.
        const report = await readCapture(cut, c.handler, { source: { map } });
        expect(report.error?.code).toBe('ERR_CAPTURE_TRUNCATED');
        expect(report.error?.offset).toBe(tunRecordOffsets[k]);
        expect(report.error?.message).toContain(cut);
        expect(report.packets).toBe(k);
        expect(c.n).toBe(k); // every packet of the fixture is TCP or UDP
      }
    }
  });

  it('a capture cut exactly between records ends cleanly', async () => {
    const cut = write('cut-clean.pcap', tunBytes.subarray(0, tunRecordOffsets[50]));
    const report = await readCapture(cut, () => {});
    expect(report.error).toBeNull();
    expect(report.packets).toBe(50);
  });

  it('an impossible record length is ERR_CAPTURE_CORRUPT at that record, earlier packets kept', async () => {
    const bad = Buffer.from(tunBytes);
    bad.writeUInt32LE(0x7fffffff, tunRecordOffsets[3]! + 8);
    const report = await readCapture(write('badlen.pcap', bad), () => {});
    expect(report.error?.code).toBe('ERR_CAPTURE_CORRUPT');
    expect(report.error?.offset).toBe(tunRecordOffsets[3]);
    expect(report.packets).toBe(3);
  });

  it('bad magic, empty file, short header, missing file: coded errors naming the file', async () => {
    const cases: Array<[string, Buffer | null, string]> = [
      ['text.pcap', Buffer.from('hello, this is not a capture\n'), 'ERR_CAPTURE_BAD_MAGIC'],
      ['empty.pcap', Buffer.alloc(0), 'ERR_CAPTURE_TRUNCATED'],
      ['header.pcap', tunBytes.subarray(0, 10), 'ERR_CAPTURE_TRUNCATED'],
      ['missing.pcap', null, 'ERR_CAPTURE_OPEN'],
    ];
    for (const [name, bytes, code] of cases) {
      const path = bytes ? write(name, bytes) : join(tmp, name);
      const report = await readCapture(path, () => {});
      expect(report.error?.code, name).toBe(code);
      expect(report.error?.message, name).toContain(path);
      expect(report.packets).toBe(0);
    }
  });

  it('pcapng: a block length that disagrees with its trailer is ERR_CAPTURE_CORRUPT', async () => {
    const ng = Buffer.from(readFileSync(join(FIXTURES, 'two-interfaces.pcapng')));
    const shbLen = ng.readUInt32LE(4);
    // Corrupt the trailing length of the first block after the section header.
    const firstLen = ng.readUInt32LE(shbLen + 4);
    ng.writeUInt32LE(firstLen + 4, shbLen + firstLen - 4);
    const report = await readCapture(write('trailer.pcapng', ng), () => {});
    expect(report.error?.code).toBe('ERR_CAPTURE_CORRUPT');
    expect(report.error?.offset).toBe(shbLen);
  });

  it('pcapng cut short: ERR_CAPTURE_TRUNCATED after the packets before the cut', async () => {
    const ng = readFileSync(join(FIXTURES, 'two-interfaces.pcapng'));
    const report = await readCapture(write('cut.pcapng', ng.subarray(0, Math.floor(ng.length / 2) + 1)), () => {});
    expect(report.error?.code).toBe('ERR_CAPTURE_TRUNCATED');
    expect(report.packets).toBeGreaterThan(100);
  });

  it('pcapng with two interfaces of different link types keeps each packet’s link type', async () => {
    const report = await readCapture(join(FIXTURES, 'two-interfaces.pcapng'), () => {});
    expect(report.interfaces.map((i) => i.linkType).sort()).toEqual([1, 101]);
    expect(report.error).toBeNull();
  });

  it('gzip: read transparently, and a cut gzip stream is ERR_CAPTURE_TRUNCATED after what it held', async () => {
    const whole = await readCapture(join(FIXTURES, 'tun-wireguard.pcap.gz'), () => {});
    expect(whole.error).toBeNull();
    expect(whole.packets).toBe(tunRecordOffsets.length);
    const gz = gzipSync(tunBytes);
    const report = await readCapture(write('cut.pcap.gz', gz.subarray(0, gz.length - 100)), () => {});
    expect(report.error?.code).toBe('ERR_CAPTURE_TRUNCATED');
    expect(report.packets).toBeGreaterThan(0);
    expect(report.packets).toBeLessThan(tunRecordOffsets.length);
  });

  it('unsupported link type: refused at the pcap header; one pcapng interface of it is a warning', async () => {
    const radiotap = await readCapture(join(CORPUS, 'zeek/arp-who-has-radiotap.pcap'), () => {});
    expect(radiotap.error?.code).toBe('ERR_LINKTYPE_UNSUPPORTED');
    expect(radiotap.error?.offset).toBe(20);
    const mixed = await readCapture(join(CORPUS, 'zeek/ldap/modify-request.pcapng'), () => {});
    expect(mixed.error).toBeNull();
    // The file declares dozens of interfaces; those of link type 274 each get a warning.
    expect(mixed.warnings.length).toBeGreaterThan(0);
    expect(mixed.warnings.every((w) => w.code === 'ERR_LINKTYPE_UNSUPPORTED' && /link type 274/.test(w.message))).toBe(true);
    expect(mixed.tally.decoded).toBeGreaterThan(0);
  });

  it('tiny buffers and batches give the same packets as the defaults (every record straddles a refill)', async () => {
    const seen = (into: number[][]) => (info: { srcPort: number; dstPort: number; payloadLength: number }) =>
      void into.push([info.srcPort, info.dstPort, info.payloadLength]);
    for (const file of [TUN, join(FIXTURES, 'two-interfaces.pcapng'), join(CORPUS, 'tcpdump/bigtcp-ipv4.pcap')]) {
      const a: number[][] = [];
      const b: number[][] = [];
      await readCapture(file, seen(a));
      // Mapped (a) against read through a window smaller than most records (b).
      const r = await readCapture(file, seen(b), { source: { bufferBytes: 64, batchSize: 1, map: false } });
      expect(r.error).toBeNull();
      expect(b).toEqual(a);
    }
  });

  it('read-ahead: records that straddle blocks, longer than the room kept for a tail, or than the buffer, arrive whole', async () => {
    // Raw-IP records of many sizes up to the 256 KiB snaplen, each filled with its own index.
    const sizes = Array.from({ length: 120 }, (_, i) => [20, 1500, 262_144, 70_001, 3, 200_000][i % 6]!);
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(262_144, 16);
    header.writeUInt32LE(101, 20);
    const records = sizes.map((n, i) => {
      const r = Buffer.alloc(16 + n, i);
      r.writeUInt32LE(1_700_000_000 + i, 0);
      r.writeUInt32LE(0, 4);
      r.writeUInt32LE(n, 8);
      r.writeUInt32LE(n, 12);
      return r;
    });
    const whole = Buffer.concat([header, ...records]);
    const file = write('sizes.pcap', whole);
    const cut = write('sizes-cut.pcap', whole.subarray(0, whole.length - 100));
    // Read through windows of each size, then mapped (where the window is the whole file).
    for (const [bufferBytes, map] of [[64, false], [100_000, false], [300_000, false], [4 * 1024 * 1024, false], [64, true]] as const) {
      const seen: string[] = [];
      const source = new FileSource(file, { bufferBytes, batchSize: 7, map });
      for await (const b of source.batches()) {
        for (let i = 0; i < b.count; i++) {
          const at = b.dataOffset[i]!;
          const len = b.capturedLength[i]!;
          const index = b.tsSec[i]! - 1_700_000_000;
          const mark = index & 0xff;
          const filled = b.buf[at] === mark && b.buf[at + (len >> 1)] === mark && b.buf[at + len - 1] === mark;
          seen.push(`${index}:${len}:${filled}`);
        }
      }
      expect(seen, `buffer ${bufferBytes}`).toEqual(sizes.map((n, i) => `${i}:${n}:true`));
      // A cut in the last record is reported at that record's offset, whatever the buffering.
      const r = await readCapture(cut, () => {}, { source: { bufferBytes, map } });
      expect(r.error?.code).toBe('ERR_CAPTURE_TRUNCATED');
      expect(r.error?.offset).toBe(whole.length - records.at(-1)!.length);
      expect(r.packets).toBe(sizes.length - 1);
    }
  });

  it('a mapped capture that shrinks while it is replayed: the records before its new end, then ERR_CAPTURE_OPEN there, no crash', async () => {
    const bytes = readFileSync(join(FIXTURES, 'sessions-veth.pcap'));
    expect(bytes.readUInt32LE(0)).toBe(0xa1b2c3d4);
    const ends: number[] = [];
    for (let o = 24; o < bytes.length; o += 16 + bytes.readUInt32LE(o + 8)) ends.push(o + 16 + bytes.readUInt32LE(o + 8));
    expect(ends.at(-1)).toBe(bytes.length);
    // On a page boundary (the next page faults: SIGBUS), inside a page (the rest of it reads as
    // zeros, no fault), and inside the last page (nothing faults before the end).
    for (const newEnd of [1024 * 1024, 1024 * 1024 + 1000, bytes.length - 100]) {
      const file = write(`shrinks-${newEnd}.pcap`, bytes);
      let packets = 0;
      let lastEnd = 0;
      let error: NetlogError | null = null;
      try {
        for await (const b of new FileSource(file, { batchSize: 16 }).batches()) {
          if (packets === 0) truncateSync(file, newEnd);
          packets += b.count;
          lastEnd = b.dataOffset[b.count - 1]! + b.capturedLength[b.count - 1]!;
        }
      } catch (e) {
        error = e as NetlogError;
      }
      expect(error?.code, `new end ${newEnd}`).toBe('ERR_CAPTURE_OPEN');
      expect(error?.offset).toBe(newEnd);
      expect(error?.message).toContain('shrank');
      expect(packets, `new end ${newEnd}`).toBe(ends.filter((e) => e <= newEnd).length);
      expect(lastEnd).toBeLessThanOrEqual(newEnd);
    }
  });

  it('reads from a stream, plain or gzip, as from a file', async () => {
    for (const bytes of [tunBytes, gzipSync(tunBytes)]) {
      const r = await readCapture('-', () => {}, { source: { stream: Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]) } });
      expect(r.error).toBeNull();
      expect(r.packets).toBe(tunRecordOffsets.length);
    }
  });

  it('`netlog decode -` reads standard input', () => {
    const cli = join(ROOT, 'dist/src/cli/main.js');
    const out = spawnSync(process.execPath, [cli, 'decode', '--json', '-'], { input: gzipSync(tunBytes) });
    expect(out.status).toBe(0);
    const report = JSON.parse(out.stdout.toString());
    expect(report.packets).toBe(tunRecordOffsets.length);
    expect(report.tally).toEqual({ decoded: tunRecordOffsets.length });
  });
});
