import type { Readable } from 'node:stream';
import { NetlogError } from '../errors.js';
import { openByteInput, type ByteInput } from './byte-input.js';
import type { MappedFile } from './mapped-file.js';
import type { CaptureFormat } from './capture-format.js';
import { PacketBatch } from './packet-batch.js';
import type { CaptureInterface, PacketSource, SourceStats } from './packet-source.js';
import { PcapFormat, PCAP_HEADER_LENGTH, isPcapMagic } from './pcap-format.js';
import { PcapngFormat, PCAPNG_SHB } from './pcapng-format.js';
import { ReadWindow } from './read-window.js';

export interface FileSourceOptions {
  /** Packets per batch. */
  batchSize?: number;
  /** Initial read buffer; it grows only for a record larger than itself. */
  bufferBytes?: number;
  onInterface?: (iface: CaptureInterface) => void;
  /** Read this stream instead of opening the file; `name` then only names it in messages. */
  stream?: Readable;
  /** Walk classic pcap records in C++ (a replay's decoding thread: native-records.ts). */
  nativeRecords?: boolean;
  /** Parse a plain file mapped into memory rather than read (mapped-file.ts); default true. */
  map?: boolean;
}

/**
 * Replays a pcap or pcapng file (gzip or not, `-` for stdin) at full speed. Memory is the read
 * window plus one batch, whatever the file size.
 */
export class FileSource implements PacketSource {
  readonly stats: SourceStats = { packets: 0, bytesRead: 0, blocksSkipped: 0 };
  readonly interfaces: CaptureInterface[] = [];
  /** Known once the magic has been read, before the first interface is declared. */
  format: 'pcap' | 'pcapng' | null = null;
  onInterface: ((iface: CaptureInterface) => void) | undefined;
  private input: ByteInput | null = null;
  private mapped: MappedFile | null = null;
  private readonly batch: PacketBatch;
  private readonly bufferBytes: number;
  private readonly stream: Readable | undefined;
  private readonly nativeRecords: boolean;
  private readonly mapFile: boolean;

  constructor(
    readonly name: string,
    options: FileSourceOptions = {},
  ) {
    this.batch = new PacketBatch(options.batchSize ?? 4096);
    this.bufferBytes = options.bufferBytes ?? 4 * 1024 * 1024;
    this.onInterface = options.onInterface;
    this.stream = options.stream;
    this.nativeRecords = options.nativeRecords ?? false;
    this.mapFile = options.map ?? true;
  }

  async *batches(): AsyncIterableIterator<PacketBatch> {
    const input = await openByteInput(this.name, this.stream);
    this.input = input;
    try {
      const mapped = (this.mapped = this.mapFile ? (input.map?.() ?? null) : null);
      const w = mapped ? ReadWindow.over(input, mapped.bytes) : new ReadWindow(input, this.bufferBytes);
      const format = await this.openFormat(w);
      const batch = this.batch;
      for (;;) {
        batch.count = 0;
        mapped?.passed(w.pos); // the batch before has been used
        let need = 0;
        let failure: unknown = null;
        try {
          need = format.parse(w, batch);
        } catch (e) {
          failure = e; // the records parsed before the bad one are still delivered
        }
        if (mapped) failure = this.mappedLoss(mapped, batch, w.pos) ?? failure;
        this.stats.packets += batch.count;
        this.stats.bytesRead = w.at(w.pos);
        this.stats.blocksSkipped = format.blocksSkipped;
        if (batch.count > 0) yield batch;
        if (failure !== null) throw failure;
        if (need === 0) continue;
        if (!(await w.fill(need))) {
          const lost = mapped && this.mappedLoss(mapped, batch, w.pos);
          if (lost) throw lost;
          if (w.available === 0) return;
          throw new NetlogError(
            'ERR_CAPTURE_TRUNCATED',
            `capture ends inside a record: ${w.available} of ${need} bytes present after packet ${this.stats.packets}`,
            { file: this.name, offset: w.at(w.pos) },
          );
        }
      }
    } finally {
      await this.close();
    }
  }

  private async openFormat(w: ReadWindow): Promise<CaptureFormat> {
    const ctx = {
      file: this.name,
      nativeRecords: this.nativeRecords,
      onInterface: (iface: CaptureInterface) => {
        this.interfaces.push(iface);
        this.onInterface?.(iface);
      },
    };
    if (!(await w.fill(4))) {
      throw new NetlogError('ERR_CAPTURE_TRUNCATED', `capture is ${w.available} bytes long, too short for a file header`, {
        file: this.name,
        offset: 0,
      });
    }
    const magic = w.buf.readUInt32LE(w.pos);
    if (magic === PCAPNG_SHB) {
      this.format = 'pcapng';
      return new PcapngFormat(ctx);
    }
    if (isPcapMagic(magic)) {
      this.format = 'pcap';
      if (!(await w.fill(PCAP_HEADER_LENGTH))) {
        throw new NetlogError('ERR_CAPTURE_TRUNCATED', `pcap file header cut short at ${w.available} of 24 bytes`, {
          file: this.name,
          offset: 0,
        });
      }
      return new PcapFormat(w, ctx);
    }
    throw new NetlogError(
      'ERR_CAPTURE_BAD_MAGIC',
      `not a pcap, pcapng or gzip capture (magic 0x${magic.toString(16).padStart(8, '0')})`,
      { file: this.name, offset: 0 },
    );
  }

  /**
   * Bytes of the mapped file that were lost while it was replayed (it shrank, or its storage
   * failed) read as zeros: the records of `batch` from there on are cut off and the error names
   * the offset. Until parsing (now at `pos`) reaches the loss, the records are whole and go on.
   */
  private mappedLoss(mapped: MappedFile, batch: PacketBatch, pos: number): NetlogError | null {
    const at = mapped.lostFrom();
    if (at < 0 || pos <= at) return null;
    let kept = 0;
    while (kept < batch.count && batch.dataOffset[kept]! + batch.capturedLength[kept]! <= at) kept++;
    batch.count = kept;
    return new NetlogError('ERR_CAPTURE_OPEN', `read failed at byte ${at}: the file shrank or its storage failed while it was replayed`, {
      file: this.name,
      offset: at,
    });
  }

  async close(): Promise<void> {
    const input = this.input;
    this.input = null;
    this.mapped?.close();
    this.mapped = null;
    if (input) await input.close();
  }
}
