export const PROTOCOLS = ['tcp', 'udp'] as const;
/** Zeek conn_state codes (base/protocols/conn/main.zeek). */
export const CONN_STATES = ['S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH'] as const;
/** What ended a session; one record per session whatever ended it. */
export const END_REASONS = ['fin', 'rst', 'idle', 'evicted', 'shutdown', 'capture-end'] as const;

export type EndReason = (typeof END_REASONS)[number];
export type ConnState = (typeof CONN_STATES)[number];

/**
 * One TCP connection or UDP exchange: Pangolin's Network Logs fields (the first ten, in the
 * seed's order), then what netlog adds. All times come from packet timestamps, never the wall
 * clock, so a replay is deterministic.
 */
export interface SessionRecord {
  /** Integer unix seconds of the session's first packet (Pangolin's field). */
  timestamp: number;
  protocol: (typeof PROTOCOLS)[number];
  siteResourceId: number | null;
  clientId: number | null;
  userId: string | null;
  /** Originator `ip:port` (`[v6]:port`). The originator sent the SYN; see FlowTracker. */
  sourceAddr: string;
  /** Responder `ip:port`. */
  destAddr: string;
  /** endedAt - startedAt in seconds; null only while the session is open. */
  duration: number | null;
  /** Payload bytes originator → responder: TCP from sequence space (as Zeek's orig_bytes),
   *  so retransmissions count once and gaps count as sent (see missedBytesTx); UDP, the sum of
   *  payload lengths. */
  bytesTx: number;
  /** Payload bytes responder → originator, likewise. */
  bytesRx: number;

  /** First and last packet, unix seconds with microsecond precision. */
  startedAt: number;
  endedAt: number | null;
  packetsTx: number;
  packetsRx: number;
  /** Bytes inside bytesTx/bytesRx that no captured packet carried (sequence gaps). */
  missedBytesTx: number;
  missedBytesRx: number;
  /** Zeek conn_state (TCP and UDP). */
  state: ConnState;
  /** Zeek history letters: upper case originator, lower case responder; ^ = direction decided
   *  by the port heuristic (no SYN seen from the originator). */
  history: string;
  endReason: EndReason | null;
  /** Unique and stable for the same input: a hash of start time, protocol and endpoints. */
  sessionId: string;
  orgId: string | null;
  siteId: number | null;
}

/** Column order of CSV and table output: Pangolin's ten first, then the rest. */
export const SESSION_FIELDS: ReadonlyArray<keyof SessionRecord> = [
  'timestamp',
  'protocol',
  'siteResourceId',
  'clientId',
  'userId',
  'sourceAddr',
  'destAddr',
  'duration',
  'bytesTx',
  'bytesRx',
  'startedAt',
  'endedAt',
  'packetsTx',
  'packetsRx',
  'missedBytesTx',
  'missedBytesRx',
  'state',
  'history',
  'endReason',
  'sessionId',
  'orgId',
  'siteId',
];
