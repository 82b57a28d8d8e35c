import { Command } from 'commander';
import { NetlogError } from '../errors.js';
import { CAPTURE_DEFAULTS, REPLAY_DEFAULTS, SERVE_DEFAULTS, withClickHouseOptions } from './command-options.js';
import { withFilterOptions } from './filter-options.js';
import type { ReplayCommandOptions } from './replay-command.js';

// Each command's module is loaded when it runs, not at start: DuckDB's bindings, zod, pino and
// the HTTP server cost 0.2 s to load, a replay to stdout needs none of them, and
// `netlog --help` none at all.
const replayCommand = lazy(() => import('./replay-command.js'), 'replayCommand');
const captureCommand = lazy(() => import('./capture-command.js'), 'captureCommand');
const compactCommand = lazy(() => import('./compact-command.js'), 'compactCommand');
const queryCommand = lazy(() => import('./query-commands.js'), 'queryCommand');
const exportCommand = lazy(() => import('./query-commands.js'), 'exportCommand');
const pruneCommand = lazy(() => import('./prune-command.js'), 'pruneCommand');
const sqlCommand = lazy(() => import('./sql-command.js'), 'sqlCommand');
const serveCommand = lazy(() => import('./serve-command.js'), 'serveCommand');
const apiKeyCreateCommand = lazy(() => import('./serve-command.js'), 'apiKeyCreateCommand');
const statusCommand = lazy(() => import('./status-command.js'), 'statusCommand');
const decodeCommand = lazy(() => import('./decode-command.js'), 'decodeCommand');
const clickhouseInitCommand = lazy(() => import('./clickhouse-options.js'), 'clickhouseInitCommand');
const clickhouseShipCommand = lazy(() => import('./clickhouse-options.js'), 'clickhouseShipCommand');
const clickhousePruneCommand = lazy(() => import('./clickhouse-options.js'), 'clickhousePruneCommand');

