#!/usr/bin/env node
import { Command } from 'commander';
import { decodeCommand } from './decode-command.js';

const program = new Command();
program
  .name('netlog')
  .description('Session log for zero-trust tunnels: one row per TCP/UDP session from live or recorded packets')
  .version('0.1.0');

program
  .command('decode')
  .description('read captures through the decoder and print packet counts by outcome (no sessions)')
  .argument('<files...>', 'pcap or pcapng files, gzip or not; - for standard input')
  .option('--json', 'one JSON object per file')
  .action(decodeCommand);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`netlog: ${(e as Error).message}\n`);
  process.exitCode = 2;
});
