import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSource } from '../src/capture/file-source.js';
import { Decoder } from '../src/decode/decoder.js';
import { formatDestination, formatSource } from '../src/decode/address.js';
import { SKIP_REASON_NAMES } from '../src/decode/packet-info.js';
import { NetlogError } from '../src/errors.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = join(ROOT, 'fixtures');
export const CORPUS = join(ROOT, '..', 'shared', 'corpus');

/** Every capture file under `dir`, recursively. */
export function capturesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    if (statSync(path).isDirectory()) return capturesUnder(path);
    return /(MANIFEST|README)/.test(f) ? [] : [path];
  });
}

/** One packet as the decoder saw it, copied out of the reused PacketInfo. */
export interface DecodedPacket {
  time: string;
  originalLength: number;
  linkType: number;
  outcome: string;
  src: string;
  dst: string;
  protocol: number;
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  seq: number;
  ack: number;
  payloadLength: number;
  fragment: number;
}

/** Reads a whole capture through the decoder, one DecodedPacket per packet. */
export async function decodeFile(file: string): Promise<{ packets: DecodedPacket[]; error: NetlogError | null }> {
  const source = new FileSource(file);
  const decoder = new Decoder();
  const packets: DecodedPacket[] = [];
  let error: NetlogError | null = null;
  try {
    for await (const batch of source.batches()) {
      for (let i = 0; i < batch.count; i++) {
        const r = decoder.decodeAt(batch, i);
        const info = decoder.info;
        const ok = r === 0;
        packets.push({
          time: `${batch.tsSec[i]}.${String(batch.tsNsec[i]).padStart(9, '0')}`,
          originalLength: batch.originalLength[i]!,
          linkType: batch.linkType[i]!,
          outcome: SKIP_REASON_NAMES[r]!,
          src: ok ? formatSource(info) : '',
          dst: ok ? formatDestination(info) : '',
          protocol: ok ? info.protocol : 0,
          srcPort: ok ? info.srcPort : 0,
          dstPort: ok ? info.dstPort : 0,
          tcpFlags: ok ? info.tcpFlags : 0,
          seq: ok ? info.seq : 0,
          ack: ok ? info.ack : 0,
          payloadLength: ok ? info.payloadLength : 0,
          fragment: ok ? info.fragment : 0,
        });
      }
    }
  } catch (e) {
    if (!(e instanceof NetlogError)) throw e;
    error = e;
  }
  return { packets, error };
}

/** A row of fixtures/tshark-packets.sh output; empty columns are ''. */
export interface TsharkPacket {
  time: string;
  frameLength: number;
  src: string;
  dst: string;
  ipProtocol: string;
  tcp: { srcPort: number; dstPort: number; flags: number; seq: number; ack: number; length: number } | null;
  udp: { srcPort: number; dstPort: number; length: number } | null;
  /** Fragment offset in bytes and more-fragments flag, when the packet is an IP fragment. */
  fragmentOffset: number;
  moreFragments: boolean;
}

export function readTsharkPackets(path: string): TsharkPacket[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const c = line.split('\t');
      const col = (i: number) => c[i] ?? '';
      const num = (i: number) => Number(col(i));
      const v4FragUnits = col(18) === '' ? 0 : num(18);
      return {
        time: col(1),
        frameLength: num(2),
        src: col(3) || col(4),
        dst: col(5) || col(6),
        ipProtocol: col(7) || col(8),
        tcp: col(9) === '' ? null : { srcPort: num(9), dstPort: num(11), flags: parseInt(col(13), 16), seq: num(14), ack: num(15), length: num(16) },
        udp: col(10) === '' ? null : { srcPort: num(10), dstPort: num(12), length: num(17) },
        // tshark shows the IPv4 offset in 8-byte units and the IPv6 one in bytes.
        fragmentOffset: col(3) !== '' ? v4FragUnits * 8 : col(20) === '' ? 0 : num(20),
        moreFragments: col(19) === '1' || col(21) === '1' || col(19) === 'True' || col(21) === 'True',
      };
    });
}
