import { setTimeout as sleep } from 'node:timers/promises';
import { NetlogError } from '../errors.js';
import { loadAddon } from '../native-addon.js';
import { PacketBatch } from './packet-batch.js';
import type { PacketSource, SourceStats } from './packet-source.js';
import { u32 } from './byte-order.js';

interface PcapBinding {
  open(device: string, snaplen: number, promisc: boolean, bufferBytes: number, immediate: boolean): { handle: unknown; linkType: number; snaplen: number };
  setFilter(handle: unknown, expression: string): void;
  dispatch(handle: unknown, buffer: Buffer): number;
  stats(handle: unknown): { received: number; dropped: number; ifDropped: number };
  close(handle: unknown): void;
  libVersion(): string;
}

let binding: PcapBinding | null = null;

/** The libpcap addon in native/ (built by `npm ci`). */
export function pcapBinding(): PcapBinding {
  binding ??= loadAddon<PcapBinding>('netlog_pcap');
  if (binding) return binding;
  throw new NetlogError('ERR_CAPTURE_OPEN', 'the libpcap binding is not built: run npm ci (needs libpcap-dev)');
}

export interface LiveSourceOptions {
  /** Bytes kept per packet: enough for link, IPv6 with extensions and TCP with options. */
  snaplen?: number;
  filter?: string;
  /** Kernel capture buffer, bytes. */
  bufferBytes?: number;
  promisc?: boolean;
  batchSize?: number;
  /** Longest wait between reads of a quiet interface, ms: waits start at 1 ms after an empty
   *  read and double up to this, so an idle site host spends next to no CPU on polling. */
  maxIdleMs?: number;
}

export const DEFAULT_SNAPLEN = 256;

/**
 * Live capture through libpcap: each `dispatch` copies every waiting packet (up to a batch)
 * with its pcap header into one buffer, which is walked into the same PacketBatch the file
 * reader yields. Timestamps are the kernel's, from the pcap header. `stop()` ends the iteration.
 */
export class LiveSource implements PacketSource {
  readonly stats: SourceStats = { packets: 0, bytesRead: 0, blocksSkipped: 0 };
  readonly linkType: number;
  readonly snaplen: number;
  private readonly handle: unknown;
  private readonly buffer: Buffer;
  private readonly batch: PacketBatch;
  private readonly maxIdleMs: number;
  private stopping = false;

  constructor(
    readonly name: string,
    options: LiveSourceOptions = {},
  ) {
    const pcap = pcapBinding();
    // Not immediate mode: on Linux that means TPACKET_V2, frame by frame; TPACKET_V3 hands over
    // whole blocks (when full, or after the binding's 10 ms timeout).
    const opened = asNetlogError(name, () =>
      pcap.open(name, options.snaplen ?? DEFAULT_SNAPLEN, options.promisc ?? false, options.bufferBytes ?? 32 * 1024 * 1024, false),
    );
    this.handle = opened.handle;
    this.linkType = opened.linkType;
    this.snaplen = opened.snaplen;
    if (options.filter) asNetlogError(name, () => pcap.setFilter(this.handle, options.filter!));
    const batchSize = options.batchSize ?? 4096;
    this.batch = new PacketBatch(batchSize);
    this.buffer = Buffer.alloc(batchSize * (16 + ((this.snaplen + 3) & ~3)));
    this.batch.buf = this.buffer;
    this.maxIdleMs = options.maxIdleMs ?? 50;
  }

  async *batches(): AsyncIterableIterator<PacketBatch> {
    const pcap = pcapBinding();
    const b = this.buffer;
    const batch = this.batch;
    let idleMs = 1;
    while (!this.stopping) {
      const n = asNetlogError(this.name, () => pcap.dispatch(this.handle, b));
      if (n === 0) {
        await sleep(idleMs);
        idleMs = Math.min(idleMs * 2, this.maxIdleMs);
        continue;
      }
      idleMs = 1;
      batch.count = 0;
      let p = 0;
      for (let i = 0; i < n; i++) {
        // The addon's record header: four host-order (little-endian) words.
        const capLen = u32(b, p + 8, true);
        batch.push(p + 16, capLen, u32(b, p + 12, true), u32(b, p, true), u32(b, p + 4, true) * 1000, this.linkType, 0);
        p += 16 + ((capLen + 3) & ~3);
      }
      this.stats.packets += n;
      this.stats.bytesRead += p;
      yield batch;
    }
  }

  /** Kernel and interface drop counters (ps_drop, ps_ifdrop) since the capture opened. */
  drops(): { received: number; dropped: number; ifDropped: number } {
    return pcapBinding().stats(this.handle);
  }

  stop(): void {
    this.stopping = true;
  }

  async close(): Promise<void> {
    this.stopping = true;
    pcapBinding().close(this.handle);
  }
}

/** The binding throws Errors with a `code`; callers get NetlogErrors naming the interface. */
function asNetlogError<T>(iface: string, call: () => T): T {
  try {
    return call();
  } catch (e) {
    const err = e as Error & { code?: string };
    const code = err.code === 'ERR_CONFIG_INVALID' || err.code === 'ERR_CAPTURE_READ' ? err.code : 'ERR_CAPTURE_OPEN';
    const message = err.message.startsWith(`${iface}: `) ? err.message.slice(iface.length + 2) : err.message;
    throw new NetlogError(code, message, { file: iface });
  }
}
