import type { PacketBatch } from './packet-batch.js';
import type { ReadWindow } from './read-window.js';
import type { CaptureInterface } from './packet-source.js';

/**
 * A capture file format's record walker. `parse` appends complete records from the window to
 * the batch and returns how many bytes the next record needs at `w.pos` (0 when it stopped
 * because the batch is full). It never reads past `w.end`.
 */
export interface CaptureFormat {
  parse(w: ReadWindow, batch: PacketBatch): number;
  /** pcapng blocks passed over (statistics, name resolution, custom blocks). */
  readonly blocksSkipped: number;
}

export interface FormatContext {
  readonly file: string;
  readonly onInterface: (iface: CaptureInterface) => void;
  /** Walk classic pcap records in C++ (native-records.ts) when the addon is built. */
  readonly nativeRecords?: boolean;
}

/**
 * libpcap refuses records longer than this for ordinary link types (max_snaplen_for_dlt in
 * pcap-common.c); a larger length field is corruption, not a packet.
 */
export const MAX_PACKET_LENGTH = 262144;
