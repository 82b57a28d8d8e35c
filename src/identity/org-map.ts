import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { NetlogError } from '../errors.js';
import { parsePrefix, type IpPrefix } from './ip-prefix.js';

/**
 * The org map: who the tunnel clients are and which private resources the site serves, as
 * Pangolin defines them. Loaded from JSON (`--org-map FILE`) and checked against this schema;
 * every error names its path in the file and the value found there.
 */
const address = z.string().refine((s) => parsePrefix(s) !== null, { message: 'is not an IP address or CIDR' });
const portList = z
  .string()
  .refine((s) => parsePorts(s) !== null, { message: 'is not a port list like "22,80,8000-8100" (ports 1-65535)' });

const clientSchema = z.strictObject({
  clientId: z.number().int().positive(),
  /** A user device has one; a machine client has none. */
  userId: z.string().min(1).optional(),
  name: z.string().optional(),
  addresses: z.array(address).min(1),
});

/** A person behind user devices: names the API and the table show for a userId. */
const userSchema = z.strictObject({
  userId: z.string().min(1),
  email: z.string().optional(),
  name: z.string().optional(),
});

const resourceSchema = z.strictObject({
  siteResourceId: z.number().int().positive(),
  name: z.string().optional(),
  mode: z.enum(['host', 'cidr']),
  /** host: an IP or a hostname resolved at load; cidr: a CIDR. */
  destination: z.string().min(1),
  protocol: z.enum(['tcp', 'udp']).optional(),
  ports: portList.optional(),
  alias: z.string().optional(),
});

const orgMapSchema = z.strictObject({
  orgId: z.string().min(1),
  siteId: z.number().int().positive(),
  /** Days sessions are kept; 0 disables network logging. */
  retentionDays: z.number().int().min(0),
  /** The CIDR(s) the tunnel hands client addresses from. */
  clientSubnet: z.union([address, z.array(address).min(1)]),
  clients: z.array(clientSchema),
  users: z.array(userSchema).optional(),
  siteResources: z.array(resourceSchema),
});

export type OrgMapFile = z.infer<typeof orgMapSchema>;
export type ClientEntry = z.infer<typeof clientSchema>;
export type ResourceEntry = z.infer<typeof resourceSchema>;
export type UserEntry = z.infer<typeof userSchema>;

/** A port list as inclusive ranges; null when malformed. */
export function parsePorts(text: string): Array<[number, number]> | null {
  const ranges: Array<[number, number]> = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d{1,5})(?:\s*-\s*(\d{1,5}))?\s*$/.exec(part);
    if (!m) return null;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 1 || hi > 65535 || lo > hi) return null;
    ranges.push([lo, hi]);
  }
  return ranges;
}

/** A resource with its destination resolved to prefixes and its ports to ranges. */
export interface ResolvedResource extends ResourceEntry {
  prefixes: IpPrefix[];
  portRanges: Array<[number, number]> | null;
}

export interface OrgMap extends Omit<OrgMapFile, 'siteResources' | 'clientSubnet'> {
  clientSubnets: IpPrefix[];
  siteResources: ResolvedResource[];
}

/**
 * The parts of an org map that name things, for the API: an OrgMap is one, and so is what an
 * IdentityMap keeps of its map.
 */
export interface OrgMapNames {
  orgId: string;
  clients: ReadonlyArray<{ clientId: number; name?: string }>;
  siteResources: ReadonlyArray<{ siteResourceId: number; name?: string }>;
  users?: readonly UserEntry[];
}

const pathText = (path: ReadonlyArray<PropertyKey>) =>
  path.reduce<string>((a, p) => (typeof p === 'number' ? `${a}[${p}]` : a ? `${a}.${String(p)}` : String(p)), '') || '(top level)';

function invalid(file: string, path: ReadonlyArray<PropertyKey>, value: unknown, message: string): NetlogError {
  const shown = value === undefined ? 'missing' : JSON.stringify(value);
  return new NetlogError('ERR_CONFIG_INVALID', `org map ${pathText(path)}: ${shown} ${message}`, { file });
}

/** Reads, validates and resolves an org map; the first problem is thrown as ERR_CONFIG_INVALID. */
export async function loadOrgMap(file: string, resolveHost: (name: string) => Promise<string[]> = resolveAll): Promise<OrgMap> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new NetlogError('ERR_CONFIG_INVALID', `cannot read the org map: ${(e as Error).message}`, { file });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new NetlogError('ERR_CONFIG_INVALID', `org map is not JSON: ${(e as Error).message}`, { file });
  }
  const parsed = orgMapSchema.safeParse(json, { reportInput: true });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(file, issue.path, 'input' in issue ? issue.input : undefined, issue.message);
  }
  const m = parsed.data;
  for (const [list, idKey] of [
    [m.clients, 'clientId'],
    [m.siteResources, 'siteResourceId'],
  ] as const) {
    const seen = new Set<number>();
    list.forEach((entry, i) => {
      const id = (entry as unknown as Record<string, number>)[idKey]!;
      if (seen.has(id)) throw invalid(file, [list === m.clients ? 'clients' : 'siteResources', i, idKey], id, 'is used twice');
      seen.add(id);
    });
  }
  const siteResources: ResolvedResource[] = [];
  for (const [i, r] of m.siteResources.entries()) {
    let prefixes: IpPrefix[];
    const literal = parsePrefix(r.destination);
    if (r.mode === 'cidr') {
      if (literal === null) throw invalid(file, ['siteResources', i, 'destination'], r.destination, 'is not a CIDR (mode "cidr")');
      prefixes = [literal];
    } else if (literal !== null) {
      if (r.destination.includes('/')) throw invalid(file, ['siteResources', i, 'destination'], r.destination, 'is a CIDR; mode "host" takes one address or a hostname');
      prefixes = [literal];
    } else {
      let addresses: string[];
      try {
        addresses = await resolveHost(r.destination);
      } catch (e) {
        throw invalid(file, ['siteResources', i, 'destination'], r.destination, `does not resolve (${(e as Error).message})`);
      }
      prefixes = addresses.map((a) => parsePrefix(a)!).filter(Boolean);
    }
    siteResources.push({ ...r, prefixes, portRanges: r.ports === undefined ? null : parsePorts(r.ports) });
  }
  const subnets = Array.isArray(m.clientSubnet) ? m.clientSubnet : [m.clientSubnet];
  return { ...m, clientSubnets: subnets.map((s) => parsePrefix(s)!), siteResources };
}

async function resolveAll(name: string): Promise<string[]> {
  return (await lookup(name, { all: true })).map((a) => a.address);
}
