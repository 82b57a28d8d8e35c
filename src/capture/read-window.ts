import type { ByteInput } from './byte-input.js';

/**
 * A sliding window over a ByteInput. Parsers read complete records between `pos` and `end`;
 * when a record does not fit, `fill` moves the unread tail to the front and reads more, growing
 * the buffer only as far as the caller's bound allows. Memory stays constant whatever the size
 * of the capture.
 */
export class ReadWindow {
  buf: Buffer;
  pos = 0;
  end = 0;
  /** Offset in the capture of buf[0], so errors can name absolute byte offsets. */
  base = 0;
  eof = false;

  constructor(
    private readonly input: ByteInput,
    initialSize: number,
  ) {
    this.buf = Buffer.allocUnsafe(initialSize);
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
    }
    while (this.end < minBytes && !this.eof) {
      const n = await this.input.read(this.buf, this.end, this.buf.length - this.end);
      if (n === 0) this.eof = true;
      this.end += n;
    }
    return this.end >= minBytes;
  }
}
