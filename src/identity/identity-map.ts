import type { IdentityRefs } from '../flow/flow-identifier.js';
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
  // Values are positions in orgMap.clients / orgMap.siteResources.
  private readonly clients = new PrefixTable<number>();
  private readonly subnets = new PrefixTable<number>();
  private readonly hosts = new PrefixTable<number>();
  private readonly cidrs = new PrefixTable<number>();
  /** Port ranges of each host and CIDR prefix's resources, by entry-list index. */
  private readonly hostRanges: CompiledResources[];
  private readonly cidrRanges: CompiledResources[];

  constructor(
    readonly orgMap: OrgMap,
    readonly scope: Scope = 'resources',
  ) {
    orgMap.clients.forEach((c, i) => c.addresses.forEach((a) => this.clients.add(parsePrefixStrict(a), i)));
    for (const s of orgMap.clientSubnets) this.subnets.add(s, 0);
    orgMap.siteResources.forEach((r, i) => r.prefixes.forEach((p) => (r.mode === 'host' ? this.hosts : this.cidrs).add(p, i)));
    // Port ranges per prefix are compiled at load, not on the first flow to each resource.
    const ranges = (table: PrefixTable<number>) => table.entryLists().map((list) => compile(list.map((i) => [i, orgMap.siteResources[i]!] as const)));
    this.hostRanges = ranges(this.hosts);
    this.cidrRanges = ranges(this.cidrs);
  }

  get counts(): { clients: number; siteResources: number; prefixes: number } {
    return { clients: this.orgMap.clients.length, siteResources: this.orgMap.siteResources.length, prefixes: this.clients.size + this.hosts.size + this.cidrs.size };
  }

  /** The client an originator address belongs to (most specific prefix), or null. */
  client(version: 4 | 6, words: readonly number[]): ClientEntry | null {
    const i = this.clientAt(version, words);
    return i < 0 ? null : this.orgMap.clients[i]!;
  }

  /** The site resource a responder address, protocol and port select, or null. */
  resource(version: 4 | 6, words: readonly number[], protocol: 'tcp' | 'udp', port: number): ResolvedResource | null {
    const i = this.resourceAt(version, words, protocol, port);
    return i < 0 ? null : this.orgMap.siteResources[i]!;
  }

  private clientAt(version: 4 | 6, words: readonly number[]): number {
    return this.clients.find(version, words, first, null, null) ?? -1;
  }

  private resourceAt(version: 4 | 6, words: readonly number[], protocol: 'tcp' | 'udp', port: number): number {
    return this.hosts.find(version, words, this.narrowestHost, protocol, port) ?? this.cidrs.find(version, words, this.narrowestCidr, protocol, port) ?? -1;
  }

  /**
   * A new flow's client and resource positions into `out` (-1 when none); false when the scope
   * leaves the flow out. In scope `all` both may be -1, in `clients` the resource.
   */
  match(version: 4 | 6, origin: readonly number[], responder: readonly number[], protocol: 'tcp' | 'udp', responderPort: number, out: IdentityRefs): boolean {
    const client = this.clientAt(version, origin);
    const fromClient = client >= 0 || this.subnets.find(version, origin, first, null, null) !== null;
    const resource = fromClient || this.scope === 'all' ? this.resourceAt(version, responder, protocol, responderPort) : -1;
    out.client = client;
    out.resource = resource;
    if (this.scope === 'resources') return fromClient && resource >= 0;
    if (this.scope === 'clients') return fromClient;
    return true;
  }

  private readonly narrowestHost = (_: readonly number[], protocol: 'tcp' | 'udp', port: number, list: number) => narrowest(this.hostRanges[list]!, protocol, port);
  private readonly narrowestCidr = (_: readonly number[], protocol: 'tcp' | 'udp', port: number, list: number) => narrowest(this.cidrRanges[list]!, protocol, port);
}

/** Of one prefix's resources, the one whose port range holding `port` is narrowest. */
function narrowest(compiled: CompiledResources, protocol: 'tcp' | 'udp', port: number): number | null {
  const ranges = compiled[protocol];
  for (let k = 0; k < ranges.length; k++) {
    const r = ranges[k]!;
    if (port >= r.lo && port <= r.hi) return r.resource;
  }
  return null;
}

/** A prefix's first entry (clients: addresses are unique per prefix in practice). */
function first<T>(entries: readonly T[]): T {
  return entries[0]!;
}

interface PortRange {
  lo: number;
  hi: number;
  /** Position of the resource in the org map. */
  resource: number;
}

/** Per prefix: each protocol's port ranges, narrowest first, so the first that holds the port wins. */
type CompiledResources = Record<'tcp' | 'udp', PortRange[]>;

function compile(entries: ReadonlyArray<readonly [number, ResolvedResource]>): CompiledResources {
  const out: CompiledResources = { tcp: [], udp: [] };
  for (const [position, resource] of entries) {
    const ranges = resource.portRanges ?? [[1, 65535]];
    for (const proto of ['tcp', 'udp'] as const) {
      if (resource.protocol !== undefined && resource.protocol !== proto) continue;
      for (const [lo, hi] of ranges) out[proto].push({ lo, hi, resource: position });
    }
  }
  // Stable sort: among equal widths, the resource listed first in the map wins.
  for (const proto of ['tcp', 'udp'] as const) out[proto].sort((a, b) => a.hi - a.lo - (b.hi - b.lo));
  return out;
}

function parsePrefixStrict(text: string) {
  return parsePrefix(text)!; // validated by the org map schema
}
