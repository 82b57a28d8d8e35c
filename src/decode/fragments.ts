import type { PacketInfo } from './packet-info.js';

const WORDS = 11; // version, protocol, id, src0..3, dst0..3

/**
 * Remembers the ports of first fragments so that later fragments of the same datagram
 * (same src, dst, protocol and IP id: RFC 791 section 3.2, RFC 8200 section 4.5) count towards
 * the same flow. A fixed direct-mapped table: bounded memory, a newer datagram overwrites an
 * older one in its slot. Not reassembly: a later fragment that arrives before its first, or
 * after its slot was reused, is counted as unmatched.
 */
export class FragmentTable {
  private readonly keys: Uint32Array;
  private readonly ports: Uint32Array;
  private readonly used: Uint8Array;
  private readonly mask: number;

  constructor(slots = 4096) {
    if ((slots & (slots - 1)) !== 0) throw new RangeError('FragmentTable slots must be a power of two');
    this.keys = new Uint32Array(slots * WORDS);
    this.ports = new Uint32Array(slots);
    this.used = new Uint8Array(slots);
    this.mask = slots - 1;
  }

  private slot(info: PacketInfo): number {
    let h = Math.imul(info.ipId ^ (info.protocol << 24), 0x9e3779b1);
    h = Math.imul(h ^ info.src0 ^ info.src3, 0x85ebca6b);
    h = Math.imul(h ^ info.dst0 ^ info.dst3 ^ info.src1 ^ info.dst1, 0xc2b2ae35);
    return (h ^ (h >>> 15) ^ info.src2 ^ info.dst2) & this.mask;
  }

  private write(k: Uint32Array, base: number, info: PacketInfo): void {
    k[base] = info.ipVersion;
    k[base + 1] = info.protocol;
    k[base + 2] = info.ipId;
    k[base + 3] = info.src0;
    k[base + 4] = info.src1;
    k[base + 5] = info.src2;
    k[base + 6] = info.src3;
    k[base + 7] = info.dst0;
    k[base + 8] = info.dst1;
    k[base + 9] = info.dst2;
    k[base + 10] = info.dst3;
  }

  /** After decoding a first fragment's transport header. */
  remember(info: PacketInfo): void {
    const s = this.slot(info);
    this.write(this.keys, s * WORDS, info);
    this.ports[s] = ((info.srcPort << 16) | info.dstPort) >>> 0;
    this.used[s] = 1;
  }

  /** For a later fragment: fills its ports and returns true when its first fragment was seen. */
  recall(info: PacketInfo): boolean {
    const s = this.slot(info);
    if (this.used[s] === 0) return false;
    const k = this.keys;
    const b = s * WORDS;
    if (
      k[b] !== info.ipVersion ||
      k[b + 1] !== info.protocol ||
      k[b + 2] !== info.ipId ||
      k[b + 3] !== info.src0 ||
      k[b + 4] !== info.src1 ||
      k[b + 5] !== info.src2 ||
      k[b + 6] !== info.src3 ||
      k[b + 7] !== info.dst0 ||
      k[b + 8] !== info.dst1 ||
      k[b + 9] !== info.dst2 ||
      k[b + 10] !== info.dst3
    ) {
      return false;
    }
    const ports = this.ports[s]!;
    info.srcPort = ports >>> 16;
    info.dstPort = ports & 0xffff;
    return true;
  }
}
