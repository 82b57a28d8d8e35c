/**
 * Unsigned words of a capture file's headers, in the file's byte order (`le`: little-endian).
 * The caller has checked that the bytes are there. Not Buffer.readUInt32LE and its kin: they
 * validate the offset on every call, and in the record loops that cost more than the reading:
 * `node dist/bench/read-decode.js ours read bench/out/peers-real.pcap` (5.58M records, four
 * header words each) took 0.23-0.38 s with them and 0.11-0.15 s with these.
 */
export function u32(b: Buffer, p: number, le: boolean): number {
  return le
    ? (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0
    : ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

export function u16(b: Buffer, p: number, le: boolean): number {
  return le ? b[p]! | (b[p + 1]! << 8) : (b[p]! << 8) | b[p + 1]!;
}
