import { loadAddon } from '../native-addon.js';

interface MapBinding {
  mapFile(fd: number, maxBytes: number): ArrayBuffer | string;
  release(buffer: ArrayBuffer, upTo: number): void;
  lostFrom(buffer: ArrayBuffer): number;
  close(buffer: ArrayBuffer): void;
}

/** PacketBatch holds offsets into the window as Int32, so larger files are read, not mapped. */
export const MAX_MAPPED_BYTES = 2 ** 31 - 1;

/** The pages passed are let go of every this many bytes, so a mapped replay's RSS stays flat. */
const RELEASE_BYTES = 8 * 1024 * 1024;

let binding: MapBinding | null | undefined;

/**
 * A capture file mapped into memory (native/netlog_map.cc), which FileSource parses in place
 * instead of reading it into its window. Why: read() copies every byte from the page cache
 * into the window on a thread of libuv's pool, a third thread on a site host's two cores;
 * bench:peers' 728 MiB real capture took 0.11-0.20 s of CPU to read that way and 0.05 s to
 * touch mapped (a C loop over the same file), and `netlog replay --db` of it went from a median of
 * 1.10 s to 1.015 s (eight alternating rounds, 2026-12-07). The addon's SIGBUS handler turns a
 * file that shrinks or fails while mapped into lostFrom(), reported by FileSource as an error
 * naming the offset, not a crash. The file must stay open while mapped (FileSource closes the
 * mapping first).
 */
export class MappedFile {
  /** The whole file. */
  readonly bytes: Buffer;
  private released = 0;

  private constructor(
    private readonly binding: MapBinding,
    private readonly buffer: ArrayBuffer,
  ) {
    this.bytes = Buffer.from(buffer);
  }

  /**
   * Maps the open file `fd`; null when it cannot or should not be (the addon is not built, not
   * a regular file, empty, larger than MAX_MAPPED_BYTES): the caller then reads it.
   */
  static open(fd: number): MappedFile | null {
    if (binding === undefined) binding = loadAddon<MapBinding>('netlog_map');
    if (binding === null) return null;
    const mapped = binding.mapFile(fd, MAX_MAPPED_BYTES);
    return typeof mapped === 'string' ? null : new MappedFile(binding, mapped);
  }

  /** The reader is at `pos` and needs nothing before it again. */
  passed(pos: number): void {
    if (pos - this.released < RELEASE_BYTES) return;
    this.binding.release(this.buffer, pos);
    this.released = pos;
  }

  /**
   * Where the file's bytes stopped being there (it shrank while mapped, or its storage failed),
   * or -1 while they all are. Asked after each batch is parsed, before it is used: the records
   * before that offset are whole. (A file cut between the question and the batch's use gives
   * that batch zeros where its bytes were; the next question reports the loss.)
   */
  lostFrom(): number {
    return this.binding.lostFrom(this.buffer);
  }

  /** Done: the pages go, and `bytes` reads as zeros from now on. */
  close(): void {
    this.binding.close(this.buffer);
  }
}
