/**
 * Every error netlog raises on purpose is a NetlogError with a stable `code`, so callers and
 * tests match on codes, not on message text (the undici convention).
 */
export type NetlogErrorCode =
  | 'ERR_CAPTURE_OPEN' // the file, stream or interface could not be opened or read
  | 'ERR_CAPTURE_READ' // a live capture failed while reading
  | 'ERR_CAPTURE_BAD_MAGIC' // not a pcap, pcapng or gzip file
  | 'ERR_CAPTURE_TRUNCATED' // the capture ends in the middle of a header or record
  | 'ERR_CAPTURE_CORRUPT' // a length or field that cannot be right (bounded before use)
  | 'ERR_LINKTYPE_UNSUPPORTED' // a link type the decoder has no walker for
  | 'ERR_CONFIG_INVALID' // a bad option or configuration value
  | 'ERR_STORE_OPEN' // the DuckDB file cannot be opened (locked, not a database, no permission)
  | 'ERR_STORE_WRITE' // a batch of sessions could not be committed
  | 'ERR_SINK' // a sink (ClickHouse) refused or could not be reached; sessions wait in the outbox
  | 'ERR_STORE_READ' // a query the API built failed in the store (a server-side fault)
  | 'ERR_QUERY_INVALID' // SQL that fails to prepare or run, or that would write; a bad API parameter
  | 'ERR_QUERY_TIMEOUT'; // a query ran past the API's time limit and was interrupted

export interface NetlogErrorPlace {
  /** File name, `-` for standard input. */
  file?: string;
  /** Byte offset in the (decompressed) capture where the bad structure starts. */
  offset?: number;
}

export class NetlogError extends Error {
  readonly code: NetlogErrorCode;
  readonly file: string | undefined;
  readonly offset: number | undefined;

  constructor(code: NetlogErrorCode, message: string, place: NetlogErrorPlace = {}) {
    const where =
      place.file === undefined
        ? ''
        : place.offset === undefined
          ? `${place.file}: `
          : `${place.file} at byte ${place.offset}: `;
    super(`${where}${message}`);
    this.name = 'NetlogError';
    this.code = code;
    this.file = place.file;
    this.offset = place.offset;
  }
}

export function isNetlogError(e: unknown): e is NetlogError {
  return e instanceof NetlogError;
}

/** A NetlogError as plain data, to cross a worker thread's message channel. */
export interface NetlogErrorData {
  code: NetlogErrorCode;
  message: string;
  file: string | undefined;
  offset: number | undefined;
}

export function netlogErrorData(e: NetlogError): NetlogErrorData {
  return { code: e.code, message: e.message, file: e.file, offset: e.offset };
}

/** The NetlogError again; its message already names the place. */
export function netlogErrorFromData(d: NetlogErrorData): NetlogError {
  const e = new NetlogError(d.code, d.message);
  return Object.assign(e, { file: d.file, offset: d.offset });
}
