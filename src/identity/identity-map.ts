import type { FlowIdentity, IdentityColumns, IdentityRefs } from '../flow/flow-identifier.js';
import type { OrgMap, OrgMapNames, ResolvedResource } from './org-map.js';
import { IdentityMatcher, type IdentityMatcherData, type Scope } from './identity-matcher.js';
import { parsePrefix } from './ip-prefix.js';
import { PortSegments, PROTOCOL_INDEX, type PortRange } from './port-segments.js';
import { PrefixTable } from './prefix-table.js';

/**
 * The org map as look-up tables (IdentityMatcher) and the ids of what they find.
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
  // By map position, the values the matcher's positions stand for.
  private readonly clientIds: Float64Array;
  private readonly userIds: Array<string | null>;
  private readonly resourceIds: Float64Array;
  /**
   * The same ids as columns, made at load like the port ranges: the native JSON writer reads a
   * session's ids from them, rather than from text made on the flow table's thread at the
   * first session of each client (35,686 of them in a replay of the bench capture: with the
   * checks for it, ~37 ms of the 100 ms a 100k map added to that replay; scratch profile).
   */
  readonly columns: IdentityColumns;
  /** Addresses, protocol and port to the positions above. */
  readonly matcher: IdentityMatcher;
  /** The matcher's tables in shared memory, for replays' decoding threads (IdentityRegistry.ahead). */
  readonly sharedMatcher: IdentityMatcherData;
  private readonly prefixes: number;

  constructor(
    orgMap: OrgMap,
    readonly scope: Scope = 'resources',
  ) {
    this.orgId = orgMap.orgId;
    this.siteId = orgMap.siteId;
    this.retentionDays = orgMap.retentionDays;
    this.clientIds = sharedFloats(orgMap.clients.map((c) => c.clientId));
    this.userIds = orgMap.clients.map((c) => c.userId ?? null);
    this.resourceIds = sharedFloats(orgMap.siteResources.map((r) => r.siteResourceId));
    this.columns = { clientIds: this.clientIds, resourceIds: this.resourceIds, ...jsonTexts(this.userIds) };
    this.names = {
      orgId: orgMap.orgId,
      clients: orgMap.clients.filter((c) => c.name !== undefined).map(({ clientId, name }) => ({ clientId, name })),
      siteResources: orgMap.siteResources.filter((r) => r.name !== undefined).map(({ siteResourceId, name }) => ({ siteResourceId, name })),
      users: orgMap.users,
    };
    const clients = new PrefixTable();
    const subnets = new PrefixTable();
    const hosts = new PrefixTable();
    const cidrs = new PrefixTable();
    orgMap.clients.forEach((c, i) => c.addresses.forEach((a) => clients.add(parsePrefixStrict(a), i)));
    for (const s of orgMap.clientSubnets) subnets.add(s, 0);
    orgMap.siteResources.forEach((r, i) => r.prefixes.forEach((p) => (r.mode === 'host' ? hosts : cidrs).add(p, i)));
    // Port ranges per prefix are compiled at load, not on the first flow to each resource.
    const ports = (table: PrefixTable) => PortSegments.compile(table.seal().flatMap((list) => compile(list, orgMap.siteResources)));
    const hostPorts = ports(hosts);
    const cidrPorts = ports(cidrs);
    clients.seal();
    subnets.seal();
    // Its tables once, in shared memory: this thread looks up with them, decoding threads too.
    this.sharedMatcher = new IdentityMatcher(scope, clients, subnets, hosts, cidrs, hostPorts, cidrPorts).sharedData();
    this.matcher = IdentityMatcher.from(this.sharedMatcher);
    this.prefixes = clients.size + hosts.size + cidrs.size;
  }

  get counts(): { clients: number; siteResources: number; prefixes: number } {
    return { clients: this.clientIds.length, siteResources: this.resourceIds.length, prefixes: this.prefixes };
  }

  /** The client an originator address belongs to (most specific prefix), or null. */
  client(version: 4 | 6, words: readonly number[]): { clientId: number; userId: string | null } | null {
    const i = this.matcher.clientAt(version, words);
    return i < 0 ? null : { clientId: this.clientIds[i]!, userId: this.userIds[i]! };
  }

  /** The site resource a responder address, protocol and port select, or null. */
  resource(version: 4 | 6, words: readonly number[], protocol: 'tcp' | 'udp', port: number): { siteResourceId: number } | null {
    const i = this.matcher.resourceAt(version, words, PROTOCOL_INDEX[protocol], port);
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

  /**
   * A new flow's client and resource positions into `out` (-1 when none); false when the scope
   * leaves the flow out (IdentityMatcher.match).
   */
  match(version: 4 | 6, origin: readonly number[], responder: readonly number[], protocol: 'tcp' | 'udp', responderPort: number, out: IdentityRefs): boolean {
    return this.matcher.match(version, origin, responder, protocol, responderPort, out);
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

/** Each value's JSON text, one after another in one buffer, with where each ends. */
function jsonTexts(values: ReadonlyArray<string | null>): { userJson: Uint8Array; userJsonEnd: Int32Array } {
  const texts = values.map((v) => JSON.stringify(v));
  const userJsonEnd = new Int32Array(new SharedArrayBuffer(4 * texts.length));
  let end = 0;
  texts.forEach((t, i) => (userJsonEnd[i] = end += Buffer.byteLength(t)));
  const userJson = Buffer.from(new SharedArrayBuffer(end));
  let at = 0;
  for (const t of texts) at += userJson.write(t, at);
  return { userJson: new Uint8Array(userJson.buffer, userJson.byteOffset, end), userJsonEnd };
}

/**
 * Numbers in shared memory. The columns are shared so that a replay's decoding thread, which
 * writes its JSON lines (json-channel.ts), reads them without a copy.
 */
function sharedFloats(values: readonly number[]): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(8 * values.length));
  out.set(values);
  return out;
}

function parsePrefixStrict(text: string) {
  return parsePrefix(text)!; // validated by the org map schema
}
