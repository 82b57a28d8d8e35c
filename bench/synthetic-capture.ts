import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * Writes a synthetic Ethernet pcap of tunnel-like traffic for the benchmarks: many concurrent
 * TCP sessions (handshake, request, 1-6 response segments, FIN both ways) and UDP
 * request/response pairs, from tunnel clients in 100.90.128.0/17 and fd90::/64 to site
 * resources, 80% IPv4. Frames are captured to a 128-byte snaplen, as a header-only capture
 * would be; IP lengths keep the real sizes. Deterministic for a given seed.
 */
export interface SyntheticCaptureStats {
  packets: number;
  sessions: number;
  bytes: number;
}

const SNAPLEN = 128;
const TCP_PORTS = [22, 80, 443, 5432, 8080, 3389];

/** xorshift32: deterministic and cheap. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

interface Session {
  v6: boolean;
  tcp: boolean;
  client: number;
  server: number;
  clientPort: number;
  serverPort: number;
  clientSeq: number;
  serverSeq: number;
  segments: number;
  step: number;
}

export function writeSyntheticCapture(path: string, targetPackets: number, seed = 1, concurrent = 5000): SyntheticCaptureStats {
  const random = rng(seed);
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(8 * 1024 * 1024);
  let used = 0;
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(SNAPLEN, 16);
  header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  writeSync(fd, header);
  let written = 24;
  let packets = 0;
  let sessions = 0;
  let tUsec = 1_795_000_000 * 1e6;

  const newSession = (): Session => {
    sessions++;
    const tcp = random() < 0.85;
    return {
      v6: random() < 0.2,
      tcp,
      client: Math.floor(random() * 32768),
      server: Math.floor(random() * 4096),
      clientPort: 32768 + Math.floor(random() * 28000),
      serverPort: tcp ? TCP_PORTS[Math.floor(random() * TCP_PORTS.length)]! : 53,
      clientSeq: Math.floor(random() * 4294967296),
      serverSeq: Math.floor(random() * 4294967296),
      segments: 1 + Math.floor(random() * 6),
      step: 0,
    };
  };

  const frame = Buffer.alloc(2048);
  const emit = (s: Session, fromClient: boolean, flags: number, payload: number) => {
    const ipHeader = s.v6 ? 40 : 20;
    const l4Header = s.tcp ? 20 : 8;
    const ipLength = ipHeader + l4Header + payload;
    const frameLength = 14 + ipLength;
    const capLength = Math.min(frameLength, SNAPLEN);
    frame.fill(0, 0, capLength);
    frame.writeUInt16BE(s.v6 ? 0x86dd : 0x0800, 12);
    let p = 14;
    const proto = s.tcp ? 6 : 17;
    const clientWord = (100 << 24) | (90 << 16) | (128 << 8) | 0; // base, plus the client index
    const src = fromClient ? s.client : s.server;
    const dst = fromClient ? s.server : s.client;
    const srcBase = fromClient ? clientWord : (10 << 24) | (1 << 16);
    const dstBase = fromClient ? (10 << 24) | (1 << 16) : clientWord;
    if (s.v6) {
      frame[p] = 0x60;
      frame.writeUInt16BE(ipLength - 40, p + 4);
      frame[p + 6] = proto;
      frame[p + 7] = 64;
      frame.writeUInt32BE(fromClient ? 0xfd900000 : 0xfd000001, p + 8);
      frame.writeUInt32BE(src, p + 20);
      frame.writeUInt32BE(fromClient ? 0xfd000001 : 0xfd900000, p + 24);
      frame.writeUInt32BE(dst, p + 36);
    } else {
      frame[p] = 0x45;
      frame.writeUInt16BE(ipLength, p + 2);
      frame[p + 6] = 0x40; // DF
      frame[p + 8] = 64;
      frame[p + 9] = proto;
      frame.writeUInt32BE((srcBase + src) >>> 0, p + 12);
      frame.writeUInt32BE((dstBase + dst) >>> 0, p + 16);
    }
    p += ipHeader;
    frame.writeUInt16BE(fromClient ? s.clientPort : s.serverPort, p);
    frame.writeUInt16BE(fromClient ? s.serverPort : s.clientPort, p + 2);
    if (s.tcp) {
      frame.writeUInt32BE(fromClient ? s.clientSeq : s.serverSeq, p + 4);
      frame.writeUInt32BE(flags & 0x10 ? (fromClient ? s.serverSeq : s.clientSeq) : 0, p + 8);
      frame[p + 12] = 0x50;
      frame[p + 13] = flags;
      frame.writeUInt16BE(65535, p + 14);
      const consumed = payload + (flags & 0x03 ? 1 : 0); // SYN and FIN take a sequence number
      if (fromClient) s.clientSeq = (s.clientSeq + consumed) >>> 0;
      else s.serverSeq = (s.serverSeq + consumed) >>> 0;
    } else {
      frame.writeUInt16BE(8 + payload, p + 4);
    }
    if (used + 16 + capLength > chunk.length) {
      writeSync(fd, chunk, 0, used);
      written += used;
      used = 0;
    }
    tUsec += 1 + Math.floor(random() * 3);
    chunk.writeUInt32LE(Math.floor(tUsec / 1e6), used);
    chunk.writeUInt32LE(tUsec % 1e6, used + 4);
    chunk.writeUInt32LE(capLength, used + 8);
    chunk.writeUInt32LE(frameLength, used + 12);
    frame.copy(chunk, used + 16, 0, capLength);
    used += 16 + capLength;
    packets++;
  };

  // TCP script: SYN, SYN/ACK, ACK, request, `segments` responses, ACK, FIN, FIN, ACK.
  const advance = (s: Session): boolean => {
    const k = s.step++;
    if (!s.tcp) {
      if (k === 0) emit(s, true, 0, 60);
      else emit(s, false, 0, 120);
      return k === 1;
    }
    if (k === 0) emit(s, true, 0x02, 0);
    else if (k === 1) emit(s, false, 0x12, 0);
    else if (k === 2) emit(s, true, 0x10, 0);
    else if (k === 3) emit(s, true, 0x18, 200);
    else if (k < 4 + s.segments) emit(s, false, 0x18, 1400);
    else if (k === 4 + s.segments) emit(s, true, 0x10, 0);
    else if (k === 5 + s.segments) emit(s, true, 0x11, 0);
    else if (k === 6 + s.segments) emit(s, false, 0x11, 0);
    else {
      emit(s, true, 0x10, 0);
      return true;
    }
    return false;
  };

  const active: Session[] = [];
  for (let i = 0; i < concurrent; i++) active.push(newSession());
  while (packets < targetPackets) {
    const i = Math.floor(random() * active.length);
    if (advance(active[i]!)) active[i] = newSession();
  }
  writeSync(fd, chunk, 0, used);
  written += used;
  closeSync(fd);
  return { packets, sessions, bytes: written };
}

/**
 * A SYN flood: `packets` TCP SYNs, each from a random IPv4 address and port to 10.1.0.1:443,
 * so each one is a new flow that never gets an answer. Ethernet pcap, 1 µs apart.
 */
