import { createApiKey, loadApiKeys } from '../api/api-keys.js';
import { OrgDirectory } from '../api/org-directory.js';
import { createApiApp, startApi, type ApiOptions, type RunningApi } from '../api/server.js';
import { StoreReader } from '../api/store-reader.js';
import { NetlogError } from '../errors.js';
import { loadOrgMap, type OrgMap } from '../identity/org-map.js';
import { number } from './replay-command.js';

/** `host:port`, `[v6]:port` or a bare port (on 127.0.0.1). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value) ?? /^()()(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new NetlogError('ERR_CONFIG_INVALID', `--listen "${value}": expected host:port, [v6]:port or a port`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

export interface ApiCommandOptions {
  listen: string;
  apiKeys?: string;
  queryTimeout: string;
}

export function queryTimeoutMs(text: string): number {
  const s = number('query-timeout', text);
  if (s <= 0) throw new NetlogError('ERR_CONFIG_INVALID', `--query-timeout must be more than 0 seconds, not "${text}"`);
  return s * 1000;
}

/** Starts the API for `netlog serve` and `netlog capture --serve`. */
export async function startApiFromOptions(opts: ApiCommandOptions, parts: Omit<ApiOptions, 'keys'>): Promise<RunningApi> {
  if (!opts.apiKeys) throw new NetlogError('ERR_CONFIG_INVALID', '--api-keys FILE is required to serve the API (make one with `netlog api-key create`)');
  const keys = await loadApiKeys(opts.apiKeys);
  const { host, port } = parseListen(opts.listen);
  return startApi(createApiApp({ ...parts, keys }), host, port);
}

/** `netlog serve`: the API and the table over a store nobody is writing (see README). */
export async function serveCommand(opts: ApiCommandOptions & { db: string; orgMap: string[] }): Promise<void> {
  const timeoutMs = queryTimeoutMs(opts.queryTimeout);
  const maps: OrgMap[] = [];
  for (const file of opts.orgMap) maps.push(await loadOrgMap(file));
  const reader = await StoreReader.openReadOnly(opts.db, timeoutMs);
  let api: RunningApi;
  try {
    api = await startApiFromOptions(opts, { reader, directory: new OrgDirectory(() => maps) });
  } catch (e) {
    reader.close();
    throw e;
  }
  process.stderr.write(`netlog: serving ${opts.db} on ${api.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => void api.close().then(() => resolve());
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  reader.close();
}

/** `netlog api-key create`: a new key for an org, its hash added to the key file. */
export async function apiKeyCreateCommand(opts: { apiKeys: string; org: string; name?: string }): Promise<void> {
  const key = await createApiKey(opts.apiKeys, opts.org, opts.name);
  process.stdout.write(key + '\n');
  process.stderr.write(`netlog: key for org ${opts.org} added to ${opts.apiKeys} (only its hash is stored; this is the one time it is shown)\n`);
}
