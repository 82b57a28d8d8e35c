import type { ByteInput } from './byte-input.js';

/** Room kept before read-ahead data for the unread tail of the window it replaces. */
const TAIL_ROOM = 256 * 1024;

/**
 * A sliding window over a ByteInput. Parsers read complete records between `pos` and `end`;
 * when a record does not fit, `fill` brings more. Two buffers take turns: while the parser
 * works through one, the next block is read into the other (the read runs on libuv's thread
 * pool, so the file's bytes arrive while the packets before them are decoded), and `fill`
 * swaps them, copying only the few unread bytes of a record cut at the block's end. Memory
 * stays two buffers whatever the size of the capture; a record larger than a buffer grows it.
 * A window `over` a mapped file (mapped-file.ts) is the whole file at once and reads nothing.
 */
export class ReadWindow {
  buf: Buffer;
  pos = 0;
  end = 0;
  /** Offset in the capture of buf[0], so errors can name absolute byte offsets. */
  base = 0;
  eof = false;
  /** The buffer being read ahead into, at TAIL_ROOM, and that read. */
  private spare: Buffer;
  private ahead: Promise<number> | null = null;
  /** Bytes read at a time: the initial size, grown only for a record larger than it. */
  private block: number;

  constructor(
    private readonly input: ByteInput,
    initialSize: number,
  ) {
    this.block = initialSize;
    this.buf = Buffer.allocUnsafe(initialSize);
    // None for a window `over` a mapped file, which never reads ahead.
    this.spare = Buffer.allocUnsafe(initialSize > 0 ? initialSize + TAIL_ROOM : 0);
  }

  /** A window that is all of `bytes` (a mapped file), already at the end of its input. */
  static over(input: ByteInput, bytes: Buffer): ReadWindow {
    const w = new ReadWindow(input, 0);
    w.buf = bytes;
    w.end = bytes.length;
    w.eof = true;
    return w;
  }

  get available(): number {
    return this.end - this.pos;
  }

  /** Absolute capture offset of buffer position `p`. */
  at(p: number): number {
    return this.base + p;
  }

  /**
   * Makes at least `minBytes` available from `pos`. Resolves false at end of input with fewer.
   * Moves data: offsets into `buf` taken before the call are invalid after it.
   */
  async fill(minBytes: number): Promise<boolean> {
    if (this.end - this.pos >= minBytes) return true;
    if (this.ahead !== null) await this.takeReadAhead(minBytes);
    // Short still (a record longer than a block, or a short read): read in place until done.
    while (this.end - this.pos < minBytes && !this.eof) await this.readInPlace(minBytes);
    if (!this.eof) this.readAhead();
    return this.end - this.pos >= minBytes;
  }

  /** The block read ahead becomes the window, after the unread tail of the old one. */
  private async takeReadAhead(minBytes: number): Promise<void> {
    const n = await this.ahead!;
    this.ahead = null;
    if (n === 0) {
      this.eof = true;
      return;
    }
    const tail = this.end - this.pos;
    const next = this.spare;
    if (tail <= TAIL_ROOM) {
      const start = TAIL_ROOM - tail;
      this.buf.copy(next, start, this.pos, this.end);
      this.base += this.pos - start;
      this.spare = this.buf; // readAhead grows it if it is the smaller
      this.buf = next;
      this.pos = start;
      this.end = TAIL_ROOM + n;
      return;
    }
    // A record longer than the room: one buffer holding the tail, then the block, with room
    // for the whole record (the rest is read in place).
    const joined = Buffer.allocUnsafe(Math.max(this.buf.length, tail + n, minBytes));
    this.buf.copy(joined, 0, this.pos, this.end);
    next.copy(joined, tail, TAIL_ROOM, TAIL_ROOM + n);
    this.base += this.pos;
    this.buf = joined;
    this.block = Math.max(this.block, joined.length);
    this.pos = 0;
    this.end = tail + n;
  }

  /** Without a read ahead (at the start, or for a record larger than the buffer): read here. */
  private async readInPlace(minBytes: number): Promise<void> {
    if (this.pos > 0) {
      this.buf.copy(this.buf, 0, this.pos, this.end);
      this.base += this.pos;
      this.end -= this.pos;
      this.pos = 0;
    }
    if (minBytes > this.buf.length) {
      let size = this.buf.length;
      while (size < minBytes) size *= 2;
      const bigger = Buffer.allocUnsafe(size);
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
      this.block = size;
    }
    const n = await this.input.read(this.buf, this.end, this.buf.length - this.end);
    if (n === 0) this.eof = true;
    this.end += n;
  }

  private readAhead(): void {
    // A whole block, so a window grown for a large record is not refilled in small steps.
    if (this.spare.length < this.block + TAIL_ROOM) this.spare = Buffer.allocUnsafe(this.block + TAIL_ROOM);
    const read = this.input.read(this.spare, TAIL_ROOM, this.spare.length - TAIL_ROOM);
    read.catch(() => {}); // a read left pending at close fails unobserved; an awaited one throws
    this.ahead = read;
  }
}
