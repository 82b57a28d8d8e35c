/**
 * The API over a large store: `node dist/bench/api-latency.js DB [REQUESTS]`.
 * Serves DB read-only on a loopback port, then
 *  - asks for REQUESTS filtered pages one after another (a client, a protocol, a 3-day range,
 *    100 rows, with filterAttributes; the client varies so no two answers are the same) and
 *    reports p50/p99/max latency as the client sees it;
 *  - downloads the CSV export of every session with curl (a separate process) and reports
 *    rows/s and the server's peak RSS.
 * Prints one JSON line.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKey, loadApiKeys } from '../src/api/api-keys.js';
import { OrgDirectory } from '../src/api/org-directory.js';
import { createApiApp, startApi } from '../src/api/server.js';
import { StoreReader } from '../src/api/store-reader.js';

const [db, requestsArg] = process.argv.slice(2) as [string, string | undefined];
const REQUESTS = Number(requestsArg ?? 200);
const ORG = 'org-1'; // what store-scale.ts make writes
const keyDir = mkdtempSync(join(tmpdir(), 'netlog-bench-api-'));
const keyFile = join(keyDir, 'keys.json');
process.on('exit', () => rmSync(keyDir, { recursive: true, force: true }));
const key = await createApiKey(keyFile, ORG);
const reader = await StoreReader.openReadOnly(db, 60_000);
const api = await startApi(createApiApp({ reader, keys: await loadApiKeys(keyFile), directory: new OrgDirectory(() => []) }), '127.0.0.1', 0);
const headers = { Authorization: `Bearer ${key}` };

const latencies: number[] = [];
let matched = 0;
for (let i = 0; i < REQUESTS; i++) {
  const q = `clientId=${(i * 7919) % 20000}&protocol=tcp&timeStart=2026-11-12T00:00:00Z&timeEnd=2026-11-15T00:00:00Z&limit=100`;
  const t = performance.now();
  const res = await fetch(`${api.url}/v1/org/${ORG}/logs/network?${q}`, { headers });
  const body = (await res.json()) as { data: { pagination: { total: number } } };
  latencies.push(performance.now() - t);
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  matched += body.data.pagination.total;
}
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;

// Export: curl pulls the whole CSV; the server streams it chunk by chunk. (Async: the server
// runs on this process's event loop.)
const out = join(tmpdir(), `netlog-bench-export-${process.pid}.csv`);
const rssBefore = process.resourceUsage().maxRSS;
const t = performance.now();
const { stdout: curl } = await promisify(execFile)('curl', ['-sS', '-o', out, '-w', '%{size_download} %{http_code}', '-H', `Authorization: Bearer ${key}`, `${api.url}/v1/org/${ORG}/logs/network/export?timeStart=2020-01-01T00:00:00Z`], {
  encoding: 'utf8',
  maxBuffer: 1 << 20,
});
const exportSeconds = (performance.now() - t) / 1000;
const exportRows = Number(execFileSync('wc', ['-l', out], { encoding: 'utf8' }).split(' ')[0]) - 1;
execFileSync('rm', ['-f', out]);
await api.close();
reader.close();
process.stdout.write(
  JSON.stringify({
    requests: REQUESTS,
    p50Ms: pct(50),
    p99Ms: pct(99),
    maxMs: latencies[latencies.length - 1],
    meanTotal: matched / REQUESTS,
    exportRows,
    exportBytes: Number(curl.split(' ')[0]),
    exportStatus: curl.split(' ')[1],
    exportSeconds,
    exportRowsPerSecond: exportRows / exportSeconds,
    peakRssMiBBeforeExport: rssBefore / 1024,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  }) + '\n',
);
