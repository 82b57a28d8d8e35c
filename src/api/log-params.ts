import { z } from 'zod';
import { NetlogError } from '../errors.js';
import { parseAddressFilter, parseId, parseTime, type SessionFilter } from '../store/session-filter.js';

/** Page size bounds of the network-logs route, as Pangolin's. */
export const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;
const DEFAULT_SPAN_S = 7 * 86_400;

/** A zod transform that runs one of the CLI's parsers; its error becomes the issue message. */
const parsed = <T>(parse: (value: string) => T) =>
  z.string().transform((value, ctx) => {
    try {
      return parse(value);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });

const wholeNumber = (name: string, min: number, max: number) =>
  parsed((v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new Error(`${name} "${v}": must be a whole number from ${min} to ${max}`);
    return n;
  });

/**
 * The query string of `/v1/org/:orgId/logs/network` and its export, Pangolin's names. Unknown
 * parameters are refused, so a misspelt filter is an error rather than a silently wider result.
 */
function logQuerySchema(now: Date) {
  return z.strictObject({
    timeStart: parsed((v) => parseTime('timeStart', v, now)).optional(),
    timeEnd: parsed((v) => parseTime('timeEnd', v, now)).optional(),
    protocol: z.enum(['tcp', 'udp'], { error: (i) => `protocol ${JSON.stringify(i.input)}: must be tcp or udp` }).optional(),
    sourceAddr: parsed((v) => parseAddressFilter('sourceAddr', v)).optional(),
    destAddr: parsed((v) => parseAddressFilter('destAddr', v)).optional(),
    clientId: parsed((v) => parseId('clientId', v)).optional(),
    siteId: parsed((v) => parseId('siteId', v)).optional(),
    siteResourceId: parsed((v) => parseId('siteResourceId', v)).optional(),
    userId: z.string().min(1, 'userId: must not be empty').optional(),
    limit: wholeNumber('limit', 1, MAX_PAGE).optional(),
    offset: wholeNumber('offset', 0, Number.MAX_SAFE_INTEGER).optional(),
  });
}

/**
 * The query string as a SessionFilter scoped to `orgId`, or ERR_QUERY_INVALID naming the
 * parameter and what was wrong. The time range defaults to the last 7 days, as Pangolin's.
 */
export function parseLogQuery(query: Record<string, string>, orgId: string, now: Date = new Date(), defaultRange = true): SessionFilter {
  const result = logQuerySchema(now).safeParse(query);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown query parameter${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`
        : issue.message.startsWith(String(issue.path[0]))
          ? issue.message
          : `${String(issue.path[0])}: ${issue.message}`;
    throw new NetlogError('ERR_QUERY_INVALID', message);
  }
  const q = result.data;
  const untilS = q.timeEnd ?? (defaultRange ? Math.floor(now.getTime() / 1000) : undefined);
  const sinceS = q.timeStart ?? (defaultRange && untilS !== undefined ? untilS - DEFAULT_SPAN_S : undefined);
  if (sinceS !== undefined && untilS !== undefined && sinceS > untilS) {
    throw new NetlogError('ERR_QUERY_INVALID', `timeStart "${query.timeStart ?? ''}" is after timeEnd "${query.timeEnd ?? 'now'}"`);
  }
  const filter: SessionFilter = { orgId, limit: q.limit ?? DEFAULT_PAGE, offset: q.offset ?? 0 };
  if (sinceS !== undefined) filter.sinceS = sinceS;
  if (untilS !== undefined) filter.untilS = untilS;
  if (q.protocol) filter.protocol = q.protocol;
  if (q.sourceAddr) filter.src = q.sourceAddr;
  if (q.destAddr) filter.dst = q.destAddr;
  if (q.clientId !== undefined) filter.clientId = q.clientId;
  if (q.siteId !== undefined) filter.siteId = q.siteId;
  if (q.siteResourceId !== undefined) filter.siteResourceId = q.siteResourceId;
  if (q.userId !== undefined) filter.userId = q.userId;
  return filter;
}
