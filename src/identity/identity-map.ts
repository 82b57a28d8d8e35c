import type { FlowIdentity, IdentityRefs } from '../flow/flow-identifier.js';
import type { OrgMap, OrgMapNames, ResolvedResource } from './org-map.js';
import { parsePrefix } from './ip-prefix.js';
import { PortSegments, PROTOCOL_INDEX, type PortRange } from './port-segments.js';
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
 *
 * The loaded OrgMap itself is not kept: of 100k clients and 100k resources it is ~95 MB of
 * small objects, which every full collection of a running replay walked again (a replay with
 * the map loaded but unused was 17% slower than without it). What sessions need is kept in
 * typed arrays by map position, and names for the API in `names`.
 */
export class IdentityMap {
  readonly orgId: string;
  readonly siteId: number;
  readonly retentionDays: number;
  /** Names for the API: only the entries that have one, without addresses or ports. */
  readonly names: OrgMapNames;
  // By map position, the values of the tables below.
  private readonly clientIds: Float64Array;
  private readonly userIds: Array<string | null>;
  private readonly resourceIds: Float64Array;
  private readonly clients = new PrefixTable();
  private readonly subnets = new PrefixTable();
  private readonly hosts = new PrefixTable();
  private readonly cidrs = new PrefixTable();
  /** Port ranges of each host and CIDR prefix's resources, by entry-list index. */
  private readonly hostPorts: PortSegments;
  private readonly cidrPorts: PortSegments;

  constructor(
    orgMap: OrgMap,
    readonly scope: Scope = 'resources',
  ) {
    this.orgId = orgMap.orgId;
    this.siteId = orgMap.siteId;
    this.retentionDays = orgMap.retentionDays;
    this.clientIds = Float64Array.from(orgMap.clients, (c) => c.clientId);
    this.userIds = orgMap.clients.map((c) => c.userId ?? null);
    this.resourceIds = Float64Array.from(orgMap.siteResources, (r) => r.siteResourceId);
    this.names = {
      orgId: orgMap.orgId,
      clients: orgMap.clients.filter((c) => c.name !== undefined).map(({ clientId, name }) => ({ clientId, name })),
      siteResources: orgMap.siteResources.filter((r) => r.name !== undefined).map(({ siteResourceId, name }) => ({ siteResourceId, name })),
      users: orgMap.users,
    };
    orgMap.clients.forEach((c, i) => c.addresses.forEach((a) => this.clients.add(parsePrefixStrict(a), i)));
    for (const s of orgMap.clientSubnets) this.subnets.add(s, 0);
    orgMap.siteResources.forEach((r, i) => r.prefixes.forEach((p) => (r.mode === 'host' ? this.hosts : this.cidrs).add(p, i)));
    // Port ranges per prefix are compiled at load, not on the first flow to each resource.
    const ports = (table: PrefixTable) => new PortSegments(table.seal().flatMap((list) => compile(list, orgMap.siteResources)));
    this.hostPorts = ports(this.hosts);
    this.cidrPorts = ports(this.cidrs);
    this.clients.seal();
    this.subnets.seal();
  }

  get counts(): { clients: number; siteResources: number; prefixes: number } {
    return { clients: this.clientIds.length, siteResources: this.resourceIds.length, prefixes: this.clients.size + this.hosts.size + this.cidrs.size };
  }

  /** The client an originator address belongs to (most specific prefix), or null. */
  client(version: 4 | 6, words: readonly number[]): { clientId: number; userId: string | null } | null {
    const i = this.clients.find(version, words, null, 0, 0);
    return i < 0 ? null : { clientId: this.clientIds[i]!, userId: this.userIds[i]! };
  }

  /** The site resource a responder address, protocol and port select, or null. */
  resource(version: 4 | 6, words: readonly number[], protocol: 'tcp' | 'udp', port: number): { siteResourceId: number } | null {
    const i = this.resourceAt(version, words, PROTOCOL_INDEX[protocol], port);
    return i < 0 ? null : { siteResourceId: this.resourceIds[i]! };
  }

  /** The ids of the client and resource at these map positions (-1: none) into `out`. */
  describe(client: number, resource: number, out: FlowIdentity): void {
    out.orgId = this.orgId;
    out.siteId = this.siteId;
    out.clientId = client >= 0 ? this.clientIds[client]! : null;
    out.userId = client >= 0 ? this.userIds[client]! : null;
    out.siteResourceId = resource >= 0 ? this.resourceIds[resource]! : null;
  }

  private resourceAt(version: 4 | 6, words: readonly number[], protocol: number, port: number): number {
    const host = this.hosts.find(version, words, this.hostPorts, protocol, port);
    return host >= 0 ? host : this.cidrs.find(version, words, this.cidrPorts, protocol, port);
  }

  /**
   * A new flow's client and resource positions into `out` (-1 when none); false when the scope
   * leaves the flow out. In scope `all` both may be -1, in `clients` the resource.
   */
  match(version: 4 | 6, origin: readonly number[], responder: readonly number[], protocol: 'tcp' | 'udp', responderPort: number, out: IdentityRefs): boolean {
    const client = this.clients.find(version, origin, null, 0, 0);
    const fromClient = client >= 0 || this.subnets.find(version, origin, null, 0, 0) >= 0;
    const resource = fromClient || this.scope === 'all' ? this.resourceAt(version, responder, PROTOCOL_INDEX[protocol], responderPort) : -1;
    out.client = client;
    out.resource = resource;
    if (this.scope === 'resources') return fromClient && resource >= 0;
    if (this.scope === 'clients') return fromClient;
    return true;
  }
}

/**
 * One prefix's resources as port-range groups (tcp, then udp, as PROTOCOL_INDEX numbers them),
 * each narrowest first, so the first range holding a port wins.
 */
function compile(positions: readonly number[], resources: readonly ResolvedResource[]): [PortRange[], PortRange[]] {
  const out: [PortRange[], PortRange[]] = [[], []];
  for (const position of positions) {
    const resource = resources[position]!;
    const ranges = resource.portRanges ?? [[1, 65535]];
    for (const proto of ['tcp', 'udp'] as const) {
      if (resource.protocol !== undefined && resource.protocol !== proto) continue;
      for (const [lo, hi] of ranges) out[PROTOCOL_INDEX[proto]].push({ lo, hi, resource: position });
    }
  }
  // Stable sort: among equal widths, the resource listed first in the map wins.
  for (const group of out) group.sort((a, b) => a.hi - a.lo - (b.hi - b.lo));
  return out;
}

function parsePrefixStrict(text: string) {
  return parsePrefix(text)!; // validated by the org map schema
}
