#!/usr/bin/env node
/**
 * netlog's entry point. `netlog replay` of files starts its decoding thread before anything
 * else loads (prestart.ts: the thread's start-up then overlaps the command's), then the
 * command line is parsed and run (program.ts).
 */
import { prestartDecodeWorker } from '../replay/prestart.js';

const args = process.argv.slice(2);
if (args[0] === 'replay' && !args.includes('--single-thread') && !args.includes('-')) prestartDecodeWorker();
await import('./program.js');
