import type { DuckDBConnection } from '@duckdb/node-api';
import { historyLetter } from '../flow/conn-state.js';
import { BATCH_ROWS, HISTORY_CODES, ROW_IPV6, ROW_TEXT, STILL_OPEN, type SessionBatch } from '../flow/session-batch.js';
import { CONN_STATES, END_REASONS, PROTOCOLS } from '../flow/session-record.js';
import { loadAddon } from '../native-addon.js';
import type { RowsScan } from './session-chunk.js';

/** native/netlog_store.cc. */
interface NativeStore {
  register(connection: unknown, name: string, columns: string[], enums: string[][], historyLetters: string): object;
  load(handle: object, numerics: Uint8Array[], layouts: Int32Array[], lengths: Int32Array, texts: Array<Int32Array | null>, arena: Uint8Array, slots: Int32Array, slotCount: number): void;
  clear(handle: object): void;
  layout: { columns: number; texts: number; outputs: number; historyMax: number; stillOpen: number; rowIpv6: number; vectorSize: number };
}

/** The batch columns the addon reads, in the order of its Column enum. */
const STORE_ORDER = [
  'startUs', 'endUs', 'bytesTx', 'bytesRx', 'packetsTx', 'packetsRx', 'missedBytesTx', 'missedBytesRx',
  'siteResourceId', 'clientId', 'siteId',
  'sourceIp4', 'destIp4', 'sourceIp6', 'destIp6', 'sessionIdHi', 'sessionIdLo',
  'sourcePort', 'destPort', 'protocol', 'state', 'endReason', 'rowKind', 'historyLength', 'historyCodes',
] as const;

/** A batch's text columns, in the order of the addon's Text enum (`history` only for rows of text). */
const TEXT_COLUMNS = ['userId', 'sourceText', 'destText', 'history', 'sessionIdText', 'orgId'] as const;
const HISTORY_SLOT = TEXT_COLUMNS.indexOf('history');

/** The hot table's columns, which the addon's function returns in this order (its Out enum). */
export const NATIVE_SCAN_COLUMNS = [
  'timestamp', 'protocol', 'siteResourceId', 'clientId', 'userId', 'sourceIp4', 'sourcePort', 'sourceText',
  'destIp4', 'destPort', 'destText', 'duration', 'bytesTx', 'bytesRx', 'startedAt', 'endedAt',
  'packetsTx', 'packetsRx', 'missedBytesTx', 'missedBytesRx', 'state', 'history', 'endReason',
  'sessionIdHi', 'sessionIdLo', 'sessionIdText', 'orgId', 'siteId',
  'sourceIp6Hi', 'sourceIp6Lo', 'destIp6Hi', 'destIp6Lo',
];

/** A history code's letter (code = event * 2 + 0 originator | 1 responder). */
const HISTORY_LETTERS = Array.from({ length: HISTORY_CODES }, (_, code) => historyLetter(code >> 1, (code & 1) === 0)).join('');

const NATIVE_STORE = agreeing(loadAddon<NativeStore>('netlog_store'));

/** The addon, if it reads the batches as SessionBatch lays them out (a stale build is not used). */
function agreeing(addon: NativeStore | null): NativeStore | null {
  const l = addon?.layout;
  if (!l) return null;
  const agrees =
    l.columns === STORE_ORDER.length && l.texts === TEXT_COLUMNS.length && l.outputs === NATIVE_SCAN_COLUMNS.length && l.historyMax === HISTORY_CODES &&
    l.stillOpen === STILL_OPEN && l.rowIpv6 === ROW_IPV6 && l.vectorSize === BATCH_ROWS && HISTORY_LETTERS.length === HISTORY_CODES;
  return agrees ? addon : null;
}

/** Is the native scan built (and reading the batches as this code lays them out)? */
export function nativeScanLoaded(): boolean {
  return NATIVE_STORE !== null;
}

let scans = 0;
/** Why the last NativeRowsScan.on fell back to the JavaScript scan, if it did. */
export let nativeScanProblem: string | null = null;

/**
 * Session batches as a DuckDB table function of hot rows, filled by native/netlog_store.cc on
 * DuckDB's own threads straight from the batches' typed arrays: the thread that runs a replay's
 * flow table is not asked for chunks, and DuckDB evaluates no casts. What crosses as text
 * (identity from an org map, rows made from records) is written here, once a write, into one
 * UTF-8 arena the addon reads: a distinct text once, a slot for every row and column that has
 * one. A scan's batches must stay untouched from load() until clear().
 */
export class NativeRowsScan implements RowsScan {
  /** The table function, one name a scan (two scans on one instance must not share one). */
  readonly functionName = `netlog_native_rows_${++scans}`;
  private readonly handle: object;
  /** The loaded batches, held so that their memory lives until clear(). */
  private held: SessionBatch[] = [];
  private readonly layouts = new WeakMap<SessionBatch, Int32Array>();
  private readonly texts = new WeakMap<SessionBatch, Int32Array>();
  private arena = Buffer.allocUnsafe(1 << 16);
  private arenaUsed = 0;
  private slots = new Int32Array(1024);
  private readonly slotOf = new Map<string, number>();

