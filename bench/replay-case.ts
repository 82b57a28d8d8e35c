/**
 * End-to-end replay in its own process: read → decode → flow table → JSON lines to /dev/null,
 * through the same SessionWriter the CLI uses; with an org map (scope all), identity too.
 * Decoding runs on a worker thread, as in `netlog replay`, unless --single-thread is given.
 * As `netlog replay` does (src/cli/main.ts, prestart.ts), the decoding thread is started
 * before the rest loads, so its start-up overlaps the loading; --cold-worker starts it at the
 * replay() call instead, as a program calling replay() without prestarting gets it. The clock
 * runs from the replay() call to its end.
 *   node dist/bench/replay-case.js FILE [ORG_MAP] [--single-thread] [--cold-worker] [--json-here]
 */
import { prestartDecodeWorker } from '../src/replay/prestart.js';

const args = process.argv.slice(2);
const parallel = !args.includes('--single-thread');
if (parallel && !args.includes('--cold-worker')) prestartDecodeWorker();
const [file, orgMap] = args.filter((a) => !a.startsWith('--')) as [string, string | undefined];

const { openSync, writeSync } = await import('node:fs');
const { Writable } = await import('node:stream');
const { SessionWriter } = await import('../src/cli/session-writer.js');
const { IdentityMap } = await import('../src/identity/identity-map.js');
const { IdentityRegistry } = await import('../src/identity/identity-registry.js');
const { loadOrgMap } = await import('../src/identity/org-map.js');
const { replay } = await import('../src/replay/replay.js');

const identifier = orgMap ? new IdentityRegistry(new IdentityMap(await loadOrgMap(orgMap), 'all')) : undefined;
// As `netlog replay > /dev/null` finds its stdout: a descriptor open at once, written
// synchronously (Node's stdout on a file), so the decoding thread may write the JSON lines
// (json-channel.ts) as it does for the CLI; --json-here keeps them on this thread. (Until
// 12-08 this was an asynchronous fs stream, slower than the CLI's: 0.486 s against 0.428 s
// for the same replay of 49c274a, scratch medians.)
const fd = openSync('/dev/null', 'w');
const out = Object.assign(
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      writeSync(fd, chunk);
      done();
    },
  }),
  { fd },
);
const writer = new SessionWriter(out, 'jsonl');
const jsonLines = args.includes('--json-here') ? undefined : (writer.jsonLinesTarget() ?? undefined);
const start = process.hrtime.bigint();
const { reports } = await replay([file], { identifier, parallel, jsonLines, onSessions: writer.write, afterBatch: writer.drain });
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
