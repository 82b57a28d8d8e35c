import { open, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { NetlogError } from '../errors.js';
import { MappedFile } from './mapped-file.js';

/** Sequential bytes of a capture: a plain file, standard input, or either one gunzipped. */
export interface ByteInput {
  readonly name: string;
  readonly compressed: boolean;
  /** Reads up to `length` bytes into `buf` at `offset`; resolves to 0 at end of input. */
  read(buf: Buffer, offset: number, length: number): Promise<number>;
  /** The whole input mapped into memory, where it can be (a plain file): mapped-file.ts. */
  map?(): MappedFile | null;
  close(): Promise<void>;
}

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/**
 * Opens `path` (`-` for standard input) and unwraps gzip, detected by its magic bytes as
 * tcpdump and tshark do, whatever the file is called.
 */
export async function openByteInput(path: string, stream?: Readable): Promise<ByteInput> {
  if (stream) return openStream(path, stream);
  if (path === '-') return openStream('-', process.stdin);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new NetlogError('ERR_CAPTURE_OPEN', `cannot open: ${(e as Error).message}`, { file: path });
  }
  const head = Buffer.alloc(2);
  const { bytesRead } = await fh.read(head, 0, 2, 0);
  if (bytesRead === 2 && head[0] === GZIP_MAGIC_0 && head[1] === GZIP_MAGIC_1) {
    await fh.close();
    return new StreamInput(path, createReadStream(path).pipe(createGunzip()), true);
  }
  return new FileInput(path, fh);
}

/** Standard input (or any stream): peek at the first chunk for gzip, then read on. */
async function openStream(name: string, stream: Readable): Promise<ByteInput> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await it.next();
  if (first.done) return new StreamInput(name, Readable.from([]), false);
  const head: Buffer = first.value;
  const rest = Readable.from(
    (async function* () {
      yield head;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    })(),
    { objectMode: false },
  );
  if (head.length >= 2 && head[0] === GZIP_MAGIC_0 && head[1] === GZIP_MAGIC_1) {
    return new StreamInput(name, rest.pipe(createGunzip()), true);
  }
  return new StreamInput(name, rest, false);
}

class FileInput implements ByteInput {
  readonly compressed = false;
  constructor(
    readonly name: string,
    private readonly fh: FileHandle,
  ) {}

  async read(buf: Buffer, offset: number, length: number): Promise<number> {
    try {
      // position null: read on from the current file position, sequentially.
      const { bytesRead } = await this.fh.read(buf, offset, length, null);
      return bytesRead;
    } catch (e) {
      throw new NetlogError('ERR_CAPTURE_OPEN', `read failed: ${(e as Error).message}`, { file: this.name });
    }
  }

  map(): MappedFile | null {
    return MappedFile.open(this.fh.fd);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

class StreamInput implements ByteInput {
  private readonly it: AsyncIterator<Buffer>;
  private chunk: Buffer | null = null;
  private chunkPos = 0;
  private delivered = 0;

  constructor(
    readonly name: string,
    private readonly stream: Readable,
    readonly compressed: boolean,
  ) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async read(buf: Buffer, offset: number, length: number): Promise<number> {
    while (this.chunk === null || this.chunkPos >= this.chunk.length) {
      let r: IteratorResult<Buffer>;
      try {
        r = await this.it.next();
      } catch (e) {
        throw this.streamError(e as Error & { code?: string });
      }
      if (r.done) return 0;
      this.chunk = r.value;
      this.chunkPos = 0;
    }
    const n = Math.min(length, this.chunk.length - this.chunkPos);
    this.chunk.copy(buf, offset, this.chunkPos, this.chunkPos + n);
    this.chunkPos += n;
    this.delivered += n;
    return n;
  }

  /** zlib reports a cut-off gzip member as Z_BUF_ERROR ("unexpected end of file"). */
  private streamError(e: Error & { code?: string }): NetlogError {
    const place = { file: this.name, offset: this.delivered };
    if (e.code === 'Z_BUF_ERROR') {
      return new NetlogError('ERR_CAPTURE_TRUNCATED', 'gzip data ends early (unexpected end of file)', place);
    }
    if (this.compressed && e.code?.startsWith('Z_')) {
      return new NetlogError('ERR_CAPTURE_CORRUPT', `gzip data is corrupt: ${e.message}`, place);
    }
    return new NetlogError('ERR_CAPTURE_OPEN', `read failed: ${e.message}`, place);
  }

  async close(): Promise<void> {
    this.stream.destroy();
  }
}
