import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SessionBatch } from '../src/flow/session-batch.js';
import { IdentityMap } from '../src/identity/identity-map.js';
import { IdentityRegistry } from '../src/identity/identity-registry.js';
import { loadOrgMap } from '../src/identity/org-map.js';
import { channelIdentity, createJsonChannel, JsonChannelSender, JsonChannelWriter } from '../src/replay/json-channel.js';
import { replay } from '../src/replay/replay.js';
import { CORPUS, FIXTURES } from './helpers.js';

/** JSON.stringify of each row's record: what `--format jsonl` must write, from a copy (record() resolves rows in place). */
function expectedLines(batches: SessionBatch[]): string {
  let out = '';
  for (const b of batches) {
    const copy = b.copy();
    for (let i = 0; i < copy.length; i++) out += JSON.stringify(copy.record(i)) + '\n';
  }
  return out;
}

/** Sends `batches` through a channel whose writer (here on the same thread) writes to `fd`. */
async function throughChannel(batches: SessionBatch[], fd: number, registry: IdentityRegistry | null, identity = channelIdentity(registry ?? undefined)) {
  const data = createJsonChannel(fd, identity);
  const sender = new JsonChannelSender(data, registry, () => null, new Promise(() => {}));
  const failures: NodeJS.ErrnoException[] = [];
  const writer = new JsonChannelWriter(data, (e) => failures.push(e));
  // All sent before the writer takes any: most wait in the sender's queue for a free region.
  for (const b of batches) sender.write(b);
  const serving = setInterval(() => writer.serve(), 1);
  await sender.close();
  clearInterval(serving);
  writer.finish();
  return { sender, failures };
}

describe('JSON lines written by the decoding thread (json-channel.ts)', () => {
  it('writes the bytes of JSON.stringify, in order, for every kind of batch: rows by reference, records, another map generation, odd numbers', async () => {
    const registry = new IdentityRegistry(new IdentityMap(await loadOrgMap(join(FIXTURES, 'org-maps/veth.json')), 'all'));
    const files = [
      ...readdirSync(FIXTURES).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => join(FIXTURES, f)),
      ...['zeek/tcp', 'tcpdump'].flatMap((dir) => readdirSync(join(CORPUS, dir)).map((f) => join(CORPUS, dir, f))),
    ];
    const real: SessionBatch[] = [];
    await replay(files, { identifier: registry, onSessions: (b) => real.push(b.copy()) });
    const rows = real.reduce((n, b) => n + b.length, 0);
    expect(rows).toBeGreaterThan(400);
    expect(real.some((b) => b.idGeneration.subarray(0, b.length).some((g) => g === 0))).toBe(true);
    expect(real.some((b) => b.rowKind.subarray(0, b.length).some((k) => k === 2))).toBe(true); // IPv6

    const given = channelIdentity(registry); // generation 0's, as a replay starts
    expect(given?.generation).toBe(0);
    // Rows made from records (text in strings): encoded by the sender, passed as bytes.
    const records = new SessionBatch(8);
    for (const r of real[0]!.copy().records().slice(0, 8)) records.pushRecord(r);
    // Rows of a map generation the writer was not given (a reload mid-replay).
    registry.replace(new IdentityMap(await loadOrgMap(join(FIXTURES, 'org-maps/veth.json')), 'all'));
    const reloaded = real[0]!.copy();
    for (let i = 0; i < reloaded.length; i++) if (reloaded.idGeneration[i]! >= 0) reloaded.idGeneration[i] = 1;
    // Numbers the native writer leaves to JavaScript (on the writer's side, identity and all):
    // a start past its exact range, an end before the start.
    const odd = real[0]!.copy();
    odd.startUs[0] = 2 ** 53;
    odd.endUs[1] = odd.startUs[1]! - 1.5;
    const batches = [...real, records, ...real, reloaded, odd, ...real];
    expect(batches.length).toBeGreaterThan(16 + 3); // more than the regions: some wait in the queue

    const path = join(mkdtempSync(join(tmpdir(), 'netlog-json-channel-')), 'out.jsonl');
    const fd = openSync(path, 'w');
    const { sender, failures } = await throughChannel(batches, fd, registry, given);
    closeSync(fd);
    expect(failures).toEqual([]);
    expect(sender.closed).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe(expectedLines(batches));
  });

  it('a failed write (a full disk) is said once and closes the channel; the batches after it are let go, not waited for', async () => {
    const real: SessionBatch[] = [];
    await replay([join(FIXTURES, 'sessions-veth.pcap')], { onSessions: (b) => real.push(b.copy()) });
    const fd = openSync('/dev/full', 'w');
    const { sender, failures } = await throughChannel([...real, ...real, ...real], fd, null);
    closeSync(fd);
    expect(failures.map((e) => e.code)).toEqual(['ENOSPC']);
    expect(sender.closed).toBe(true);
  });
});
