import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * An addon of native/ (built by `npm ci` through node-gyp), found from src/ or dist/src/ and
 * loaded once; null when it is not built.
 */
export function loadAddon<T>(name: string): T | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    const file = join(dir, 'native', 'build', 'Release', `${name}.node`);
    if (existsSync(file)) return createRequire(import.meta.url)(file) as T;
  }
  return null;
}
