import type { ClientEntry, OrgMap, ResolvedResource } from './org-map.js';
import { parsePrefix } from './ip-prefix.js';
import { PrefixTable } from './prefix-table.js';

/**
 * Which sessions are recorded (Pangolin's network logs cover client-to-resource sessions):
 * `resources`: from a client address to a matched site resource; `clients`: every session from
 * a client address; `all`: everything, ids null where unknown.
 */
export type Scope = 'resources' | 'clients' | 'all';
export const SCOPES: readonly Scope[] = ['resources', 'clients', 'all'];

/**
 * The org map as look-up tables. Clients by the originator's address, most specific prefix
 * first; site resources by the responder's address, protocol and port: host resources before
 * CIDR ones, then the longest prefix, then the narrowest port range containing the port.
 */
export class IdentityMap {
  private readonly clients = new PrefixTable<ClientEntry>();
  private readonly subnets = new PrefixTable<true>();
  private readonly hosts = new PrefixTable<ResolvedResource>();
  private readonly cidrs = new PrefixTable<ResolvedResource>();

  constructor(
    readonly orgMap: OrgMap,
    readonly scope: Scope = 'resources',
  ) {
    for (const c of orgMap.clients) for (const a of c.addresses) this.clients.add(parsePrefixStrict(a), c);
    for (const s of orgMap.clientSubnets) this.subnets.add(s, true);
    for (const r of orgMap.siteResources) {
      for (const p of r.prefixes) (r.mode === 'host' ? this.hosts : this.cidrs).add(p, r);
    }
  }

  get counts(): { clients: number; siteResources: number; prefixes: number } {
    return { clients: this.orgMap.clients.length, siteResources: this.orgMap.siteResources.length, prefixes: this.clients.size + this.hosts.size + this.cidrs.size };
  }

  /** The client an originator address belongs to (most specific prefix), or null. */
  client(version: 4 | 6, words: readonly number[]): ClientEntry | null {
    return this.clients.find(version, words, (entries) => entries[0]!);
  }

  /** The site resource a responder address, protocol and port select, or null. */
  resource(version: 4 | 6, words: readonly number[], protocol: 'tcp' | 'udp', port: number): ResolvedResource | null {
    const pick = (entries: readonly ResolvedResource[]) => narrowest(entries, protocol, port);
    return this.hosts.find(version, words, pick) ?? this.cidrs.find(version, words, pick);
  }

  /**
   * The client and resource of a new flow, or null when the scope leaves it out. Both may be
   * null in scope `all`, and the resource in scope `clients`.
   */
  match(
    version: 4 | 6,
    origin: readonly number[],
    responder: readonly number[],
    protocol: 'tcp' | 'udp',
    responderPort: number,
  ): { client: ClientEntry | null; resource: ResolvedResource | null } | null {
    const client = this.client(version, origin);
    const fromClient = client !== null || this.subnets.find(version, origin, () => true) !== null;
    const resource = fromClient || this.scope === 'all' ? this.resource(version, responder, protocol, responderPort) : null;
    if (this.scope === 'resources' && !(fromClient && resource)) return null;
    if (this.scope === 'clients' && !fromClient) return null;
    return { client, resource };
  }
}

/** The resource whose port range containing `port` is narrowest (no ports: all 65535). */
function narrowest(entries: readonly ResolvedResource[], protocol: 'tcp' | 'udp', port: number): ResolvedResource | null {
  let best: ResolvedResource | null = null;
  let bestWidth = Infinity;
  for (const r of entries) {
    if (r.protocol !== undefined && r.protocol !== protocol) continue;
    let width = Infinity;
    if (r.portRanges === null) width = 65535;
    else for (const [lo, hi] of r.portRanges) if (port >= lo && port <= hi && hi - lo < width) width = hi - lo;
    if (width < bestWidth) {
      best = r;
      bestWidth = width;
    }
  }
  return best;
}

function parsePrefixStrict(text: string) {
  return parsePrefix(text)!; // validated by the org map schema
}
