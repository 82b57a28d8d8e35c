import type { IdentityRefs } from '../flow/flow-identifier.js';
import { flattenMatcher } from './flat-matcher.js';
import { PortSegments, PROTOCOL_INDEX, type PortSegmentsData } from './port-segments.js';
import { PrefixTable, type PrefixTableData } from './prefix-table.js';

/**
 * Which sessions are recorded (Pangolin's network logs cover client-to-resource sessions):
 * `resources`: from a client address to a matched site resource; `clients`: every session from
 * a client address; `all`: everything, ids null where unknown.
 */
export type Scope = 'resources' | 'clients' | 'all';
export const SCOPES: readonly Scope[] = ['resources', 'clients', 'all'];

/** An IdentityMatcher's tables: typed arrays and numbers, so they can be posted to a thread. */
export interface IdentityMatcherData {
  scope: Scope;
  clients: PrefixTableData;
  subnets: PrefixTableData;
  hosts: PrefixTableData;
  cidrs: PrefixTableData;
  hostPorts: PortSegmentsData;
  cidrPorts: PortSegmentsData;
  /** The same tables as one array in shared memory, as the decoding addon reads them
   *  (flat-matcher.ts); sharedData() makes it, data() leaves it out. */
  flat?: Int32Array;
}

/**
 * The look-ups of an org map, apart from its ids and names: addresses, protocol and port to map
 * positions. Clients by the originator's address, most specific prefix first; site resources
 * by the responder's address, protocol and port: host resources before CIDR ones, then the
 * longest prefix, then the narrowest port range containing the port. Made of typed arrays
 * only, so a replay's decoding thread can hold a copy (data(), from()) and look up new flows
 * ahead of the flow table (src/replay/identity-ahead.ts).
 */
export class IdentityMatcher {
  constructor(
    readonly scope: Scope,
    private readonly clients: PrefixTable,
    /** The tunnel's client subnets: an address there is a client's, known to the map or not. */
    private readonly subnets: PrefixTable,
    private readonly hosts: PrefixTable,
    private readonly cidrs: PrefixTable,
    /** Port ranges of each host and CIDR prefix's resources, by entry-list index. */
    private readonly hostPorts: PortSegments,
    private readonly cidrPorts: PortSegments,
  ) {}

  static from(d: IdentityMatcherData): IdentityMatcher {
    const t = PrefixTable.from;
    return new IdentityMatcher(d.scope, t(d.clients), t(d.subnets), t(d.hosts), t(d.cidrs), PortSegments.from(d.hostPorts), PortSegments.from(d.cidrPorts));
  }

  data(): IdentityMatcherData {
    return {
      scope: this.scope,
      clients: this.clients.data(),
      subnets: this.subnets.data(),
      hosts: this.hosts.data(),
      cidrs: this.cidrs.data(),
      hostPorts: this.hostPorts.data(),
      cidrPorts: this.cidrPorts.data(),
    };
  }

  /**
   * data() with every typed array copied into shared memory, so that posting it to a thread
   * shares it instead of copying it: made once per map, when it loads, and sent to each
   * replay's decoding thread (with a 100k map, the copy for each replay held up its start by
   * about 5 ms on each side, scratch). With them the tables flattened for the decoding addon,
   * likewise once.
   */
  sharedData(): IdentityMatcherData {
    const data = shared(this.data());
    return { ...data, flat: flattenMatcher(data) };
  }

  /** The position of the client an originator address belongs to, or -1. */
  clientAt(version: 4 | 6, words: readonly number[]): number {
    return this.clients.find(version, words, null, 0, 0);
  }

  /** The position of the site resource a responder address, protocol (PROTOCOL_INDEX) and port select, or -1. */
  resourceAt(version: 4 | 6, words: readonly number[], protocol: number, port: number): number {
    const host = this.hosts.find(version, words, this.hostPorts, protocol, port);
    return host >= 0 ? host : this.cidrs.find(version, words, this.cidrPorts, protocol, port);
  }

  /**
   * A new flow's client and resource positions into `out` (-1 when none; `out.generation` is
   * left alone); false when the scope leaves the flow out. In scope `all` both may be -1, in
   * `clients` the resource.
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

/** `value` with each typed array in it copied into a SharedArrayBuffer of its own. */
function shared<T>(value: T): T {
  if (ArrayBuffer.isView(value)) {
    const a = value as unknown as Int32Array;
    const copy = new (a.constructor as Int32ArrayConstructor)(new SharedArrayBuffer(a.byteLength));
    copy.set(a);
    return copy as unknown as T;
  }
  if (Array.isArray(value)) return value.map(shared) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shared(v)])) as T;
  return value;
}
