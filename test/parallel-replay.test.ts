import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORPUS, FIXTURES, ROOT } from './helpers.js';

const cli = join(ROOT, 'dist/src/cli/main.js');

/** `netlog replay FILES` as it runs by default (decoding on a worker thread) and with --single-thread. */
function bothWays(files: string[], extra: string[] = []) {
  const run = (more: string[]) => spawnSync(process.execPath, [cli, 'replay', ...files, ...extra, ...more], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return { parallel: run([]), single: run(['--single-thread']) };
}

describe('replay with decoding on a worker thread', () => {
  it('gives the sessions, order, summary and errors of the one-thread replay: fixtures, as one replay', () => {
    const files = readdirSync(FIXTURES).filter((f) => /\.pcap(ng)?(\.gz)?$/.test(f)).map((f) => join(FIXTURES, f));
    for (const format of ['jsonl', 'csv']) {
      const { parallel, single } = bothWays(files, ['--format', format]);
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
    const { parallel, single } = bothWays(files, ['--udp-timeout', '10']);
    // The corpora hold broken captures and link types netlog does not decode.
    expect(single.stderr).toMatch(/ERR_CAPTURE_TRUNCATED: .*cut\.pcap/);
    expect(single.stderr).toMatch(/ERR_CAPTURE_BAD_MAGIC/);
    expect(single.stderr).toMatch(/ERR_LINKTYPE_UNSUPPORTED/);
    expect(parallel.stdout.split('\n').length).toBeGreaterThan(500);
    expect(parallel.stdout).toBe(single.stdout);
    expect(parallel.stderr).toBe(single.stderr);
    expect(parallel.status).toBe(single.status);
  }, 60_000);

  it('a reader that goes away (stdout closed) ends the replay; the decoding thread does not keep it alive', () => {
    const files = Array.from({ length: 300 }, () => join(FIXTURES, 'sessions-veth.pcap'));
    const r = spawnSync('sh', ['-c', `node ${cli} replay ${files.join(' ')} | head -c 100 > /dev/null`], { encoding: 'utf8', timeout: 30_000 });
    expect(r.error).toBeUndefined(); // not killed by the timeout
  });
});
