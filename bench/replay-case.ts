/**
 * End-to-end replay in its own process: read → decode → flow table → JSON lines to /dev/null,
 * through the same SessionWriter the CLI uses; with an org map (scope all), identity too.
 * Decoding runs on a worker thread, as in `netlog replay`, unless --single-thread is given.
 *   node dist/bench/replay-case.js FILE [ORG_MAP] [--single-thread]
 */
import { createWriteStream } from 'node:fs';
import { SessionWriter } from '../src/cli/session-writer.js';
import { IdentityMap } from '../src/identity/identity-map.js';
import { IdentityRegistry } from '../src/identity/identity-registry.js';
import { loadOrgMap } from '../src/identity/org-map.js';
import { replay } from '../src/replay/replay.js';

const args = process.argv.slice(2);
const parallel = !args.includes('--single-thread');
const [file, orgMap] = args.filter((a) => a !== '--single-thread') as [string, string | undefined];
const identifier = orgMap ? new IdentityRegistry(new IdentityMap(await loadOrgMap(orgMap), 'all')) : undefined;
const out = createWriteStream('/dev/null');
const writer = new SessionWriter(out, 'jsonl');
const start = process.hrtime.bigint();
const { reports } = await replay([file], { identifier, parallel, onSessions: writer.write, afterBatch: writer.drain });
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const packets = reports[0]!.packets;
out.end();
process.stdout.write(
  JSON.stringify({
    packets,
    sessions: writer.count,
    seconds,
    packetsPerSecond: packets / seconds,
    sessionsPerSecond: writer.count / seconds,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  }) + '\n',
);
