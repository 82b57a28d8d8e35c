import type { Command } from 'commander';
import { DEFAULT_SNAPLEN } from '../capture/live-source.js';
import { DEFAULT_MAX_FLOWS, DEFAULT_TIMEOUTS } from '../flow/flow-tracker.js';

/*
 * Option defaults and option sets that several commands share. They live apart from the
 * commands, which main.ts loads only when one runs: `netlog --help` or a replay to stdout then
 * never loads DuckDB, zod or the HTTP server (0.27 s of start-up before, see main.ts).
 */

export const REPLAY_DEFAULTS = {
  maxFlows: String(DEFAULT_MAX_FLOWS),
  tcpEstablishedTimeout: String(DEFAULT_TIMEOUTS.tcpEstablishedS),
  tcpTransientTimeout: String(DEFAULT_TIMEOUTS.tcpTransientS),
  udpTimeout: String(DEFAULT_TIMEOUTS.udpS),
  linger: String(DEFAULT_TIMEOUTS.lingerS),
};

export const CAPTURE_DEFAULTS = { snaplen: String(DEFAULT_SNAPLEN), bufferSize: String(32 * 1024 * 1024) };

export const SERVE_DEFAULTS = { listen: '127.0.0.1:8080', queryTimeout: '10' };

export function withClickHouseOptions(cmd: Command, required = false): Command {
  const url = ['--clickhouse-url <url>', "ClickHouse's HTTP interface (e.g. http://127.0.0.1:8123): also ship every stored session there"] as const;
  return (required ? cmd.requiredOption(...url) : cmd.option(...url))
    .option('--clickhouse-database <name>', 'ClickHouse database', 'netlog')
    .option('--clickhouse-table <name>', 'ClickHouse table', 'sessions')
    .option('--clickhouse-user <name>', 'ClickHouse user', 'default')
    .option('--clickhouse-password-file <file>', 'file holding the password (else $NETLOG_CLICKHOUSE_PASSWORD)');
}
