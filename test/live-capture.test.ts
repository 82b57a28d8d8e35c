import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/api/api-keys.js';
import { runReadOnlySql } from '../src/store/sql-query.js';
import { FIXTURES, ROOT } from './helpers.js';

/**
 * `netlog capture` on the site side of a real WireGuard tunnel (test/net/wg-site.sh: two
 * namespaces, veth, wireguard-go), as on a Pangolin site; real curl, UDP and a refused
 * connection through the tunnel; the sessions checked in DuckDB. Needs root and the tools,
 * which .ci/run installs; elsewhere the suite is skipped and says why.
 */
const tools = ['ip', 'wireguard-go', 'wg', 'curl', 'python3'];
const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const root = process.getuid?.() === 0;
const why = !root ? 'not root' : missing.length ? `missing ${missing.join(', ')}` : null;
if (why) console.log(`live capture tests skipped: ${why}`);

const id = String(process.pid % 100000);
const script = join(ROOT, 'test/net/wg-site.sh');
const cli = join(ROOT, 'dist/src/cli/main.js');
const tmp = mkdtempSync(join(tmpdir(), 'netlog-live-'));
let env: Record<string, string> = {};

const inClient = (...args: string[]) => execFileSync('ip', ['netns', 'exec', env.CLIENT_NS!, ...args], { encoding: 'utf8' });

