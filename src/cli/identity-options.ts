import { NetlogError } from '../errors.js';
import { IdentityMap } from '../identity/identity-map.js';
import { SCOPES, type Scope } from '../identity/identity-matcher.js';
import { IdentityRegistry } from '../identity/identity-registry.js';
import type { OrgMapWatcher } from '../identity/org-map-watcher.js';

export interface IdentitySetup {
  registry: IdentityRegistry | undefined;
  /** Starts following the map file and SIGHUP; the caller stops it. */
  watch(log: (line: string) => void): OrgMapWatcher | null;
}

/** --org-map and --scope, shared by `replay` and `capture`. */
export async function openIdentity(opts: { orgMap?: string; scope: string }): Promise<IdentitySetup> {
  if (!SCOPES.includes(opts.scope as Scope)) {
    throw new NetlogError('ERR_CONFIG_INVALID', `--scope must be one of ${SCOPES.join(', ')}, not "${opts.scope}"`);
  }
  const scope = opts.scope as Scope;
  if (!opts.orgMap) return { registry: undefined, watch: () => null };
  // Loaded only with a map: the schema library (zod) is a tenth of a second of start-up.
  const [{ loadOrgMap }, { OrgMapWatcher }] = await Promise.all([import('../identity/org-map.js'), import('../identity/org-map-watcher.js')]);
  const file = opts.orgMap;
  // Only the IdentityMap is kept: the loaded map's objects are left to the collector.
  const registry = new IdentityRegistry(new IdentityMap(await loadOrgMap(file), scope));
  return { registry, watch: (log) => new OrgMapWatcher(file, scope, registry, (o) => log(o.message)).start() };
}

/** The start-up line that says which map and scope are in force. */
export function describeIdentity(setup: IdentitySetup, scope: string): string | null {
  if (!setup.registry) return null;
  const map = setup.registry.map;
  const c = map.counts;
  return `org map ${map.orgId} site ${map.siteId}: ${c.clients} clients, ${c.siteResources} site resources; scope ${scope}`;
}
