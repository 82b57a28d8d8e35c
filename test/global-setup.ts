import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every scratch file of a test run under one directory, removed when the run ends: the tests
 * make their stores, captures and browser profiles with mkdtemp under os.tmpdir(), and a run
 * left about 2 GB of them in /tmp. TMPDIR set here reaches the test processes and, through
 * them, every netlog process a test starts.
 */
export function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'netlog-test-run-'));
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
