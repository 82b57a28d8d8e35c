import { describe, expect, it } from 'vitest';
import { IPPROTO_TCP, IPPROTO_UDP, PacketInfo, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../src/decode/packet-info.js';
import { FlowTracker, type FlowTimeouts } from '../src/flow/flow-tracker.js';
import { createRing, RingReader, RingWriter, SLOT_PACKETS } from '../src/replay/decoded-ring.js';
import type { SessionRecord } from '../src/flow/session-record.js';

/**
 * FlowTracker.packetRun against packet() one by one: a run is taken at once only when that
 * gives the same sessions, and a refused run changes nothing, so its packets one by one still
 * give them. (The parallel replay's tests check the same over the fixtures and corpora, where
 * the decoding thread marks the runs.)
 */
interface Pkt {
  t: number; // seconds
  fromClient: boolean;
  protocol: number;
  flags: number;
  seq: number;
  len: number;
}

const CLIENT = 0x0a000001; // 10.0.0.1:40000
const SERVER = 0x0a000002; // 10.0.0.2:443

function info(p: Pkt): PacketInfo {
  const i = new PacketInfo();
  i.ipVersion = 4;
  i.protocol = p.protocol;
  i.src0 = p.fromClient ? CLIENT : SERVER;
  i.dst0 = p.fromClient ? SERVER : CLIENT;
  i.srcPort = p.fromClient ? 40000 : 443;
  i.dstPort = p.fromClient ? 443 : 40000;
  i.tcpFlags = p.flags;
  i.seq = p.seq >>> 0;
  i.payloadLength = p.len;
  return i;
}

function tracker(timeouts: Partial<FlowTimeouts> = {}) {
  const sessions: SessionRecord[] = [];
  return { t: new FlowTracker({ timeouts, onSession: (r) => sessions.push(r) }), sessions };
}

const feed = (t: FlowTracker, p: Pkt) => t.packet(info(p), Math.floor(p.t), Math.round((p.t % 1) * 1e9));

/** `packets` one by one; and with `packets[at]` given to packet() and the next `n` as one run. */
function bothWays(packets: Pkt[], at: number, n: number, timeouts: Partial<FlowTimeouts> = {}) {
  const single = tracker(timeouts);
  for (const p of packets) feed(single.t, p);
  single.t.flush('capture-end');
  const runs = tracker(timeouts);
  let taken: boolean | null = null;
  for (let i = 0; i < packets.length; i++) {
    feed(runs.t, packets[i]!);
    if (i !== at) continue;
    const run = packets.slice(at + 1, at + 1 + n);
    const us = (p: Pkt) => Math.floor(p.t) * 1e6 + Math.floor(Math.round((p.t % 1) * 1e9) / 1000);
    let latest = us(packets[at]!);
    let gap = 0;
    for (const p of run) {
      if (us(p) > latest) {
        gap = Math.max(gap, us(p) - latest);
        latest = us(p);
      }
    }
    taken = runs.t.packetRun(info(packets[at]!), n, run.reduce((a, p) => a + p.len, 0), latest, gap);
    if (taken) i += n;
  }
  runs.t.flush('capture-end');
  return { single: single.sessions, runs: runs.sessions, taken };
}

const tcp = (t: number, fromClient: boolean, flags: number, seq: number, len = 0): Pkt => ({ t, fromClient, protocol: IPPROTO_TCP, flags, seq, len });
const udp = (t: number, fromClient: boolean, len: number): Pkt => ({ t, fromClient, protocol: IPPROTO_UDP, flags: 0, seq: 0, len });

/** A handshake, then `data` (segments of 1000 bytes from the server, from sequence 5001), then FIN both ways. */
function connection(data: Pkt[]): Pkt[] {
  const end = data.at(-1)!.t + 0.001;
  return [
    tcp(100, true, TCP_SYN, 999),
    tcp(100.0001, false, TCP_SYN | TCP_ACK, 5000),
    tcp(100.0002, true, TCP_ACK, 1000),
    ...data,
    tcp(end, false, TCP_FIN | TCP_ACK, 5001 + 1000 * data.length),
    tcp(end + 0.0001, true, TCP_FIN | TCP_ACK, 1000),
    tcp(end + 0.0002, false, TCP_ACK, 5002 + 1000 * data.length),
  ];
}
const segment = (k: number, t = 100.001 + k * 0.0001) => tcp(t, false, TCP_ACK | TCP_PSH, 5001 + 1000 * k, 1000);

describe('a run of packets taken at once gives the sessions of its packets one by one', () => {
  it('in-order segments: taken, with every byte and packet counted', () => {
    const packets = connection([0, 1, 2, 3, 4, 5].map((k) => segment(k)));
    const r = bothWays(packets, 3, 5);
    expect(r.taken).toBe(true);
    expect(r.runs).toEqual(r.single);
    expect(r.single[0]).toMatchObject({ bytesRx: 6000, packetsRx: 9, state: 'SF' }); // SYN-ACK, 6 segments, FIN, ACK
  });

  it('pure ACKs of one direction: taken', () => {
    const acks = [0, 1, 2, 3].map((k) => tcp(100.001 + k * 0.0001, true, TCP_ACK, 1000));
    const packets = connection([segment(0, 100.0009), ...acks]);
    const r = bothWays(packets, 4, 3);
    expect(r.taken).toBe(true);
    expect(r.runs).toEqual(r.single);
  });

  it('after a segment seen twice (a retransmission), the run is refused and counted one by one', () => {
    const data = [segment(0), segment(1), segment(2), segment(1, 100.0013), segment(2, 100.0014), segment(3, 100.0015)];
    const packets = connection(data);
    const r = bothWays(packets, 6, 2); // segment(1) again, then 2 and 3 after it
    expect(r.taken).toBe(false);
    expect(r.runs).toEqual(r.single);
    expect(r.single[0]).toMatchObject({ bytesRx: 4000 });
    expect(r.single[0]!.history).toContain('t');
  });

  it('after a gap in sequence space (lost segments): taken, the gap counted once', () => {
    const packets = connection([segment(0), segment(3), segment(4), segment(5)]);
    const r = bothWays(packets, 4, 2);
    expect(r.taken).toBe(true);
    expect(r.runs).toEqual(r.single);
    expect(r.single[0]).toMatchObject({ missedBytesRx: 2000 });
  });

  it('a run across the next expiry sweep is refused: the sweep runs at the packet it falls on', () => {
    // Another flow idle long enough to be swept while the run goes on.
    const other = { ...udp(100.0003, true, 10), fromClient: true };
    const data = [0, 1, 2, 3].map((k) => segment(k, 130 + k * 0.6));
    const packets = [...connection(data).slice(0, 3), other, ...data, ...connection(data).slice(-3)];
    const r = bothWays(packets, 4, 3, { udpS: 30 });
    expect(r.taken).toBe(false);
    expect(r.runs).toEqual(r.single);
  });

  it('a gap in time past the flow\'s idle timeout is refused: the flow ends there', () => {
    const packets = [udp(100, true, 10), udp(100.1, true, 20), udp(100.2, true, 30), udp(103, true, 40), udp(103.1, true, 50)];
    const r = bothWays(packets, 0, 4, { udpS: 2 });
    expect(r.taken).toBe(false);
    expect(r.runs).toEqual(r.single);
    expect(r.single.map((s) => s.packetsTx)).toEqual([3, 2]);
  });

  it('UDP datagrams of one direction: taken', () => {
    const packets = [udp(100, true, 10), udp(100.1, true, 20), udp(100.2, true, 30), udp(100.3, false, 40)];
    const r = bothWays(packets, 0, 2);
    expect(r.taken).toBe(true);
    expect(r.runs).toEqual(r.single);
    expect(r.single[0]).toMatchObject({ bytesTx: 60, packetsTx: 3, bytesRx: 40 });
  });
});

describe('the decoding thread marks runs in the ring', () => {
  /** Pushes `packets` through a ring (one slot or more) and reads back, for each, its run count and bytes. */
  async function throughRing(packets: Pkt[]): Promise<Array<[number, number]>> {
    const ring = createRing();
    const writer = new RingWriter(ring);
    const reader = new RingReader(ring);
    const out: Array<[number, number]> = [];
    const got = new PacketInfo();
    let pushed = 0;
    const pushSome = () => {
      for (; pushed < packets.length && pushed < out.length + SLOT_PACKETS; pushed++) {
        const p = packets[pushed]!;
        writer.push(info(p), Math.floor(p.t), Math.round((p.t % 1) * 1e9));
      }
      if (pushed === packets.length) writer.finish();
    };
    pushSome();
    for (let n = await reader.next(() => null); n >= 0; n = await reader.next(() => null)) {
      for (let i = 0; i < n; i++) out.push([reader.read(i, got), reader.runBytes(i)]);
      reader.release();
      if (pushed < packets.length) pushSome();
    }
    return out;
  }

  it('in-order segments of one direction, pure ACKs and UDP datagrams make runs; anything else ends one', async () => {
    const packets = [
      ...connection([0, 1, 2, 3].map((k) => segment(k))).slice(0, 7), // SYN, SYN-ACK, ACK, 4 segments
      segment(1, 100.002), // a retransmission: not where the last one ended
      tcp(100.003, true, TCP_ACK, 1000),
      tcp(100.0031, true, TCP_ACK, 1000),
      udp(100.004, true, 10),
      udp(100.0041, true, 20),
      udp(100.0042, false, 30), // the other direction
    ];
    expect(await throughRing(packets)).toEqual([
      [0, 0], // SYN
      [0, 0], // SYN-ACK
      [0, 0], // the client's ACK, followed by the server's segments (another direction)
      [3, 3000], // the first segment, three after it
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0], // the retransmission starts a run of its own, which the client's ACK ends
      [1, 0], // two pure ACKs
      [0, 0],
      [1, 20], // two datagrams one way
      [0, 0],
      [0, 0],
    ]);
  });

  it('a run never crosses into the next slot', async () => {
    const packets = Array.from({ length: SLOT_PACKETS + 10 }, (_, k) => udp(100 + k * 1e-4, true, 1));
    const runs = await throughRing(packets);
    expect(runs[0]).toEqual([SLOT_PACKETS - 1, SLOT_PACKETS - 1]);
    expect(runs[SLOT_PACKETS]).toEqual([9, 9]);
    expect(runs.filter(([n]) => n > 0)).toHaveLength(2);
  });
});
