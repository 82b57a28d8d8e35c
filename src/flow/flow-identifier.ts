/** Who a session belongs to (Pangolin's ids), as the identity stage tells the flow table. */
export interface FlowIdentity {
  orgId: string | null;
  siteId: number | null;
  clientId: number | null;
  userId: string | null;
  siteResourceId: number | null;
}

/**
 * Asked once per new flow, with its originator and responder, so that a flow keeps the
 * identity it started with whatever reloads happen later. Implemented by the identity stage;
 * declared here so the flow stage does not import a later one.
 */
export interface FlowIdentifier {
  /** A handle (>= 0) for `describe`, or -1 when the session is out of scope (counted, not recorded). */
  identify(version: 4 | 6, origin: readonly number[], responder: readonly number[], protocol: 'tcp' | 'udp', responderPort: number): number;
  describe(handle: number): FlowIdentity;
}
