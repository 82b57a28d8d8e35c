import type { PacketBatch } from './packet-batch.js';

/** One capture interface: a classic pcap file has one, a pcapng section has one per IDB. */
export interface CaptureInterface {
  /** Index of the interface in its section (the pcapng interface id). */
  readonly id: number;
  /** LINKTYPE_ value (tcpdump.org/linktypes.html). */
  readonly linkType: number;
  readonly snapLength: number;
  /** Byte offset of the header or block that declared the interface. */
  readonly declaredAt: number;
}

/** Counters a source keeps while it reads. */
export interface SourceStats {
  packets: number;
  /** Bytes of the capture consumed so far (decompressed bytes for gzip input). */
  bytesRead: number;
  /** pcapng blocks that are not packets or interfaces (statistics, name resolution, custom). */
  blocksSkipped: number;
}

/**
 * Anything that produces packets: a capture file replayed at full speed or a live interface.
 * Iterating yields the same PacketBatch object again and again, refilled; a failure after some
 * batches is thrown from the iterator, so everything delivered before it is kept.
 */
export interface PacketSource {
  /** Name for messages: the file path, `-` for stdin, or the interface name. */
  readonly name: string;
  readonly stats: SourceStats;
  batches(): AsyncIterableIterator<PacketBatch>;
  /** Called when an interface is declared; may throw to refuse it. */
  onInterface?: (iface: CaptureInterface) => void;
  close(): Promise<void>;
}
