import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { FlowTrackerOptions } from '../src/flow/flow-tracker.js';
import type { SessionRecord } from '../src/flow/session-record.js';
import { replay } from '../src/replay/replay.js';

/** A row of fixtures/tshark-streams.sh: one TCP or UDP stream as tshark sees it. */
export interface TsharkStream {
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

export function readStreams(path: string): TsharkStream[] {
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

export async function sessionsOf(file: string, options: Partial<FlowTrackerOptions> = {}): Promise<SessionRecord[]> {
  const out: SessionRecord[] = [];
  const { reports } = await replay([file], { ...options, onSession: (r) => out.push(r) });
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
export function checkAgainstTshark(sessions: SessionRecord[], streams: TsharkStream[], skip = new Set<number>()): void {
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

