import { loadAddon } from '../native-addon.js';

/** native/netlog_decode.cc parsePcapRecords: PcapFormat.parse's record loop, in C++. */
export type ParsePcapRecords = (
  buf: Uint8Array,
  pos: number,
  end: number,
  recordHeader: number,
  le: boolean,
  swappedLengths: boolean,
  unitsPerSecond: number,
  nsecPerUnit: number,
  linkType: number,
  maxLength: number,
  dataOffset: Int32Array,
  capturedLength: Int32Array,
  originalLength: Float64Array,
  tsSec: Float64Array,
  tsNsec: Int32Array,
  linkTypes: Int32Array,
  interfaceId: Int32Array,
  count: number,
  capacity: number,
  out: Float64Array,
) => void;

/** Why parsePcapRecords stopped (its out[2]). */
export const RecordsStop = { BATCH_FULL: 0, NEED_BYTES: 1, FOR_TYPESCRIPT: 2 } as const;

let parser: ParsePcapRecords | null | undefined;

/** The C++ record loop, or null when the addon is not built. */
export function pcapRecordParser(): ParsePcapRecords | null {
  if (parser === undefined) parser = loadAddon<{ parsePcapRecords: ParsePcapRecords }>('netlog_decode')?.parsePcapRecords ?? null;
  return parser;
}
