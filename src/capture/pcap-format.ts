import { NetlogError } from '../errors.js';
import type { PacketBatch } from './packet-batch.js';
import type { ReadWindow } from './read-window.js';
import { u16, u32 } from './byte-order.js';
import { MAX_PACKET_LENGTH, type CaptureFormat, type FormatContext } from './capture-format.js';
import { pcapRecordParser, RecordsStop, type ParsePcapRecords } from './native-records.js';

/** Classic libpcap file magics, as read little-endian from the first four bytes. */
const MAGIC_USEC = 0xa1b2c3d4;
const MAGIC_NSEC = 0xa1b23c4d;
/** Alexey Kuznetzov's patched libpcap: records carry 8 more header bytes (libpcap sf-pcap.c). */
const MAGIC_KUZNETZOV = 0xa1b2cd34;

export const PCAP_HEADER_LENGTH = 24;

export function isPcapMagic(magicLE: number): boolean {
  return pcapVariant(magicLE) !== null;
}

function pcapVariant(magicLE: number): { le: boolean; nsec: boolean; recordHeader: number } | null {
  const swapped = (((magicLE & 0xff) << 24) | ((magicLE & 0xff00) << 8) | ((magicLE >>> 8) & 0xff00) | (magicLE >>> 24)) >>> 0;
  for (const [magic, le] of [
    [magicLE, true],
    [swapped, false],
  ] as const) {
    if (magic === MAGIC_USEC) return { le, nsec: false, recordHeader: 16 };
    if (magic === MAGIC_NSEC) return { le, nsec: true, recordHeader: 16 };
    if (magic === MAGIC_KUZNETZOV) return { le, nsec: false, recordHeader: 24 };
  }
  return null;
}

/** Classic pcap (tcpdump.org/manpages/pcap-savefile.5.html): one link type per file. */
export class PcapFormat implements CaptureFormat {
  readonly blocksSkipped = 0;
  private readonly le: boolean;
  private readonly nsecPerUnit: number;
  private readonly unitsPerSecond: number;
  private readonly recordHeader: number;
  private readonly linkType: number;
  /** Files older than 2.3 have caplen and len swapped (libpcap's swap_pseudo_headers). */
  private readonly swappedLengths: boolean;
  /** The record loop in C++, when asked for and built (a replay's decoding thread). */
  private readonly native: ParsePcapRecords | null;
  private readonly nativeOut = new Float64Array(4);

  /** `w` holds at least PCAP_HEADER_LENGTH bytes at `w.pos`; the header is consumed. */
  constructor(
    w: ReadWindow,
    private readonly ctx: FormatContext,
  ) {
    const b = w.buf;
    const p = w.pos;
    const v = pcapVariant(b.readUInt32LE(p));
    if (v === null) throw new Error('PcapFormat: not a pcap magic');
    this.le = v.le;
    this.recordHeader = v.recordHeader;
    this.nsecPerUnit = v.nsec ? 1 : 1000;
    this.unitsPerSecond = v.nsec ? 1e9 : 1e6;
    const major = u16(b, p + 4, v.le);
    const minor = u16(b, p + 6, v.le);
    if (major !== 2) {
      throw new NetlogError('ERR_CAPTURE_CORRUPT', `pcap version ${major}.${minor} is not 2.x`, {
        file: ctx.file,
        offset: w.at(p + 4),
      });
    }
    this.swappedLengths = minor < 3;
    this.native = ctx.nativeRecords ? pcapRecordParser() : null;
    // The upper bits of the link type field carry FCS information (LT_LINKTYPE in libpcap).
    this.linkType = u32(b, p + 20, v.le) & 0x03ffffff;
    ctx.onInterface({ id: 0, linkType: this.linkType, snapLength: u32(b, p + 16, v.le), declaredAt: w.at(p + 20) });
    w.pos = p + PCAP_HEADER_LENGTH;
  }

  parse(w: ReadWindow, batch: PacketBatch): number {
    const b = w.buf;
    const end = w.end;
    const hl = this.recordHeader;
    const le = this.le;
    const linkType = this.linkType;
    let p = w.pos;
    batch.buf = b;
    if (this.native !== null) {
      // The same loop in C++, as far as it goes; a record it leaves (a length past the maximum)
      // is this loop's, which words the error.
      const out = this.nativeOut;
      // prettier-ignore
      this.native(b, p, end, hl, le, this.swappedLengths, this.unitsPerSecond, this.nsecPerUnit, linkType, MAX_PACKET_LENGTH,
        batch.dataOffset, batch.capturedLength, batch.originalLength, batch.tsSec, batch.tsNsec, batch.linkType, batch.interfaceId,
        batch.count, batch.capacity, out);
      p = out[0]!;
      batch.count = out[1]!;
      const stop = out[2]!;
      if (stop === RecordsStop.BATCH_FULL) {
        w.pos = p;
        return 0;
      }
      if (stop === RecordsStop.NEED_BYTES) {
        w.pos = p;
        return out[3]!;
      }
    }
    while (batch.count < batch.capacity) {
      if (end - p < hl) {
        w.pos = p;
        return hl;
      }
      let sec = u32(b, p, le);
      let frac = u32(b, p + 4, le);
      let capLen = u32(b, p + 8, le);
      let origLen = u32(b, p + 12, le);
      if (this.swappedLengths && capLen > origLen) {
        const t = capLen;
        capLen = origLen;
        origLen = t;
      }
      if (capLen > MAX_PACKET_LENGTH) {
        w.pos = p;
        throw new NetlogError(
          'ERR_CAPTURE_CORRUPT',
          `record captured length ${capLen} exceeds the maximum of ${MAX_PACKET_LENGTH}`,
          { file: this.ctx.file, offset: w.at(p) },
        );
      }
      if (end - p - hl < capLen) {
        w.pos = p;
        return hl + capLen;
      }
      if (frac >= this.unitsPerSecond) {
        // Out-of-range fraction: carry whole seconds rather than emit a nonsense time.
        sec += Math.floor(frac / this.unitsPerSecond);
        frac %= this.unitsPerSecond;
      }
      batch.push(p + hl, capLen, origLen, sec, frac * this.nsecPerUnit, linkType, 0);
      p += hl + capLen;
    }
    w.pos = p;
    return 0;
  }
}
