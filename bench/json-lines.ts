/**
 * JSON lines alone: the capture's sessions (with an org map: scope all, every row with ids),
 * copied out of a replay, then encoded by JsonLineEncoder as `netlog replay --format jsonl`
 * writes them, with the native row writer (native/netlog_json.cc) or in JavaScript only.
 * One process encodes them seven times, each with a fresh encoder: the first pass is what a
 * replay pays (text of each client and resource made, code compiled), the rest are warm.
 *   node dist/bench/json-lines.js FILE [ORG_MAP] [--js]
 */
import { createHash } from 'node:crypto';
import type { SessionBatch } from '../src/flow/session-batch.js';
import { JsonLineEncoder, nativeJsonLoaded } from '../src/format/session-json.js';
import { IdentityMap } from '../src/identity/identity-map.js';
import { IdentityRegistry } from '../src/identity/identity-registry.js';
import { loadOrgMap } from '../src/identity/org-map.js';
import { replay } from '../src/replay/replay.js';

const args = process.argv.slice(2);
const native = !args.includes('--js');
const [file, orgMap] = args.filter((a) => !a.startsWith('--')) as [string, string | undefined];
if (native && !nativeJsonLoaded()) throw new Error('the netlog_json addon is not built (npm ci builds it)');
const identifier = orgMap ? new IdentityRegistry(new IdentityMap(await loadOrgMap(orgMap), 'all')) : undefined;
const batches: SessionBatch[] = [];
await replay([file], { identifier, onSessions: (b) => batches.push(b.copy()) });
const rows = batches.reduce((n, b) => n + b.length, 0);
const passes: number[] = [];
let bytes = 0;
let digest = '';
for (let pass = 0; pass < 7; pass++) {
  const encoder = new JsonLineEncoder({ native });
  const hash = pass === 0 ? createHash('sha256') : null;
  const start = process.hrtime.bigint();
  bytes = 0;
  for (const b of batches) {
    encoder.encode(b);
    for (const chunk of encoder.take()) {
      bytes += chunk.length;
      hash?.update(chunk);
      encoder.recycle(chunk);
    }
  }
  passes.push(Number(process.hrtime.bigint() - start) / 1e9);
  if (hash) digest = hash.digest('hex');
}
const warm = [...passes.slice(1)].sort((a, b) => a - b)[3]!;
process.stdout.write(
  JSON.stringify({
    writer: native ? 'native' : 'javascript',
    map: orgMap !== undefined,
    sessions: rows,
    bytes,
    sha256: digest,
    seconds: passes[0],
    warmSeconds: warm,
    nsPerRowFirst: (passes[0]! / rows) * 1e9,
    nsPerRowWarm: (warm / rows) * 1e9,
    packets: 0,
    packetsPerSecond: 0,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  }) + '\n',
);