export function writeSynFlood(path: string, packets: number, seed = 1): void {
  const random = rng(seed);
  const fd = openSync(path, 'w');
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(SNAPLEN, 16);
  header.writeUInt32LE(1, 20);
  writeSync(fd, header);
  const RECORD = 16 + 14 + 20 + 20;
  const chunk = Buffer.alloc(RECORD * 65536);
  let used = 0;
  const t0 = Date.parse('2026-11-24T12:00:00Z') * 1000;
  for (let i = 0; i < packets; i++) {
    const f = chunk.subarray(used, used + RECORD).fill(0);
    const t = t0 + i;
    f.writeUInt32LE(Math.floor(t / 1e6), 0);
    f.writeUInt32LE(t % 1e6, 4);
    f.writeUInt32LE(RECORD - 16, 8);
    f.writeUInt32LE(RECORD - 16, 12);
    f.writeUInt16BE(0x0800, 16 + 12);
    const ip = 16 + 14;
    f[ip] = 0x45;
    f.writeUInt16BE(40, ip + 2);
    f[ip + 8] = 64;
    f[ip + 9] = 6;
    f.writeUInt32BE(Math.floor(random() * 0xfffffffe) + 1, ip + 12);
    f.writeUInt32BE(0x0a010001, ip + 16);
    const tcp = ip + 20;
    f.writeUInt16BE(1024 + Math.floor(random() * 64000), tcp);
    f.writeUInt16BE(443, tcp + 2);
    f.writeUInt32BE(Math.floor(random() * 0xffffffff), tcp + 4);
    f[tcp + 12] = 0x50;
    f[tcp + 13] = 0x02; // SYN
    f.writeUInt16BE(64240, tcp + 14);
    used += RECORD;
    if (used === chunk.length) {
      writeSync(fd, chunk, 0, used);
      used = 0;
    }
  }
  writeSync(fd, chunk, 0, used);
  closeSync(fd);
}
