import type { FlowIdentifier, FlowIdentity } from '../flow/flow-identifier.js';
import type { IdentityMap } from './identity-map.js';

/**
 * The flow table's identifier across org map reloads. Each new flow is matched against the map
 * in force and gets a handle to its identity; handles stay valid when the map is replaced, so a
 * flow open across a reload keeps the identity it started with.
 */
export class IdentityRegistry implements FlowIdentifier {
  private readonly identities: FlowIdentity[] = [];
  /** Handles by map generation and client/resource pair: a pair shares one identity. */
  private readonly handles = new Map<string, number>();
  private generation = 0;

  constructor(private current: IdentityMap) {}

  get map(): IdentityMap {
    return this.current;
  }

  /** Puts a new map in force for flows created from now on. */
  replace(map: IdentityMap): void {
    this.current = map;
    this.generation++;
  }

  identify(version: 4 | 6, origin: readonly number[], responder: readonly number[], protocol: 'tcp' | 'udp', responderPort: number): number {
    const m = this.current.match(version, origin, responder, protocol, responderPort);
    if (m === null) return -1;
    const key = `${this.generation}/${m.client?.clientId ?? ''}/${m.resource?.siteResourceId ?? ''}`;
    let handle = this.handles.get(key);
    if (handle === undefined) {
      handle = this.identities.length;
      const org = this.current.orgMap;
      this.identities.push({
        orgId: org.orgId,
        siteId: org.siteId,
        clientId: m.client?.clientId ?? null,
        userId: m.client?.userId ?? null,
        siteResourceId: m.resource?.siteResourceId ?? null,
      });
      this.handles.set(key, handle);
    }
    return handle;
  }

  describe(handle: number): FlowIdentity {
    return this.identities[handle]!;
  }
}
