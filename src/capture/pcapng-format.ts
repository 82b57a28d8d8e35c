import { NetlogError } from '../errors.js';
import type { PacketBatch } from './packet-batch.js';
import type { ReadWindow } from './read-window.js';
import { u16, u32 } from './byte-order.js';
import type { CaptureFormat, FormatContext } from './capture-format.js';
import { TimestampUnit, splitTimestamp, tsOut } from './pcapng-timestamp.js';

// Block types (pcapng spec, draft-ietf-opsawg-pcapng, section 11.1).
export const PCAPNG_SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const OBSOLETE_PB = 0x00000002;
const SPB = 0x00000003;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
// IDB options (section 4.2).
const OPT_END = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

/** libpcap's bound on a block (INITIAL_MAX_BLOCKSIZE in sf-pcapng.c); larger is corruption. */
export const MAX_BLOCK_LENGTH = 16 * 1024 * 1024;

interface NgInterface {
  linkType: number;
  snapLength: number;
  unit: TimestampUnit;
  offsetSec: number;
}

/**
 * pcapng: any number of sections, each with its own byte order and its own interfaces. Every
 * length is checked against the block before it is used, so a corrupt file ends with a coded
 * error at the offset of the bad block.
 */
export class PcapngFormat implements CaptureFormat {
  blocksSkipped = 0;
  private le = true;
  private interfaces: NgInterface[] = [];
  private sectionIndex = -1;

  constructor(private readonly ctx: FormatContext) {}

