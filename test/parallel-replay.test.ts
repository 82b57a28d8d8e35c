import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, mkdtempSync, openSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORPUS, FIXTURES, ROOT } from './helpers.js';

const cli = join(ROOT, 'dist/src/cli/main.js');

/**
 * `netlog replay FILES` as it runs by default (decoding on a worker thread, the common packets
 * by the C++ addons) and with --single-thread; without either addon (--ts-decode, --ts-flow) it
 * must give the default's output too.
 */
function bothWays(files: string[], extra: string[] = []) {
  const run = (more: string[]) => spawnSync(process.execPath, [cli, 'replay', ...files, ...extra, ...more], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const parallel = run([]);
  for (const ts of ['--ts-decode', '--ts-flow']) {
    const without = run([ts]);
    expect(without.stdout).toBe(parallel.stdout);
    expect(without.stderr).toBe(parallel.stderr);
  }
  return { parallel, single: run(['--single-thread']) };
}

describe('replay with decoding on a worker thread', () => {
  it('gives the sessions, order, summary and errors of the one-thread replay: fixtures, as one replay', () => {
    const files = readdirSync(FIXTURES).filter((f) => /\.pcap(ng)?(\.gz)?$/.test(f)).map((f) => join(FIXTURES, f));
    // With an org map, the decoding thread also looks up new flows' identity (identity-ahead.ts).
    const orgMap = ['--org-map', join(FIXTURES, 'org-maps/site.json'), '--scope', 'all'];
    for (const extra of [['--format', 'jsonl'], ['--format', 'csv'], ['--format', 'jsonl', ...orgMap]]) {
      const { parallel, single } = bothWays(files, extra);
      expect(single.status).toBe(0);
      expect(parallel.stdout.length).toBeGreaterThan(1000);
      expect(parallel.stdout).toBe(single.stdout);
      expect(parallel.stderr).toBe(single.stderr);
      expect(parallel.status).toBe(single.status);
    }
  });

  it('the same over the tcpdump and Zeek corpora: truncated and corrupt files, warnings and all', () => {
    const veth = readFileSync(join(FIXTURES, 'sessions-veth.pcap'));
    const cut = join(mkdtempSync(join(tmpdir(), 'netlog-parallel-')), 'cut.pcap');
    writeFileSync(cut, veth.subarray(0, veth.length - 30));
    const files = ['tcpdump', 'zeek/tcp'].flatMap((dir) => readdirSync(join(CORPUS, dir)).map((f) => join(CORPUS, dir, f)));
    files.splice(100, 0, cut); // a broken file in the middle: the files after it are still read
    const { parallel, single } = bothWays(files, ['--udp-timeout', '10', '--org-map', join(FIXTURES, 'org-maps/veth.json'), '--scope', 'all']);
    // The corpora hold broken captures and link types netlog does not decode.
    expect(single.stderr).toMatch(/ERR_CAPTURE_TRUNCATED: .*cut\.pcap/);
    expect(single.stderr).toMatch(/ERR_CAPTURE_BAD_MAGIC/);
    expect(single.stderr).toMatch(/ERR_LINKTYPE_UNSUPPORTED/);
    expect(parallel.stdout.split('\n').length).toBeGreaterThan(500);
    expect(parallel.stdout).toBe(single.stdout);
    expect(parallel.stderr).toBe(single.stderr);
    expect(parallel.status).toBe(single.status);
  }, 60_000);

  it('a replay refused before it starts ends at once, its decoding thread started ahead (prestart.ts) or not', () => {
    for (const extra of [[], ['--single-thread']]) {
      const started = Date.now();
      const r = spawnSync(process.execPath, [cli, 'replay', '--max-flows', '0', ...extra, join(FIXTURES, 'tun-wireguard.pcap')], { encoding: 'utf8', timeout: 10_000 });
      expect(r.error).toBeUndefined(); // not killed by the timeout
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('ERR_CONFIG_INVALID: --max-flows must be at least 1');
      expect(Date.now() - started).toBeLessThan(5_000);
    }
  });

  it('a decoding thread that fails to load, or ends early, is an error with a failing status, not a silent exit', () => {
    // A copy of the build whose decoding thread is planted: Atomics.waitAsync, which the flow
    // table's thread waits on, does not hold the event loop, and such a replay once ended with
    // status 0 and no word.
    const copy = mkdtempSync(join(tmpdir(), 'netlog-bad-worker-'));
    cpSync(join(ROOT, 'dist'), join(copy, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    const worker = join(copy, 'dist/src/replay/decode-worker.js');
    for (const [planted, said] of [
      ["throw new Error('planted: no decoding today');", 'planted: no decoding today'],
      ['process.exit(3);', 'the decoding thread ended (exit code 3) before the captures were read'],
    ]) {
      writeFileSync(worker, planted);
      for (const extra of [[], ['--db', join(copy, 'n.duckdb')]]) {
        const r = spawnSync(process.execPath, [join(copy, 'dist/src/cli/main.js'), 'replay', '-q', ...extra, join(FIXTURES, 'tun-wireguard.pcap')], {
          encoding: 'utf8',
          timeout: 20_000,
        });
        expect(r.error).toBeUndefined(); // not killed by the timeout
        expect(r.stderr, planted).toContain(said);
        expect(r.status).not.toBe(0);
        expect(r.stdout).toBe('');
      }
    }
  });

  it('stdout closed by its reader (`| head`): the replay stops quietly with status 0; with --db every session is still stored', () => {
    const files = Array.from({ length: 300 }, () => join(FIXTURES, 'sessions-veth.pcap'));
    const dir = mkdtempSync(join(tmpdir(), 'netlog-epipe-'));
    const headed = (args: string) =>
      spawnSync('bash', ['-c', `node ${cli} replay ${args} ${files.join(' ')} 2>${dir}/err | head -c 100 > /dev/null; echo \${PIPESTATUS[0]}`], {
        encoding: 'utf8',
        timeout: 30_000,
      });
    for (const args of ['', '--single-thread']) {
      const r = headed(args);
      expect(r.error).toBeUndefined(); // not killed by the timeout
      expect(r.stdout.trim(), args).toBe('0');
      expect(readFileSync(join(dir, 'err'), 'utf8')).toBe(''); // no EPIPE stack, no summary
    }
    // The same replay read to the end: how many sessions there are.
    const all = spawnSync(process.execPath, [cli, 'replay', '-q', ...files], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const sessions = all.stdout.split('\n').length - 1;
    expect(sessions).toBeGreaterThan(3000);
    const db = join(dir, 'kept.duckdb');
    expect(headed(`-q --db ${db} --format jsonl`).stdout.trim()).toBe('0');
    const stored = spawnSync(process.execPath, [cli, 'sql', '--db', db, '-f', 'jsonl', 'SELECT count(*) AS n FROM sessions'], { encoding: 'utf8' });
    expect(JSON.parse(stored.stdout)).toEqual({ n: sessions });
  });

  it('stdout to a reader that falls behind: the decoding thread waits for it (EAGAIN on the pipe) and nothing is lost', () => {
    const files = Array.from({ length: 300 }, () => join(FIXTURES, 'sessions-veth.pcap')).join(' ');
    const sum = (replay: string) => spawnSync('bash', ['-c', `${replay} | (sleep 1; sha256sum)`], { encoding: 'utf8', timeout: 60_000 });
    const slow = sum(`node ${cli} replay -q ${files}`);
    const single = sum(`node ${cli} replay -q --single-thread ${files}`);
    expect(slow.error).toBeUndefined();
    expect(slow.stdout).toMatch(/^[0-9a-f]{64} /);
    expect(slow.stdout).toBe(single.stdout);
    // More than a pipe holds (64 KiB), so the writer had to wait.
    const size = spawnSync('bash', ['-c', `node ${cli} replay -q ${files} | wc -c`], { encoding: 'utf8' });
    expect(Number(size.stdout)).toBeGreaterThan(1 << 20);
  });

  it('stdout on a full disk: the write error ends the replay with a failing status, whichever thread writes (until 12-08 it was dropped, status 0)', () => {
    for (const args of [[], ['--single-thread'], ['--format', 'csv']]) {
      const full = openSync('/dev/full', 'w');
      const r = spawnSync(process.execPath, [cli, 'replay', '-q', ...args, join(FIXTURES, 'sessions-veth.pcap')], { encoding: 'utf8', stdio: ['ignore', full, 'pipe'], timeout: 20_000 });
      closeSync(full);
      expect(r.error).toBeUndefined();
      expect(r.stderr, args.join(' ')).toBe('netlog: ENOSPC: no space left on device, write\n');
      expect(r.status).toBe(2);
    }
  });
});
