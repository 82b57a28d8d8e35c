import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { NetlogError } from '../errors.js';

/**
 * API keys. The file holds only SHA-256 hashes of the keys, so a leaked config file does not
 * leak a key; a key is 32 random bytes, so a plain hash (no salt or stretching) is enough to
 * make it unrecoverable. Each key reads one org.
 *
 *   { "keys": [ { "orgId": "acme", "name": "ops dashboard", "sha256": "<64 hex digits>" } ] }
 */
const keyEntrySchema = z.strictObject({
  orgId: z.string().min(1),
  name: z.string().optional(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'is not 64 lower-case hex digits (the SHA-256 of the key)'),
});
const keyFileSchema = z.strictObject({ keys: z.array(keyEntrySchema) });

export type ApiKeyEntry = z.infer<typeof keyEntrySchema>;

/** Keys start with this, so one found in a log or a repository is recognisable. */
const KEY_PREFIX = 'nlk_';

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export class ApiKeys {
  private readonly byHash = new Map<string, ApiKeyEntry>();

  constructor(entries: readonly ApiKeyEntry[]) {
    for (const e of entries) this.byHash.set(e.sha256, e);
  }

  /** The entry for a presented key, or null. Lookup is by hash, so no key is compared as text. */
  find(key: string): ApiKeyEntry | null {
    return this.byHash.get(hashKey(key)) ?? null;
  }

  get size(): number {
    return this.byHash.size;
  }
}

async function readKeyFile(file: string): Promise<ApiKeyEntry[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new NetlogError('ERR_CONFIG_INVALID', `cannot read the API key file: ${(e as Error).message}`, { file });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new NetlogError('ERR_CONFIG_INVALID', `API key file is not JSON: ${(e as Error).message}`, { file });
  }
  const parsed = keyFileSchema.safeParse(json, { reportInput: true });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(top level)';
    throw new NetlogError('ERR_CONFIG_INVALID', `API key file ${where}: ${issue.message}`, { file });
  }
  return parsed.data.keys;
}

export async function loadApiKeys(file: string): Promise<ApiKeys> {
  return new ApiKeys(await readKeyFile(file));
}

/**
 * Makes a new key for `orgId`, adds its hash to `file` (created with mode 0600 if absent) and
 * returns the key, which is shown once and stored nowhere.
 */
export async function createApiKey(file: string, orgId: string, name?: string): Promise<string> {
  if (!orgId) throw new NetlogError('ERR_CONFIG_INVALID', '--org must name an org');
  const entries = existsSync(file) ? await readKeyFile(file) : [];
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  entries.push({ orgId, ...(name ? { name } : {}), sha256: hashKey(key) });
  await writeFile(file, JSON.stringify({ keys: entries }, null, 2) + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
  return key;
}
