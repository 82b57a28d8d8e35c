import { FileSource, type FileSourceOptions } from '../capture/file-source.js';
import type { PacketBatch } from '../capture/packet-batch.js';
import type { CaptureInterface } from '../capture/packet-source.js';
import { Decoder } from '../decode/decoder.js';
import { isSupportedLinkType } from '../decode/link.js';
import { Skip, type PacketInfo } from '../decode/packet-info.js';
import { NetlogError, isNetlogError } from '../errors.js';

/** Receives every packet that decoded to TCP or UDP; `info` is reused after the call. */
export type DecodedPacketHandler = (info: PacketInfo, batch: PacketBatch, index: number) => void;

/** What reading one capture came to: kept whether it ended cleanly or with an error. */
export interface CaptureReport {
  file: string;
  packets: number;
  /** Bytes of capture read (decompressed). */
  bytes: number;
  /** Packets by decoder outcome ('decoded' and the skip reasons), zero counts left out. */
  tally: Record<string, number>;
  interfaces: CaptureInterface[];
  /** Problems that did not stop the read, e.g. one pcapng interface of an unsupported type. */
  warnings: NetlogError[];
  /** Why the read stopped early; the packets before it were delivered and counted. */
  error: NetlogError | null;
}

/**
 * Reads a capture to its end through the decoder, handing TCP/UDP packets to `onPacket`.
 * A classic pcap file of an unsupported link type is refused at its header; in pcapng an
 * unsupported interface is a warning (its packets are counted as linktype-unsupported) and is
 * an error only if no interface of the file is supported.
 */
export interface ReadCaptureOptions {
  /** A decoder to reuse across files (its counters accumulate); a new one by default. */
  decoder?: Decoder;
  source?: FileSourceOptions;
  /** Awaited after each batch: where a consumer applies backpressure (a slow stdout, a db). */
  afterBatch?: () => Promise<void> | void;
  /** Decodes each batch itself, with `decoder`, instead of packet by packet into onPacket
   *  (a replay's decoding thread with the native fast path: native-decode.ts). */
  decodeBatch?: (batch: PacketBatch) => void;
}

export async function readCapture(file: string, onPacket: DecodedPacketHandler, options: ReadCaptureOptions = {}): Promise<CaptureReport> {
  const decoder = options.decoder ?? new Decoder();
  const afterBatch = options.afterBatch;
  const report: CaptureReport = { file, packets: 0, bytes: 0, tally: {}, interfaces: [], warnings: [], error: null };
  const source = new FileSource(file, {
    ...options.source,
    onInterface: (iface) => {
      if (isSupportedLinkType(iface.linkType)) return;
      const err = new NetlogError(
        'ERR_LINKTYPE_UNSUPPORTED',
        `link type ${iface.linkType} (interface ${iface.id}) is not one netlog decodes`,
        { file, offset: iface.declaredAt },
      );
      if (source.format === 'pcap') throw err;
      report.warnings.push(err);
    },
  });
  try {
    const decodeBatch = options.decodeBatch;
    for await (const batch of source.batches()) {
      if (decodeBatch) decodeBatch(batch);
      else {
        for (let i = 0; i < batch.count; i++) {
          if (decoder.decodeAt(batch, i) === Skip.NONE) onPacket(decoder.info, batch, i);
        }
      }
      if (afterBatch) await afterBatch();
    }
    if (report.warnings.length > 0 && !source.interfaces.some((f) => isSupportedLinkType(f.linkType))) {
      report.error = report.warnings.shift()!;
    }
  } catch (e) {
    if (!isNetlogError(e)) throw e;
    report.error = e;
  } finally {
    report.packets = source.stats.packets;
    report.bytes = source.stats.bytesRead;
    report.interfaces = source.interfaces;
  }
  report.tally = decoder.tally();
  return report;
}
