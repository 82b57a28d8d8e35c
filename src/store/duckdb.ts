import { createRequire } from 'node:module';

/**
 * @duckdb/node-api and its bindings, loaded with require(). Both are CommonJS, and an ESM
 * `import` of a CommonJS package first scans every one of its modules (124 here) for named
 * exports with cjs-module-lexer: `import('@duckdb/node-api')` took 94-103 ms against 46-56 ms
 * for `require` (three runs each), paid by every process that opens a database.
 * Types come from `import type`, which loads nothing.
 */
const require = createRequire(import.meta.url);
export const duckdbApi = require('@duckdb/node-api') as typeof import('@duckdb/node-api');
export const duckdbBindings = require('@duckdb/node-bindings') as typeof import('@duckdb/node-bindings');
