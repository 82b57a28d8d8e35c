import type { ConnState } from './session-record.js';

/** Per-endpoint TCP state, after Zeek's TCP_Endpoint states. */
export const Endpoint = {
  INACTIVE: 0,
  SYN_SENT: 1,
  SYN_ACK_SENT: 2,
  /** Seen mid-stream: data or ACKs without a SYN. */
  PARTIAL: 3,
  ESTABLISHED: 4,
  /** Sent a FIN. */
  CLOSED: 5,
  /** Sent a RST. */
  RESET: 6,
} as const;

/**
 * Zeek history letters in the order of their bit index; the originator's letter is upper case,
 * the responder's lower case (Zeek's conn.log documentation).
 */
export const History = {
  SYN: 0, // S: SYN without ACK
  SYN_ACK: 1, // H: SYN with ACK
  ACK: 2, // A: pure ACK (no payload, no SYN/FIN/RST)
  DATA: 3, // D: payload
  FIN: 4, // F
  RST: 5, // R
  RETRANSMIT: 6, // T: payload entirely below the sequence high-water mark
  GAP: 7, // G: a sequence gap (content missed by the capture)
  FLIPPED: 8, // ^: originator decided by ports, not by a SYN
} as const;
const LETTERS = 'SHADFRTG^';

/** The history letter for `event` sent by the originator (upper) or responder (lower). */
export function historyLetter(event: number, fromOriginator: boolean): string {
  const c = LETTERS[event]!;
  return fromOriginator || c === '^' ? c : c.toLowerCase();
}

const inactive = (s: number) => s === Endpoint.INACTIVE || s === Endpoint.PARTIAL;

/**
 * Zeek's conn_state for a TCP connection, from the two endpoint states, byte counts and history
 * (base/protocols/conn/main.zeek, function conn_state).
 */
export function tcpConnState(os: number, rs: number, origBytes: number, respBytes: number, history: string): ConnState {
  if (rs === Endpoint.RESET) {
    if (os === Endpoint.SYN_SENT || os === Endpoint.SYN_ACK_SENT || (os === Endpoint.RESET && origBytes === 0 && respBytes === 0)) {
      return 'REJ';
    }
    return inactive(os) ? 'RSTRH' : 'RSTR';
  }
  if (os === Endpoint.RESET) {
    if (inactive(rs)) return /^\^?S[^HAFGIQ]*R/.test(history) ? 'RSTOS0' : 'OTH';
    return 'RSTO';
  }
  if (rs === Endpoint.CLOSED && os === Endpoint.CLOSED) return 'SF';
  if (os === Endpoint.CLOSED) return inactive(rs) ? 'SH' : 'S2';
  if (rs === Endpoint.CLOSED) return inactive(os) ? 'SHR' : 'S3';
  if (os === Endpoint.SYN_SENT && rs === Endpoint.INACTIVE) return 'S0';
  if (os === Endpoint.ESTABLISHED && rs === Endpoint.ESTABLISHED) return 'S1';
  return 'OTH';
}

/** Zeek's conn_state for UDP: who sent anything. */
export function udpConnState(origPackets: number, respPackets: number): ConnState {
  if (origPackets > 0) return respPackets > 0 ? 'SF' : 'S0';
  return respPackets > 0 ? 'SHR' : 'OTH';
}
