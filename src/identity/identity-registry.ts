import type { FlowIdentifier, FlowIdentity, IdentityColumns, IdentityRefs } from '../flow/flow-identifier.js';
import type { IdentityMap } from './identity-map.js';
import type { IdentityMatcherData } from './identity-matcher.js';

/**
 * The flow table's identifier across org map reloads. Each map put in force is a generation;
 * a flow's refs name its generation and the positions of its client and resource there, so a
 * flow open across a reload keeps the identity it started with, and nothing grows per flow.
 */
export class IdentityRegistry implements FlowIdentifier {
  private readonly generations: IdentityMap[];

  constructor(map: IdentityMap) {
    this.generations = [map];
  }

  get map(): IdentityMap {
    return this.generations[this.generations.length - 1]!;
  }

  get generation(): number {
    return this.generations.length - 1;
  }

  /** What a replay's decoding thread needs to look flows up ahead: the map in force, as data. */
  ahead(): { generation: number; matcher: IdentityMatcherData } {
    return { generation: this.generation, matcher: this.map.sharedMatcher };
  }

  /** Puts a new map in force for flows created from now on. */
  replace(map: IdentityMap): void {
    this.generations.push(map);
  }

  identify(version: 4 | 6, origin: readonly number[], responder: readonly number[], protocol: 'tcp' | 'udp', responderPort: number, out: IdentityRefs): boolean {
    out.generation = this.generation;
    return this.map.match(version, origin, responder, protocol, responderPort, out);
  }

  describe(generation: number, client: number, resource: number, out: FlowIdentity): void {
    this.generations[generation]!.describe(client, resource, out);
  }

  columns(generation: number): IdentityColumns | null {
    return this.generations[generation]?.columns ?? null;
  }
}
