import { History, historyLetter } from '../flow/conn-state.js';
import { HISTORY_CODES, NATIVE_COLUMNS, ROW_IPV4, ROW_IPV6, SessionBatch, STILL_OPEN } from '../flow/session-batch.js';
import { CONN_STATES, END_REASONS, PROTOCOLS } from '../flow/session-record.js';
import { loadAddon } from '../native-addon.js';
import { IdentityFragment, IdentityJson, type FragmentKind } from './identity-json.js';

/** Largest time held as whole microseconds whose seconds text this writer makes itself: below
 *  it a microsecond is wider than half a float64 step, so the text is exactly JavaScript's. */
const MICROS_EXACT = 2 ** 32 * 1e6;

/**
 * A map generation's ids as native/netlog_json.cc reads them (IdentityColumns), with the org's
 * text and the row's end (IdentityJson.orgAndEnd), and the generation.
 */
type NativeIdentity = [clientIds: Float64Array, resourceIds: Float64Array, userJson: Uint8Array, userJsonEnd: Int32Array, orgEnd: Uint8Array, generation: number];

/** native/netlog_json.cc: rows the flow table wrote, as this encoder writes them (see encode). */
interface NativeJson {
  encode(numeric: Uint8Array, layout: Int32Array, from: number, to: number, out: Uint8Array, state: Float64Array, identity: NativeIdentity | null): number;
  /** What the addon takes for granted; it is used only when all of it agrees with this code. */
  layout: {
    columns: number;
    historyMax: number;
    stillOpen: number;
    rowIpv4: number;
    rowIpv6: number;
    microsExact: number;
    historyLetters: string;
    protocols: string[];
    states: string[];
    endReasons: string[];
  };
}
const NATIVE_STOP_FULL = 1;
const NATIVE_JSON = agreeing(loadAddon<NativeJson>('netlog_json'));

/** The addon, if its batch layout and vocabulary are this code's (a stale build is not used). */
function agreeing(addon: NativeJson | null): NativeJson | null {
  const l = addon?.layout;
  if (!l) return null;
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  const letters = Array.from({ length: l.historyLetters.length }, (_, e) => historyLetter(e, true)).join('');
  const agrees =
    l.columns === NATIVE_COLUMNS && l.historyMax === HISTORY_CODES && l.stillOpen === STILL_OPEN && l.rowIpv4 === ROW_IPV4 && l.rowIpv6 === ROW_IPV6 &&
    l.microsExact === MICROS_EXACT && l.historyLetters === letters && l.historyLetters.length === Object.keys(History).length &&
    same(l.protocols, PROTOCOLS) && same(l.states, CONN_STATES) && same(l.endReasons, END_REASONS);
  return agrees ? addon : null;
}

