import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../src/flow/session-record.js';
import { FIXTURES } from './helpers.js';
import { checkAgainstTshark, readStreams, sessionsOf } from './tshark-streams.js';

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