  /** `connection`'s DuckDB is loaded by then (the connection exists), which the addon looks for. */
  constructor(
    connection: DuckDBConnection,
    private readonly addon: NativeStore,
  ) {
    // node-api's connection holds the bindings' external, which the addon checks by type tag.
    const external = (connection as unknown as { connection: unknown }).connection;
    this.handle = addon.register(external, this.functionName, NATIVE_SCAN_COLUMNS, [[...PROTOCOLS], [...CONN_STATES], [...END_REASONS]], HISTORY_LETTERS);
  }

  /**
   * The native scan on `connection`, or null where the addon is not built or cannot register
   * (a @duckdb/node-bindings whose connection is not what the addon checks for): the store then
   * writes through the JavaScript scan, the same rows more slowly.
   */
  static on(connection: DuckDBConnection): NativeRowsScan | null {
    if (NATIVE_STORE === null) return null;
    try {
      return new NativeRowsScan(connection, NATIVE_STORE);
    } catch (e) {
      nativeScanProblem = (e as Error).message;
      return null;
    }
  }

  /** The batches the next scan reads (each once); their identity is resolved and text slotted. */
  load(batches: SessionBatch[]): void {
    this.slotOf.clear();
    this.arenaUsed = 0;
    const numerics: Uint8Array[] = [];
    const layouts: Int32Array[] = [];
    const texts: Array<Int32Array | null> = [];
    const lengths = new Int32Array(2 * batches.length);
    batches.forEach((b, k) => {
      b.resolveIdentity();
      numerics.push(b.numeric);
      layouts.push(this.layoutOf(b));
      texts.push(this.slotTexts(b));
      lengths[2 * k] = b.capacity;
      lengths[2 * k + 1] = b.length;
    });
    this.held = batches;
    this.addon.load(this.handle, numerics, layouts, lengths, texts, this.arena, this.slots, this.slotOf.size);
  }

  /** Lets go of the batches (after the write, whether it went in or not). */
  clear(): void {
    this.addon.clear(this.handle);
    this.held = [];
  }

  /** How many batches are loaded. */
  get loaded(): number {
    return this.held.length;
  }

  insertRows(table: string): string {
    return `INSERT INTO ${table} (${NATIVE_SCAN_COLUMNS.map((c) => `"${c}"`).join(', ')}) SELECT * FROM ${this.functionName}()`;
  }

  /** Byte offsets of STORE_ORDER's columns in the batch's numeric buffer (fixed per batch). */
  private layoutOf(b: SessionBatch): Int32Array {
    let layout = this.layouts.get(b);
    if (layout === undefined) {
      layout = Int32Array.from(STORE_ORDER, (name) => b[name].byteOffset - b.numeric.byteOffset);
      this.layouts.set(b, layout);
    }
    return layout;
  }

  /** The batch's text slots (TEXT_COLUMNS by row, -1 for none), or null if it has no text. */
  private slotTexts(b: SessionBatch): Int32Array | null {
    let slots: Int32Array | null = null;
    for (let c = 0; c < TEXT_COLUMNS.length; c++) {
      const column = b[TEXT_COLUMNS[c]!] as ReadonlyArray<string | null>;
      const base = c * b.capacity;
      for (let i = 0; i < b.length; i++) {
        const t = column[i];
        // A history is text only in rows of text; the flow table's rows hold its codes.
        if (t == null || (c === HISTORY_SLOT && b.rowKind[i] !== ROW_TEXT)) continue;
        if (slots === null) {
          slots = this.texts.get(b) ?? new Int32Array(TEXT_COLUMNS.length * b.capacity);
          this.texts.set(b, slots);
          slots.fill(-1);
        }
        slots[base + i] = this.slot(t);
      }
    }
    return slots;
  }

  /** The slot of `text` in this write's arena, written there the first time. */
  private slot(text: string): number {
    const known = this.slotOf.get(text);
    if (known !== undefined) return known;
    const most = 3 * text.length;
    if (this.arenaUsed + most > this.arena.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.arena.length, this.arenaUsed + most));
      this.arena.copy(grown, 0, 0, this.arenaUsed);
      this.arena = grown;
    }
    const bytes = this.arena.write(text, this.arenaUsed, 'utf8');
    const slot = this.slotOf.size;
    if (2 * slot + 2 > this.slots.length) {
      const grown = new Int32Array(2 * this.slots.length);
      grown.set(this.slots);
      this.slots = grown;
    }
    this.slots[2 * slot] = this.arenaUsed;
    this.slots[2 * slot + 1] = bytes;
    this.arenaUsed += bytes;
    this.slotOf.set(text, slot);
    return slot;
  }
}
