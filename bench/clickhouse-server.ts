import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's clickhouse-server, when installed (.ci/run installs it). */
export const CLICKHOUSE_SERVER = '/usr/sbin/clickhouse-server';
export const hasClickHouse = () => spawnSync('sh', ['-c', `test -x ${CLICKHOUSE_SERVER}`]).status === 0;

export const CH_USER = 'netlog';
export const CH_PASSWORD = 'test-password';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A ClickHouse server of the test's own: its own data directory, ports and a password user,
 * on 127.0.0.1 only. `stop` and `start` again keep the data (the fault test's outage).
 */
export class TestClickHouse {
  private child: ChildProcess | null = null;
  readonly url: string;

  private constructor(
    readonly dir: string,
    readonly httpPort: number,
  ) {
    this.url = `http://127.0.0.1:${httpPort}`;
  }

  static async create(): Promise<TestClickHouse> {
    const dir = mkdtempSync(join(tmpdir(), 'netlog-clickhouse-'));
    const [http, tcp, interserver] = [await freePort(), await freePort(), await freePort()];
    for (const d of ['data', 'tmp', 'user_files', 'format_schemas']) mkdirSync(join(dir, d));
    writeFileSync(
      join(dir, 'users.xml'),
      `<yandex>
  <profiles><default/></profiles>
  <users><${CH_USER}><password>${CH_PASSWORD}</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></${CH_USER}></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>\n`,
    );
    writeFileSync(
      join(dir, 'config.xml'),
      `<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/server.err.log</errorlog><console>0</console></logger>
  <http_port>${http}</http_port><tcp_port>${tcp}</tcp_port><interserver_http_port>${interserver}</interserver_http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path><tmp_path>${dir}/tmp/</tmp_path><user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile><default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>\n`,
    );
    const server = new TestClickHouse(dir, http);
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    this.child = spawn(CLICKHOUSE_SERVER, [`--config-file=${join(this.dir, 'config.xml')}`], { stdio: 'ignore' });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await fetch(`${this.url}/ping`)).ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`clickhouse-server did not start; see ${this.dir}/server.err.log`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    this.child = null;
  }

  /** One statement as the netlog user; the answer's text. */
  async query(sql: string): Promise<string> {
    const res = await fetch(`${this.url}/?output_format_json_quote_64bit_integers=0`, {
      method: 'POST',
      headers: { Authorization: 'Basic ' + Buffer.from(`${CH_USER}:${CH_PASSWORD}`).toString('base64') },
      body: sql,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`ClickHouse ${res.status}: ${text}`);
    return text;
  }
}