  parse(w: ReadWindow, batch: PacketBatch): number {
    const b = w.buf;
    const end = w.end;
    let p = w.pos;
    batch.buf = b;
    while (batch.count < batch.capacity) {
      if (end - p < 12) {
        w.pos = p;
        return 12;
      }
      let le = this.le;
      const type = u32(b, p, le);
      if (type === PCAPNG_SHB) {
        // The section header fixes the byte order of everything up to the next one.
        const bom = u32(b, p + 8, true);
        if (bom === BYTE_ORDER_MAGIC) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else this.fail(w, p + 8, `section header byte-order magic 0x${bom.toString(16)} is neither order`);
      }
      const len = u32(b, p + 4, le);
      if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK_LENGTH) {
        this.fail(w, p, `block length ${len} is impossible (type 0x${type.toString(16)})`);
      }
      if (end - p < len) {
        w.pos = p;
        return len;
      }
      const trailer = u32(b, p + len - 4, le);
      if (trailer !== len) this.fail(w, p, `block length ${len} and trailing length ${trailer} differ`);

      if (type === PCAPNG_SHB) {
        this.startSection(w, p, len, le);
      } else if (type === EPB) {
        this.enhancedPacket(w, batch, p, len);
      } else if (type === IDB) {
        this.interfaceDescription(w, p, len);
      } else if (type === SPB) {
        this.simplePacket(w, batch, p, len);
      } else if (type === OBSOLETE_PB) {
        this.obsoletePacket(w, batch, p, len);
      } else {
        this.blocksSkipped++;
      }
      p += len;
    }
    w.pos = p;
    return 0;
  }

  private u16(b: Buffer, o: number): number {
    return u16(b, o, this.le);
  }

  private u32(b: Buffer, o: number): number {
    return u32(b, o, this.le);
  }

  private fail(w: ReadWindow, p: number, message: string): never {
    throw new NetlogError('ERR_CAPTURE_CORRUPT', `pcapng: ${message}`, { file: this.ctx.file, offset: w.at(p) });
  }

  private startSection(w: ReadWindow, p: number, len: number, le: boolean): void {
    if (len < 28) this.fail(w, p, `section header block of ${len} bytes is shorter than 28`);
    this.le = le;
    const major = this.u16(w.buf, p + 12);
    if (major !== 1) this.fail(w, p + 12, `section version ${major} is not 1`);
    this.interfaces = [];
    this.sectionIndex++;
  }

  private interfaceDescription(w: ReadWindow, p: number, len: number): void {
    const b = w.buf;
    if (this.sectionIndex < 0) this.fail(w, p, 'interface block before any section header');
    if (len < 20) this.fail(w, p, `interface description block of ${len} bytes is shorter than 20`);
    const iface: NgInterface = {
      linkType: this.u16(b, p + 8),
      snapLength: this.u32(b, p + 12),
      unit: TimestampUnit.MICROSECONDS,
      offsetSec: 0,
    };
    // Options: code, length, value padded to 4 bytes, up to opt_endofopt or the block's end.
    const optEnd = p + len - 4;
    for (let o = p + 16; o + 4 <= optEnd; ) {
      const code = this.u16(b, o);
      const optLen = this.u16(b, o + 2);
      if (code === OPT_END) break;
      if (o + 4 + optLen > optEnd) this.fail(w, o, `interface option ${code} of ${optLen} bytes overruns its block`);
      if (code === IF_TSRESOL && optLen >= 1) iface.unit = new TimestampUnit(b[o + 4]!);
      if (code === IF_TSOFFSET && optLen >= 8) {
        const hi = this.u32(b, this.le ? o + 8 : o + 4) | 0; // signed: an offset may be negative
        const lo = this.u32(b, this.le ? o + 4 : o + 8);
        iface.offsetSec = hi * 4294967296 + lo;
      }
      o += 4 + ((optLen + 3) & ~3);
    }
    const id = this.interfaces.length;
    this.interfaces.push(iface);
    this.ctx.onInterface({ id, linkType: iface.linkType, snapLength: iface.snapLength, declaredAt: w.at(p) });
  }

  private iface(w: ReadWindow, p: number, id: number): NgInterface {
    const iface = this.interfaces[id];
    if (iface === undefined) {
      this.fail(w, p, `packet names interface ${id} but the section declares ${this.interfaces.length}`);
    }
    return iface;
  }

  /** EPB: interface id, 64-bit timestamp, captured and original length, data (section 4.3). */
  private enhancedPacket(w: ReadWindow, batch: PacketBatch, p: number, len: number): void {
    const b = w.buf;
    if (len < 32) this.fail(w, p, `enhanced packet block of ${len} bytes is shorter than 32`);
    const id = this.u32(b, p + 8);
    const iface = this.iface(w, p, id);
    const capLen = this.u32(b, p + 20);
    if (capLen > len - 32) this.fail(w, p + 20, `captured length ${capLen} overruns its ${len}-byte block`);
    splitTimestamp(this.u32(b, p + 12), this.u32(b, p + 16), iface.unit);
    batch.push(p + 28, capLen, this.u32(b, p + 24), tsOut.sec + iface.offsetSec, tsOut.nsec, iface.linkType, id);
  }

  /** SPB: original length and data only; interface 0, no timestamp (section 4.4). */
  private simplePacket(w: ReadWindow, batch: PacketBatch, p: number, len: number): void {
    if (len < 16) this.fail(w, p, `simple packet block of ${len} bytes is shorter than 16`);
    const iface = this.iface(w, p, 0);
    const origLen = this.u32(w.buf, p + 8);
    let capLen = Math.min(origLen, len - 16);
    if (iface.snapLength > 0) capLen = Math.min(capLen, iface.snapLength);
    batch.push(p + 12, capLen, origLen, 0, 0, iface.linkType, 0);
  }

  /** Obsolete Packet Block (appendix A): 16-bit interface id and drop count. */
  private obsoletePacket(w: ReadWindow, batch: PacketBatch, p: number, len: number): void {
    const b = w.buf;
    if (len < 32) this.fail(w, p, `packet block of ${len} bytes is shorter than 32`);
    const id = this.u16(b, p + 8);
    const iface = this.iface(w, p, id);
    const capLen = this.u32(b, p + 20);
    if (capLen > len - 32) this.fail(w, p + 20, `captured length ${capLen} overruns its ${len}-byte block`);
    splitTimestamp(this.u32(b, p + 12), this.u32(b, p + 16), iface.unit);
    batch.push(p + 28, capLen, this.u32(b, p + 24), tsOut.sec + iface.offsetSec, tsOut.nsec, iface.linkType, id);
  }
}
