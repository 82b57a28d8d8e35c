/** Who a session belongs to (Pangolin's ids), as the identity stage tells the flow table. */
export interface FlowIdentity {
  orgId: string | null;
  siteId: number | null;
  clientId: number | null;
  userId: string | null;
  siteResourceId: number | null;
}

/** Where a flow's identity is found: the org map generation and positions in it (-1: none). */
export interface IdentityRefs {
  generation: number;
  client: number;
  resource: number;
}

/**
 * Asked once per new flow, with its originator and responder. The flow stores the refs, so it
 * keeps the identity it started with whatever reloads happen later. Implemented by the identity
 * stage; declared here so the flow stage does not import a later one.
 */
export interface FlowIdentifier {
  /** The generation identify() uses now (it grows with each reload of the map). */
  readonly generation: number;
  /** Fills `out`; false when the session is out of scope (counted, not recorded). */
  identify(version: 4 | 6, origin: readonly number[], responder: readonly number[], protocol: 'tcp' | 'udp', responderPort: number, out: IdentityRefs): boolean;
  /**
   * Writes the identity into `out` (reused by the caller: nothing is allocated per session).
   * Client fields follow from `client` alone, siteResourceId from `resource`, orgId and siteId
   * from the generation: writers may ask for each part on its own (-1 for the others).
   */
  describe(generation: number, client: number, resource: number, out: FlowIdentity): void;
  /** The ids of a generation by map position, for writers that read them in bulk; absent or null: use describe(). */
  columns?(generation: number): IdentityColumns | null;
}

/**
 * A map generation's ids by position, as describe() gives them one at a time: clientId and
 * siteResourceId as numbers, each userId as its JSON text (`"..."` or `null`) in `userJson`,
 * client i's at [userJsonEnd[i - 1] (0 for i = 0), userJsonEnd[i]).
 */
export interface IdentityColumns {
  clientIds: Float64Array;
  resourceIds: Float64Array;
  userJson: Uint8Array;
  userJsonEnd: Int32Array;
}

/**
 * PacketInfo.presetIdentity: whether the packet carries its flow's identity, looked up ahead
 * (by a replay's decoding thread, for a packet likely to open a flow), and the scope's verdict.
 */
export const PresetIdentity = { NONE: 0, IN_SCOPE: 1, OUT_OF_SCOPE: 2 } as const;
