import type { IdentityMatcherData } from './identity-matcher.js';
import { maskWord } from './ip-prefix.js';
import type { PortSegmentsData } from './port-segments.js';
import type { PrefixTableData } from './prefix-table.js';

/** Scope as the addon numbers it. */
const SCOPE_CODE = { resources: 0, clients: 1, all: 2 } as const;

/**
 * An org map's look-ups (IdentityMatcherData) as one Int32Array, so that the decoding addon
 * (native/netlog_decode.cc, Matcher) looks new flows up ahead itself, with IdentityMatcher's
 * tables and arithmetic, instead of leaving each such packet to TypeScript. Offsets are word
 * indices into the same array:
 *   [0] scope; [1..4] the prefix tables clients, subnets, hosts, cidrs; [5], [6] the port
 *   segments of hosts and of cidrs.
 *   A prefix table: IPv4 table count, IPv6 table count, offset of `firsts`, then each length
 *   table (IPv4 ones first, longest first, as PrefixTable probes them): offset of its cells,
 *   slot mask, shift, stride, and its prefix mask word by word.
 *   Port segments: offset of `groupStart`, offset of `segments`.
 * The cells and segments are copied in once, when the map loads (IdentityMatcher.sharedData),
 * into shared memory that each replay's decoding thread is sent; made by each decoding thread
 * as it started, the copy held up its first packets by about 5 ms (scratch).
 */
export function flattenMatcher(d: Omit<IdentityMatcherData, 'flat'>): Int32Array {
  const header: number[] = new Array(7).fill(0);
  const pool: Int32Array[] = [];
  let poolWords = 0;
  /** Places that hold an offset into the pool, made absolute once the header's size is known. */
  const poolRefs: number[] = [];
  const place = (data: Int32Array, at: number) => {
    header[at] = poolWords;
    poolRefs.push(at);
    pool.push(data);
    poolWords += data.length;
  };
  const prefixTable = (t: PrefixTableData): number => {
    const start = header.length;
    header.push(t.v4.length, t.v6.length, 0);
    place(t.firsts, start + 2);
    for (const table of [...t.v4, ...t.v6]) {
      const stride = table.version === 4 ? 2 : 5;
      const slots = table.cells.length / stride;
      // Eight words (netlog_decode.cc Matcher::TABLE_WORDS).
      const at = header.length;
      header.push(0, slots - 1, 32 - Math.log2(slots), stride);
      for (let i = 0; i < 4; i++) header.push(maskWord(0xffffffff, table.length - 32 * i) | 0);
      place(table.cells, at);
    }
    return start;
  };
  const portSegments = (p: PortSegmentsData): number => {
    const start = header.length;
    header.push(0, 0);
    place(p.groupStart, start);
    place(p.segments, start + 1);
    return start;
  };
  header[0] = SCOPE_CODE[d.scope];
  header[1] = prefixTable(d.clients);
  header[2] = prefixTable(d.subnets);
  header[3] = prefixTable(d.hosts);
  header[4] = prefixTable(d.cidrs);
  header[5] = portSegments(d.hostPorts);
  header[6] = portSegments(d.cidrPorts);
  for (const at of poolRefs) header[at] += header.length;
  const out = new Int32Array(new SharedArrayBuffer(4 * (header.length + poolWords)));
  out.set(header);
  let at = header.length;
  for (const data of pool) {
    out.set(data, at);
    at += data.length;
  }
  return out;
}
