import type { Command } from 'commander';

/** The session filters shared by `netlog query` and `netlog export` (and, with these names, the API). */
export function withFilterOptions(cmd: Command): Command {
  return cmd
    .option('--db <file>', 'the DuckDB store', './netlog.duckdb')
    .option('--since <time>', 'sessions that started at or after: ISO 8601, or a span back from now (30m, 24h, 7d)')
    .option('--until <time>', 'sessions that started at or before: ISO 8601 or a span')
    .option('--protocol <tcp|udp>', 'transport')
    .option('--client <id>', 'clientId')
    .option('--user <id>', 'userId')
    .option('--resource <id>', 'siteResourceId')
    .option('--site <id>', 'siteId')
    .option('--src <addr>', 'source: an address, ip:port, [v6]:port or an IPv4 CIDR')
    .option('--dst <addr>', 'destination, likewise');
}