/** Is the native row writer in use (built, and reading the columns SessionBatch lays out)? */
export function nativeJsonLoaded(): boolean {
  return NATIVE_JSON !== null;
}

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const KEY = {
  timestamp: ascii('{"timestamp":'),
  siteResourceId: ascii(',"siteResourceId":'),
  clientId: ascii(',"clientId":'),
  userId: ascii(',"userId":'),
  sourceAddr: ascii(',"sourceAddr":"'),
  destAddr: ascii('","destAddr":"'),
  duration: ascii('","duration":'),
  bytesTx: ascii(',"bytesTx":'),
  bytesRx: ascii(',"bytesRx":'),
  startedAt: ascii(',"startedAt":'),
  endedAt: ascii(',"endedAt":'),
  packetsTx: ascii(',"packetsTx":'),
  packetsRx: ascii(',"packetsRx":'),
  missedBytesTx: ascii(',"missedBytesTx":'),
  missedBytesRx: ascii(',"missedBytesRx":'),
  orgId: ascii('","orgId":'),
  siteId: ascii(',"siteId":'),
  end: ascii('}\n'),
};
const NULL = ascii('null');
// Keys and the coded values between them as one piece each: fewer copies per row.
const PROTOCOL_FIELD = PROTOCOLS.map((p) => ascii(`,"protocol":${JSON.stringify(p)}`));
const STATE_FIELD = CONN_STATES.map((c) => ascii(`,"state":${JSON.stringify(c)},"history":"`));
const END_FIELD = END_REASONS.map((r) => ascii(`","endReason":${JSON.stringify(r)},"sessionId":"`));
const OPEN_FIELD = ascii('","endReason":null,"sessionId":"');
// A session without identity (no org map, or out of it) has these runs of nulls.
const NO_IDS = ascii(',"siteResourceId":null,"clientId":null,"userId":null');
const NO_ORG_END = ascii('","orgId":null,"siteId":null}\n');
const HEX = ascii('0123456789abcdef');
/** "00" to "99": decimal digits are written two at a time. */
const DIGIT_PAIRS = ascii(Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0')).join(''));
const BUFFER_BYTES = 1 << 20;
/** Buffers kept for reuse: a few writes in flight on a slow stream. */
const SPARE_BUFFERS = 4;
/**
 * Room kept for the fixed parts of a row (keys, numbers; under 700 bytes) beyond whatever is
 * being written: a row asks for it when it starts, and every variable part (text, identity)
 * asks for its own length on top, so the fixed parts after it still fit.
 */
const ROW_ROOM = 1024;

/**
 * Session rows as JSON lines, written byte by byte into buffers: the same bytes as
 * `JSON.stringify(record) + '\n'` (the field order of SessionRecord, numbers as JavaScript
 * prints them), without a record or a string per session. Times are whole microseconds, so
 * seconds are written as digits, a point and the fraction without trailing zeros, which is
 * what JavaScript prints for them below MICROS_EXACT; beyond it, and for any number that is not
 * a plain non-negative integer, the writer falls back to JavaScript's own text.
 */
export class JsonLineEncoder {
  private buf: Buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  private at = 0;
  private readonly spare: Buffer[] = [];
  /** Full buffers waiting for take(), in order. */
  private readonly sealed: Buffer[] = [];
  private sealedBytes = 0;
  private readonly identity = new IdentityJson();
  /** The native writer (null: rows are written here), and its [end of bytes, why it stopped]. */
  private readonly native: NativeJson | null;
  private readonly nativeState = new Float64Array(2);

  /** `native: false` writes every row in JavaScript (tests compare the two). */
  constructor(options: { native?: boolean } = {}) {
    this.native = options.native === false ? null : NATIVE_JSON;
  }

  /** Bytes written and not yet taken. */
  get size(): number {
    return this.sealedBytes + this.at;
  }

  /** Bytes in full buffers waiting for take(): a writer hands them on before the next drain. */
  get filled(): number {
    return this.sealedBytes;
  }

  /**
   * The bytes written so far, in order, without a copy: the buffers are the caller's now, and
   * the encoder goes on in another. Handing each back with recycle() once it is written saves a
   * fresh buffer each time, whose pages the kernel must fault in (63 ms of a 2.5M-packet
   * replay's profile went to copying into new buffers).
   */
  take(): Buffer[] {
    const out = this.sealed.splice(0);
    this.sealedBytes = 0;
    if (this.at > 0) {
      out.push(this.buf.subarray(0, this.at));
      this.buf = this.spare.pop() ?? Buffer.allocUnsafe(BUFFER_BYTES);
      this.at = 0;
    }
    return out;
  }

  /** Takes back a buffer take() returned, once its bytes are written. */
  recycle(chunk: Buffer): void {
    const whole = chunk.buffer;
    if (this.spare.length < SPARE_BUFFERS && chunk.byteOffset === 0 && whole instanceof ArrayBuffer && whole.byteLength >= BUFFER_BYTES) this.spare.push(Buffer.from(whole));
  }

  /** Appends one line per row of `b`. */
  encode(b: SessionBatch): void {
    const native = this.native;
    if (native === null) {
      for (let i = 0; i < b.length; i++) this.row(b, i);
      return;
    }
    const identity = this.nativeIdentity(b);
    const state = this.nativeState;
    for (let i = 0; i < b.length; ) {
      this.room(0);
      state[0] = this.at;
      i += native.encode(b.numeric, b.nativeLayout, i, b.length, this.buf, state, identity);
      this.at = state[0]!;
      if (i === b.length) break;
      // A full buffer: the rest goes on in another (a row longer than a whole buffer is written
      // here, with room of its own). Otherwise the row is JavaScript's (text in strings, an odd
      // number, identity of an older map).
      if (state[1] === NATIVE_STOP_FULL && this.at > 0) this.seal(ROW_ROOM);
      else this.row(b, i++);
    }
  }

  /**
   * The ids of the newest map generation among `b`'s rows, for the native writer; null when no
   * row holds identity by reference, or the identifier has no columns (rows of any generation
   * it is not given are written here).
   */
  private nativeIdentity(b: SessionBatch): NativeIdentity | null {
    const identifier = b.identifier;
    if (identifier === null) return null;
    let generation = -1;
    for (let i = b.length - 1; i >= 0 && generation < 0; i--) generation = b.idGeneration[i]!;
    const columns = generation < 0 ? null : (identifier.columns?.(generation) ?? null);
    if (columns === null) return null;
    return [columns.clientIds, columns.resourceIds, columns.userJson, columns.userJsonEnd, this.identity.orgAndEnd(identifier, generation), generation];
  }

  private row(b: SessionBatch, i: number): void {
    this.room(0);
    this.bytes(KEY.timestamp);
    this.integer(Math.floor(b.startUs[i]! / 1e6));
    this.bytes(PROTOCOL_FIELD[b.protocol[i]!]!);
    const generation = b.idGeneration[i]!;
    if (generation >= 0) {
      this.fragment(b, generation, IdentityFragment.Resource, b.idResource[i]!);
      this.fragment(b, generation, IdentityFragment.Client, b.idClient[i]!);
    } else if (b.siteResourceId[i] !== b.siteResourceId[i] && b.clientId[i] !== b.clientId[i] && b.userId[i] === null) {
      this.bytes(NO_IDS);
    } else {
      this.bytes(KEY.siteResourceId);
      this.integer(b.siteResourceId[i]!);
      this.bytes(KEY.clientId);
      this.integer(b.clientId[i]!);
      this.bytes(KEY.userId);
      this.text(b.userId[i]!);
    }
    this.bytes(KEY.sourceAddr);
    b.resolveText(i);
    this.endpoint(b.sourceText[i]!, b.sourceIp4[i]!, b.sourcePort[i]!);
    this.bytes(KEY.destAddr);
    this.endpoint(b.destText[i]!, b.destIp4[i]!, b.destPort[i]!);
    this.bytes(KEY.duration);
    this.seconds(b.endUs[i]! - b.startUs[i]!); // NaN, so null, while open
    this.bytes(KEY.bytesTx);
    this.integer(b.bytesTx[i]!);
    this.bytes(KEY.bytesRx);
    this.integer(b.bytesRx[i]!);
    this.bytes(KEY.startedAt);
    this.seconds(b.startUs[i]!);
    this.bytes(KEY.endedAt);
    this.seconds(b.endUs[i]!);
    this.bytes(KEY.packetsTx);
    this.integer(b.packetsTx[i]!);
    this.bytes(KEY.packetsRx);
    this.integer(b.packetsRx[i]!);
    this.bytes(KEY.missedBytesTx);
    this.integer(b.missedBytesTx[i]!);
    this.bytes(KEY.missedBytesRx);
    this.integer(b.missedBytesRx[i]!);
    this.bytes(STATE_FIELD[b.state[i]!]!);
    this.plain(b.historyText(i));
    const reason = b.endReason[i]!;
    this.bytes(reason === STILL_OPEN ? OPEN_FIELD : END_FIELD[reason]!);
    const idText = b.sessionIdText[i];
    if (idText != null) this.escaped(idText);
    else {
      this.hex(b.sessionIdHi[i]!);
      this.hex(b.sessionIdLo[i]!);
    }
    if (generation >= 0) return this.bytes(this.identity.orgAndEnd(b.identifier!, generation));
    if (b.orgId[i] === null && b.siteId[i] !== b.siteId[i]) return this.bytes(NO_ORG_END);
    else {
      this.bytes(KEY.orgId);
      this.text(b.orgId[i]!);
      this.bytes(KEY.siteId);
      this.integer(b.siteId[i]!);
    }
    this.bytes(KEY.end);
  }

  /** A row's identity held by reference: text made once per client, resource or org map. */
  private fragment(b: SessionBatch, generation: number, kind: FragmentKind, position: number): void {
    const ids = this.identity;
    let from = ids.find(b.identifier!, generation, kind, position);
    const end = ids.end;
    this.room(end - from);
    const src = ids.arena;
    const buf = this.buf;
    let at = this.at;
    while (from < end) buf[at++] = src[from++]!;
    this.at = at;
  }

  /**
   * Makes room for `n` more bytes and the rest of the row (ROW_ROOM). A full buffer is not grown and copied (the end-of-capture
   * flush of 41k sessions copied 1+2+...+16 MB, 3.5% of a replay's profile): its bytes become
   * a chunk of their own, taken in order, and writing goes on in another buffer. A line may
   * span two chunks; the stream gets the same bytes.
   */
  private room(n: number): void {
    if (this.at + n + ROW_ROOM > this.buf.length) this.seal(n + ROW_ROOM);
  }

  /** Ends the buffer in use (its bytes a chunk of their own) and goes on in one of `need` bytes or more. */
  private seal(need: number): void {
    if (this.at > 0) {
      this.sealed.push(this.buf.subarray(0, this.at));
      this.sealedBytes += this.at;
    }
    this.buf = need <= BUFFER_BYTES ? (this.spare.pop() ?? Buffer.allocUnsafe(BUFFER_BYTES)) : Buffer.allocUnsafe(need);
    this.at = 0;
  }

  private bytes(a: Uint8Array): void {
    this.buf.set(a, this.at); // faster than a byte loop from about 8 bytes (18 ns against 28)
    this.at += a.length;
  }

  /** A number that is null when NaN; integers in digits, anything else as JavaScript prints it. */
  private integer(n: number): void {
    if (n !== n) this.bytes(NULL);
    else if (n >= 0 && n <= 0x7fffffff && n === Math.floor(n)) this.digits(n);
    else this.plain(String(n));
  }

  /** Decimal digits of an integer 0 <= n < 2^31, two at a time. */
  private digits(n: number): void {
    const buf = this.buf;
    const width = n < 10 ? 1 : n < 100 ? 2 : n < 1e3 ? 3 : n < 1e4 ? 4 : n < 1e5 ? 5 : n < 1e6 ? 6 : n < 1e7 ? 7 : n < 1e8 ? 8 : n < 1e9 ? 9 : 10;
    let at = this.at + width;
    this.at = at;
    while (n >= 100) {
      const q = (n / 100) | 0;
      const pair = (n - q * 100) * 2;
      buf[--at] = DIGIT_PAIRS[pair + 1]!;
      buf[--at] = DIGIT_PAIRS[pair]!;
      n = q;
    }
    if (n >= 10) {
      buf[--at] = DIGIT_PAIRS[n * 2 + 1]!;
      buf[--at] = DIGIT_PAIRS[n * 2]!;
    } else buf[--at] = 48 + n;
  }

  /** Microseconds as seconds (null when NaN): JavaScript's text of `us / 1e6`. */
  private seconds(us: number): void {
    if (us !== us) return this.bytes(NULL);
    if (!(us >= 0 && us < MICROS_EXACT && us === Math.floor(us))) return this.plain(String(us / 1e6));
    const whole = Math.floor(us / 1e6);
    let frac = us - whole * 1e6;
    if (whole <= 0x7fffffff) this.digits(whole);
    else this.plain(String(whole));
    if (frac === 0) return;
    let width = 6;
    while (frac % 10 === 0) {
      frac /= 10;
      width--;
    }
    const buf = this.buf;
    buf[this.at++] = 46; // '.'
    let at = this.at + width;
    this.at = at;
    // `width` digits, leading zeros included: pairs, then an odd one.
    for (let left = width; left >= 2; left -= 2) {
      const q = (frac / 100) | 0;
      const pair = (frac - q * 100) * 2;
      buf[--at] = DIGIT_PAIRS[pair + 1]!;
      buf[--at] = DIGIT_PAIRS[pair]!;
      frac = q;
    }
    if (width & 1) buf[--at] = 48 + frac;
  }

  private hex(w: number): void {
    const buf = this.buf;
    for (let shift = 28; shift >= 0; shift -= 4) buf[this.at++] = HEX[(w >>> shift) & 15]!;
  }

  /** `a.b.c.d:port`, or the endpoint's own text when it has one. */
  private endpoint(text: string | null, ip: number, port: number): void {
    if (text !== null) return this.escaped(text);
    const buf = this.buf;
    this.digits(ip >>> 24);
    buf[this.at++] = 46;
    this.digits((ip >>> 16) & 0xff);
    buf[this.at++] = 46;
    this.digits((ip >>> 8) & 0xff);
    buf[this.at++] = 46;
    this.digits(ip & 0xff);
    buf[this.at++] = 58; // ':'
    this.digits(port);
  }

  /** A quoted JSON string, or null. */
  private text(s: string | null): void {
    if (s === null) return this.bytes(NULL);
    this.buf[this.at++] = 34; // '"'
    this.escaped(s);
    this.buf[this.at++] = 34;
  }

  /** Text inside quotes already written: as is when plain printable ASCII, else escaped. */
  private escaped(s: string): void {
    for (let j = 0; j < s.length; j++) {
      const c = s.charCodeAt(j);
      if (c < 0x20 || c > 0x7e || c === 34 || c === 92) {
        const json = JSON.stringify(s);
        this.room(json.length * 3);
        this.at += this.buf.write(json.slice(1, -1), this.at, 'utf8');
        return;
      }
    }
    this.plain(s);
  }

  /** Printable ASCII text as bytes. */
  private plain(s: string): void {
    this.room(s.length * 3);
    const buf = this.buf;
    let at = this.at;
    for (let j = 0; j < s.length; j++) buf[at++] = s.charCodeAt(j);
    this.at = at;
  }
}
