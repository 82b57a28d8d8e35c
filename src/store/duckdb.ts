import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * @duckdb/node-api and its bindings, loaded with require(). Both are CommonJS, and an ESM
 * `import` of a CommonJS package first scans every one of its modules (124 here) for named
 * exports with cjs-module-lexer: `import('@duckdb/node-api')` took 94-103 ms against 46-56 ms
 * for `require` (three runs each), paid by every process that opens a database.
 *
 * The build bundles node-api's 124 modules into one file (`npm run bundle-duckdb`, esbuild;
 * the native bindings stay outside it), which loads in 22-24 ms against 46-71 ms (three runs
 * each): on the thread that runs a replay's flow table, which that time held up, `replay --db`
 * of bench:peers' real capture went 0.84-0.91 -> 0.77-0.87 s (six alternating rounds). Where
 * the bundle is not built (the sources run by vitest), the package itself.
 * Types come from `import type`, which loads nothing.
 */
const require = createRequire(import.meta.url);
const bundle = fileURLToPath(new URL('../../vendor/duckdb-node-api.cjs', import.meta.url));
export const duckdbApi = require(existsSync(bundle) ? bundle : '@duckdb/node-api') as typeof import('@duckdb/node-api');
export const duckdbBindings = require('@duckdb/node-bindings') as typeof import('@duckdb/node-bindings');