/** An action that loads `name` from its module when the command runs. */
function lazy<M, K extends keyof M>(load: () => Promise<M>, name: K) {
  type Action = M[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
  return (async (...args: unknown[]) => ((await load())[name] as (...a: unknown[]) => unknown)(...args)) as Action;
}

const program = new Command();
program
  .name('netlog')
  .description('Session log for zero-trust tunnels: one row per TCP/UDP session from live or recorded packets')
  .version('0.1.0');

withClickHouseOptions(program
  .command('replay')
  .description('replay captures at full speed and print one record per TCP/UDP session, in the order sessions end')
  .argument('<files...>', 'pcap or pcapng files, gzip or not; - for standard input')
  .option('-f, --format <format>', 'jsonl, csv or table', 'jsonl')
  .option('--max-flows <n>', 'flow table bound; the least recently active flow is recorded as evicted beyond it', REPLAY_DEFAULTS.maxFlows)
  .option('--tcp-established-timeout <s>', 'idle timeout of an established TCP connection', REPLAY_DEFAULTS.tcpEstablishedTimeout)
  .option('--tcp-transient-timeout <s>', 'idle timeout of TCP in handshake, half-open or closing', REPLAY_DEFAULTS.tcpTransientTimeout)
  .option('--udp-timeout <s>', 'idle timeout of a UDP exchange', REPLAY_DEFAULTS.udpTimeout)
  .option('--linger <s>', 'after FIN both ways or RST, how long late packets still join the session', REPLAY_DEFAULTS.linger)
  .option('--db <file>', 'append the sessions to this DuckDB store (stdout then only with --format)')
  .option('--org-map <file>', 'org map JSON: clients, users and site resources fill the ids and decide scope')
  .option('--scope <scope>', 'with --org-map: resources (client to resource), clients (from a client) or all', 'resources')
  .option('--retention-days <n>', "the org's retention (default: the org map's): 0 disables network logging")
  .option('--prune', 'after the replay, delete stored sessions older than --retention-days (never by default)')
  .option('--single-thread', 'decode on the same thread as the flow table (by default a worker thread decodes)')
  .option('--ts-decode', 'the decoding thread decodes every packet in TypeScript (by default C++ takes the common ones)')
  .option('--ts-flow', 'the flow table takes every packet in TypeScript (by default C++ takes those that neither open nor end a flow)')
  .option('-q, --quiet', 'no summary on stderr')
  .option('-v, --verbose', 'log each batch committed to the store'))
  .option('--clickhouse-drain-timeout <s>', 'with --clickhouse-url: wait this long at the end for the outbox to empty', '60')
  .action((files: string[], opts: ReplayCommandOptions, cmd: Command) =>
    replayCommand(files, { ...opts, formatGiven: cmd.getOptionValueSource('format') === 'cli' }),
  );

withClickHouseOptions(program
  .command('capture')
  .description('the site-host daemon: capture an interface with libpcap and record sessions to the store')
  .requiredOption('-i, --interface <name>', 'interface to capture (a WireGuard/TUN device, eth0, any)')
  .option('--filter <bpf>', 'BPF filter, as tcpdump takes it')
  .option('--snaplen <bytes>', 'bytes kept per packet (headers are enough: lengths come from IP)', CAPTURE_DEFAULTS.snaplen)
  .option('--buffer-size <bytes>', 'kernel capture buffer', CAPTURE_DEFAULTS.bufferSize)
  .option('--promisc', 'promiscuous mode (off by default)')
  .option('--db <file>', 'the DuckDB store', './netlog.duckdb')
  .option('--data-dir <dir>', "where Parquet days go (default: the db file's folder)")
  .option('--org-map <file>', 'org map JSON (reloaded on SIGHUP and when it changes)')
  .option('--scope <scope>', 'resources, clients or all', 'resources')
  .option('--retention-days <n>', "the org's retention (default: the org map's); 0 = capture nothing")
  .option('--max-flows <n>', 'flow table bound', REPLAY_DEFAULTS.maxFlows)
  .option('--tcp-established-timeout <s>', 'idle timeout, established TCP', REPLAY_DEFAULTS.tcpEstablishedTimeout)
  .option('--tcp-transient-timeout <s>', 'idle timeout, TCP handshake/half-open/closing', REPLAY_DEFAULTS.tcpTransientTimeout)
  .option('--udp-timeout <s>', 'idle timeout, UDP', REPLAY_DEFAULTS.udpTimeout)
  .option('--linger <s>', 'after FIN both ways or RST', REPLAY_DEFAULTS.linger)
  .option('--max-buffered <n>', 'while the store cannot be written (disk full), keep at most this many sessions in memory', '1000000')
  .option('--serve', 'also serve the HTTP API and the table (with live sessions and metrics) from this process')
  .option('--listen <addr>', 'with --serve: host:port to listen on', SERVE_DEFAULTS.listen)
  .option('--api-keys <file>', 'with --serve: the API key file (netlog api-key create)')
  .option('--query-timeout <s>', 'with --serve: stop an API query that runs longer', SERVE_DEFAULTS.queryTimeout))
  .action(captureCommand);

const clickhouse = program.command('clickhouse').description('ship sessions to ClickHouse (see README: Scale out)');
withClickHouseOptions(clickhouse.command('init').description('create the database and the sessions table (MergeTree by day; TTL where the server has it)'), true)
  .option('--retention-days <n>', 'TTL in days (0 or absent: none)')
  .action(clickhouseInitCommand);
withClickHouseOptions(clickhouse.command('ship').description("send what waits in a store's outbox, then exit (1 if some could not go)"), true)
  .option('--db <file>', 'the DuckDB store', './netlog.duckdb')
  .option('--timeout <s>', 'give up after this long; the rest stays in the outbox', '60')
  .action(clickhouseShipCommand);
withClickHouseOptions(clickhouse.command('prune').description('drop day partitions older than the retention (for servers without table TTL)'), true)
  .requiredOption('--retention-days <n>', 'keep this many days')
  .action(clickhousePruneCommand);

program
  .command('status')
  .description('what the capture daemon writing this store reports: packets, kernel drops, flows, sessions (exit 3 when not running)')
  .option('--db <file>', 'the DuckDB store the daemon writes', './netlog.duckdb')
  .option('--json', 'the figures as one JSON object')
  .action(statusCommand);

program
  .command('serve')
  .description('serve the HTTP API and the network-logs table over a store (read-only; to read a store a capture is writing, use capture --serve)')
  .option('--db <file>', 'the DuckDB store', './netlog.duckdb')
  .requiredOption('--api-keys <file>', 'the API key file (netlog api-key create)')
  .option('--org-map <file>', 'org map whose client, user and resource names the API adds (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
  .option('--listen <addr>', 'host:port to listen on', SERVE_DEFAULTS.listen)
  .option('--query-timeout <s>', 'stop an API query that runs longer', SERVE_DEFAULTS.queryTimeout)
  .action(serveCommand);

program
  .command('api-key')
  .description('manage API keys')
  .command('create')
  .description('make a key for an org, add its SHA-256 to the key file, print the key once')
  .requiredOption('--org <orgId>', 'the org the key reads')
  .requiredOption('--api-keys <file>', 'the key file (created with mode 0600 if absent)')
  .option('--name <text>', 'what the key is for')
  .action(apiKeyCreateCommand);

withFilterOptions(program.command('query').description('sessions from the store, newest first, filtered'))
  .option('--limit <n>', 'page size', '100')
  .option('--offset <n>', 'sessions to skip', '0')
  .option('-f, --format <format>', 'table, jsonl or csv', 'table')
  .action(queryCommand);

withFilterOptions(program.command('export').description('every session the filters select, to CSV (streamed, no row cap) or Parquet'))
  .option('-f, --format <format>', 'csv or parquet', 'csv')
  .requiredOption('-o, --out <file>', 'the file to write (- for stdout with csv)')
  .action(exportCommand);

program
  .command('compact')
  .description('move closed days from the sessions table to Parquet day partitions (DATA_DIR/sessions/date=YYYY-MM-DD)')
  .option('--db <file>', 'the DuckDB store', './netlog.duckdb')
  .option('--data-dir <dir>', "where the partitions go (default: the db file's folder)")
  .option('--before <day>', 'compact sessions that started before this UTC day (default: today)')
  .action(compactCommand);

program
  .command('prune')
  .description('delete sessions older than the retention period, from the table and the Parquet days')
  .requiredOption('--retention-days <n>', 'keep this many days (0: logging disabled, nothing pruned)')
  .option('--db <file>', 'the DuckDB store', './netlog.duckdb')
  .option('--data-dir <dir>', "where the partitions are (default: the db file's folder)")
  .option('--now <time>', 'measure against this ISO 8601 time instead of the wall clock')
  .action(pruneCommand);

program
  .command('sql')
  .description('run read-only SQL over the session store (view sessions_all: the table and its Parquet days)')
  .argument('<query>', 'one SQL statement, e.g. "SELECT protocol, count(*) FROM sessions GROUP BY 1"')
  .option('--db <file>', 'the DuckDB store', './netlog.duckdb')
  .option('-f, --format <format>', 'table, jsonl or csv', 'table')
  .action(sqlCommand);

program
  .command('decode')
  .description('read captures through the decoder and print packet counts by outcome (no sessions)')
  .argument('<files...>', 'pcap or pcapng files, gzip or not; - for standard input')
  .option('--json', 'one JSON object per file')
  .action(decodeCommand);

program.parseAsync(process.argv).catch((e: unknown) => {
  const code = e instanceof NetlogError ? `${e.code}: ` : '';
  process.stderr.write(`netlog: ${code}${(e as Error).message}\n`);
  process.exitCode = 2;
});
