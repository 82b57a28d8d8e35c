import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../src/flow/session-record.js';
import { replay } from '../src/replay/replay.js';
import { CORPUS, FIXTURES, ROOT } from './helpers.js';

/** A row of fixtures/tshark-streams.sh: one TCP or UDP stream as tshark sees it. */
interface TsharkStream {
  protocol: string;
  a: string;
  b: string;
  framesAB: number;
  framesBA: number;
  payloadAB: number;
  payloadBA: number;
  seqBytesAB: number;
  seqBytesBA: number;
  first: string;
  last: string;
}

function readStreams(path: string): TsharkStream[] {
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => {
    const c = line.split('\t');
    return {
      protocol: c[0]!, a: c[2]!, b: c[3]!,
      framesAB: +c[4]!, framesBA: +c[5]!, payloadAB: +c[6]!, payloadBA: +c[7]!,
      seqBytesAB: +c[8]!, seqBytesBA: +c[9]!, first: c[10]!, last: c[11]!,
    };
  });
}

/** Microseconds of a tshark epoch string ("1795553588.794953000"), exactly. */
const usOf = (epoch: string) => {
  const [s, f = ''] = epoch.split('.');
  return Number(s) * 1e6 + Number(f.padEnd(6, '0').slice(0, 6));
};

export async function sessionsOf(file: string): Promise<SessionRecord[]> {
  const out: SessionRecord[] = [];
  const { reports } = await replay([file], { onSession: (r) => out.push(r) });
  expect(reports[0]!.error).toBeNull();
  return out;
}

/**
 * Every tshark stream is exactly one netlog session and the other way round: same protocol and
 * endpoints, same first packet (to the microsecond), same packets per direction, duration =
 * last - first, and bytes equal to tshark's sequence-space span (TCP) or payload sum (UDP).
 * Where tshark's plain payload sum is larger, the difference is retransmitted bytes, which
 * netlog (like Zeek) counts once.
 */
function checkAgainstTshark(sessions: SessionRecord[], streams: TsharkStream[], skip = new Set<number>()): void {
  expect(sessions.length).toBe(streams.length);
  const unmatched = new Set(sessions);
  streams.forEach((t, i) => {
    if (skip.has(i)) return;
    const where = `tshark ${t.protocol} stream ${t.a} ${t.b} at ${t.first}`;
    const s = [...unmatched].find(
      (r) =>
        r.protocol === t.protocol &&
        Math.round(r.startedAt * 1e6) === usOf(t.first) &&
        ((r.sourceAddr === t.a && r.destAddr === t.b) || (r.sourceAddr === t.b && r.destAddr === t.a)),
    );
    expect(s, where).toBeDefined();
    unmatched.delete(s!);
    const aIsSource = s!.sourceAddr === t.a;
    expect([s!.packetsTx, s!.packetsRx], where).toEqual(aIsSource ? [t.framesAB, t.framesBA] : [t.framesBA, t.framesAB]);
    expect([s!.bytesTx, s!.bytesRx], where).toEqual(aIsSource ? [t.seqBytesAB, t.seqBytesBA] : [t.seqBytesBA, t.seqBytesAB]);
    expect(Math.round(s!.duration! * 1e6), where).toBe(usOf(t.last) - usOf(t.first));
    if (t.protocol === 'udp') expect(t.seqBytesAB + t.seqBytesBA).toBe(t.payloadAB + t.payloadBA);
  });
}

/** Zeek-style baseline: the sessions a capture gives, committed beside it. UPDATE_GOLDEN=1 rewrites. */
function checkGolden(sessions: SessionRecord[], path: string): void {
  const text = sessions.map((s) => JSON.stringify(s)).join('\n') + '\n';
  if (process.env.UPDATE_GOLDEN || !existsSync(path)) writeFileSync(path, text);
  expect(text).toBe(readFileSync(path, 'utf8'));
}

describe('sessions of real kernel traffic, against tshark and the committed baselines', () => {
  for (const name of ['tun-wireguard', 'veth-ethernet-nsec', 'sll2-any', 'two-interfaces', 'sessions-veth']) {
    const capture = ['two-interfaces'].includes(name) ? `${name}.pcapng` : `${name}.pcap`;
    it(capture, async () => {
      const sessions = await sessionsOf(join(FIXTURES, capture));
      checkAgainstTshark(sessions, readStreams(join(FIXTURES, 'golden', `${name}.streams.tsv`)));
      checkGolden(sessions, join(FIXTURES, 'golden', `${name}.sessions.jsonl`));
    });
  }

  it('sessions-veth: port reuse, RST, loss and retransmission come out as they happened', async () => {
    const sessions = await sessionsOf(join(FIXTURES, 'sessions-veth.pcap'));
    const reused = sessions.filter((s) => s.sourceAddr === '10.77.0.1:40000');
    expect(reused).toHaveLength(10); // one client port, ten connections, ten sessions
    for (const s of reused) expect(s).toMatchObject({ state: 'SF', endReason: 'fin', bytesTx: 37, bytesRx: 10203 });
    expect(new Set(reused.map((s) => s.sessionId)).size).toBe(10);
    const reset = sessions.find((s) => s.state === 'RSTO')!;
    expect(reset).toMatchObject({ endReason: 'rst', bytesTx: 38 });
    expect(reset.history).toContain('R');
    // 2,000,000 bytes of body and 205 of HTTP header: the retransmitted bytes count once.
    const bulk = sessions.find((s) => s.bytesRx > 1e6)!;
    expect(bulk).toMatchObject({ bytesRx: 2_000_205, missedBytesRx: 0, state: 'SF', endReason: 'fin' });
    expect(bulk.history).toContain('t');
    const dns = sessions.find((s) => s.destAddr === '10.77.0.2:53')!;
    expect(dns).toMatchObject({ protocol: 'udp', packetsTx: 4, packetsRx: 4, bytesTx: 160, bytesRx: 720, state: 'SF' });
  });

  it('tun-wireguard: the refused connection is REJ; HTTP over IPv4 and IPv6 through the tunnel is SF', async () => {
    const sessions = await sessionsOf(join(FIXTURES, 'tun-wireguard.pcap'));
    // The capture ends within the RST's linger: the flush records flows oldest activity first.
    expect(sessions.map((s) => [s.protocol, s.state, s.endReason])).toEqual([
      ['tcp', 'SF', 'fin'],
      ['tcp', 'SF', 'fin'],
      ['tcp', 'SF', 'fin'],
      ['udp', 'SF', 'capture-end'],
      ['tcp', 'REJ', 'rst'],
    ]);
    expect(sessions[0]).toMatchObject({ sourceAddr: expect.stringMatching(/^100\.90\.128\.2:/), destAddr: '100.90.128.1:8080', bytesRx: 100_204 });
    expect(sessions[2]!.sourceAddr).toMatch(/^\[fd90::2\]:/);
  });
});