interface Daemon {
  child: ChildProcess;
  lines: Array<Record<string, unknown> & { msg: string; at: number }>;
  waitFor(pred: (l: Daemon['lines'][number]) => boolean, ms: number): Promise<Daemon['lines'][number]>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startCapture(db: string, orgMap: string, more: string[] = []): Daemon {
  const child = spawn('ip', ['netns', 'exec', env.SITE_NS!, process.execPath, cli, 'capture', '-i', env.SITE_IF!, '--db', db, '--org-map', orgMap, ...more], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: Daemon['lines'] = [];
  const waiters: Array<() => void> = [];
  let rest = '';
  child.stderr!.on('data', (d: Buffer) => {
    rest += d.toString();
    const parts = rest.split('\n');
    rest = parts.pop()!;
    for (const p of parts) {
      try {
        lines.push({ ...JSON.parse(p), at: Date.now() });
      } catch {
        lines.push({ msg: p, at: Date.now() });
      }
    }
    waiters.splice(0).forEach((w) => w());
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    lines,
    exit,
    async waitFor(pred, ms) {
      const deadline = Date.now() + ms;
      for (;;) {
        const hit = lines.find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`timed out; daemon said: ${lines.map((l) => l.msg).join(' | ')}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
  };
}

describe.skipIf(why !== null)('live capture over a real WireGuard tunnel', () => {
  const orgMap = join(tmp, 'org.json');
  beforeAll(() => {
    const out = execFileSync('bash', [script, 'up', id], { encoding: 'utf8' });
    env = Object.fromEntries(out.trim().split('\n').pop()!.split(' ').map((kv) => kv.split('=') as [string, string]));
    writeFileSync(
      orgMap,
      JSON.stringify({
        orgId: 'org_live',
        siteId: 2,
        retentionDays: 30,
        clientSubnet: '100.90.128.0/24',
        clients: [{ clientId: 7, userId: 'user_live', addresses: ['100.90.128.2', 'fd90::2'] }],
        siteResources: [
          { siteResourceId: 101, mode: 'host', destination: '100.90.128.1', protocol: 'tcp', ports: '8080' },
          { siteResourceId: 103, mode: 'cidr', destination: '100.90.128.0/30', protocol: 'udp', ports: '5353' },
          { siteResourceId: 104, mode: 'host', destination: '100.90.128.1', protocol: 'tcp', ports: '9' },
        ],
      }),
    );
  }, 60_000);
  afterAll(() => {
    execFileSync('bash', [script, 'down', id]);
  });

  it('records what the programs sent, with ids and end reasons; serves live sessions, logs, metrics and status; SIGTERM ends open flows as shutdown', async () => {
    const db = join(tmp, 'live.duckdb');
    const keyFile = join(tmp, 'keys.json');
    const key = await createApiKey(keyFile, 'org_live');
    const d = startCapture(db, orgMap, ['--serve', '--listen', '127.0.0.1:18080', '--api-keys', keyFile]);
    // The API listens inside the site namespace: ask it from there.
    const ask = (path: string) =>
      execFileSync('ip', ['netns', 'exec', env.SITE_NS!, 'curl', '-sS', '-H', `Authorization: Bearer ${key}`, `http://127.0.0.1:18080${path}`], { encoding: 'utf8' });
    const status = () => spawnSync(process.execPath, [cli, 'status', '--db', db], { encoding: 'utf8' });
    try {
      await d.waitFor((l) => l.msg === 'capture started', 10_000);
      const [request, header, body] = inClient('curl', '-s', '-o', '/dev/null', '-w', '%{size_request} %{size_header} %{size_download}', 'http://100.90.128.1:8080/blob10k').split(' ').map(Number);
      inClient('python3', join(FIXTURES, 'udp-peer.py'), 'ask', '100.90.128.1', '5353', '3', '100');
      spawnSync('ip', ['netns', 'exec', env.CLIENT_NS!, 'curl', '-s', '--max-time', '2', 'http://100.90.128.1:9/']);
      const sent = Date.now();
      // The HTTP and refused sessions end by FIN and RST: in the store within the linger (1 s),
      // the wall-clock expiry tick (1 s) and the flush interval (1 s).
      const commit = await d.waitFor((l) => l.msg === 'sessions committed' && (l.total as number) >= 2, 10_000);
      expect(commit.at - sent).toBeLessThan(3500);

      // While it runs: the UDP exchange is still open (live), the other two are stored.
      await d.waitFor((l) => l.msg === 'API and table served', 1000);
      const live = JSON.parse(ask('/v1/org/org_live/logs/network/live')).data;
      expect(live.log).toHaveLength(1);
      expect(live.log[0]).toMatchObject({ protocol: 'udp', destAddr: '100.90.128.1:5353', duration: null, bytesTx: 300, bytesRx: 600, clientId: 7 });
      const stored = JSON.parse(ask('/v1/org/org_live/logs/network?timeStart=1h')).data;
      expect(stored.log.map((r: { destAddr: string }) => r.destAddr).sort()).toEqual(['100.90.128.1:8080', '100.90.128.1:9']);
      const metrics = ask('/metrics');
      expect(Number(/^netlog_packets_total (\d+)$/m.exec(metrics)![1])).toBeGreaterThan(20);
      expect(metrics).toMatch(/^netlog_flows_open 1$/m);
      expect(metrics).toMatch(/^netlog_sessions_ended_total\{reason="fin"\} 1$/m);
      expect(metrics).toMatch(/^netlog_pcap_dropped_total\{where="kernel"\} 0$/m);
      expect(Number(/^netlog_db_flush_seconds_count (\d+)$/m.exec(metrics)![1])).toBeGreaterThanOrEqual(1);
      await new Promise((r) => setTimeout(r, 5500)); // the status file is rewritten every 5 s
      const running = status();
      expect(running.status).toBe(0);
      expect(running.stdout).toMatch(new RegExp(`^netlog capture on ${env.SITE_IF} into .*: running \\(pid \\d+\\)`));
      expect(running.stdout).toMatch(/^sessions   2 written; ended: fin 1, rst 1; out of scope 0$/m);
      expect(running.stdout).toMatch(/dropped 0 \(kernel\)/);

      d.child.kill('SIGTERM');
      expect(await d.exit).toEqual({ code: 0, signal: null });
      const stopped = status();
      expect(stopped.status).toBe(3);
      expect(stopped.stdout).toMatch(/: stopped at /);
      expect(stopped.stdout).toMatch(/^sessions   3 written; ended: fin 1, rst 1, shutdown 1/m);

      const { rows } = await runReadOnlySql(
        db,
        `SELECT protocol, "sourceAddr", "destAddr", "bytesTx", "bytesRx", "packetsTx", state, "endReason",
                "clientId", "userId", "siteResourceId", "orgId", "siteId" FROM sessions_all ORDER BY "siteResourceId"`,
      );
      expect(rows).toHaveLength(3);
      const [http, udp, refused] = rows;
      expect(http).toMatchObject({ protocol: 'tcp', destAddr: '100.90.128.1:8080', bytesTx: request, bytesRx: header! + body!, state: 'SF', endReason: 'fin', siteResourceId: 101 });
      expect(body).toBe(10_000);
      expect(http!.sourceAddr).toMatch(/^100\.90\.128\.2:\d+$/);
      expect(udp).toMatchObject({ protocol: 'udp', destAddr: '100.90.128.1:5353', bytesTx: 300, bytesRx: 600, packetsTx: 3, state: 'SF', endReason: 'shutdown', siteResourceId: 103 });
      expect(refused).toMatchObject({ protocol: 'tcp', destAddr: '100.90.128.1:9', state: 'REJ', endReason: 'rst', siteResourceId: 104 });
      for (const r of rows) expect(r).toMatchObject({ clientId: 7, userId: 'user_live', orgId: 'org_live', siteId: 2 });
    } finally {
      d.child.kill('SIGKILL');
    }
  }, 60_000);

  it('after SIGKILL the database opens and holds every committed session', async () => {
    const db = join(tmp, 'killed.duckdb');
    const d = startCapture(db, orgMap);
    try {
      await d.waitFor((l) => l.msg === 'capture started', 10_000);
      for (let i = 0; i < 5; i++) inClient('curl', '-s', '-o', '/dev/null', 'http://100.90.128.1:8080/blob10k');
      const commit = await d.waitFor((l) => l.msg === 'sessions committed' && (l.total as number) >= 5, 10_000);
      d.child.kill('SIGKILL');
      expect((await d.exit).signal).toBe('SIGKILL');
      const { rows } = await runReadOnlySql(db, 'SELECT count(*) AS n FROM sessions_all');
      expect(rows[0]!.n).toBeGreaterThanOrEqual(commit.total as number);
    } finally {
      d.child.kill('SIGKILL');
    }
  }, 60_000);
});
