import type { OrgMapNames } from '../identity/org-map.js';

/** Names the API adds to a record: what the dashboard shows instead of bare ids. */
export interface SessionNames {
  clientName: string | null;
  resourceName: string | null;
  userEmail: string | null;
  userName: string | null;
}

interface OrgNames {
  clients: Map<number, string>;
  resources: Map<number, string>;
  users: Map<string, { email: string | null; name: string | null }>;
}

function namesOf(map: OrgMapNames): OrgNames {
  const clients = new Map<number, string>();
  for (const c of map.clients) if (c.name) clients.set(c.clientId, c.name);
  const resources = new Map<number, string>();
  for (const r of map.siteResources) if (r.name) resources.set(r.siteResourceId, r.name);
  const users = new Map<string, { email: string | null; name: string | null }>();
  for (const u of map.users ?? []) users.set(u.userId, { email: u.email ?? null, name: u.name ?? null });
  return { clients, resources, users };
}

/**
 * Client, resource and user names by org, from the org maps the server was given. In the
 * capture daemon the map can be reloaded, so the maps are asked for on each use and the
 * indexes rebuilt only when a map object changes.
 */
export class OrgDirectory {
  private readonly cache = new WeakMap<OrgMapNames, OrgNames>();

  constructor(private readonly maps: () => readonly OrgMapNames[]) {}

  /** Every org map of `orgId` (one per site), newest names win. */
  private orgNames(orgId: string): OrgNames[] {
    const out: OrgNames[] = [];
    for (const m of this.maps()) {
      if (m.orgId !== orgId) continue;
      let names = this.cache.get(m);
      if (!names) this.cache.set(m, (names = namesOf(m)));
      out.push(names);
    }
    return out;
  }

  /** A lookup for one request: the org's indexes are found once, then each record is cheap. */
  forOrg(orgId: string) {
    const orgs = this.orgNames(orgId);
    const pick = <K, V>(get: (o: OrgNames) => Map<K, V>, key: K | null): V | null => {
      if (key === null) return null;
      for (const o of orgs) {
        const v = get(o).get(key);
        if (v !== undefined) return v;
      }
      return null;
    };
    return {
      client: (id: number | null) => pick((o) => o.clients, id),
      resource: (id: number | null) => pick((o) => o.resources, id),
      user: (id: string | null) => pick((o) => o.users, id),
      names(r: { clientId: number | null; siteResourceId: number | null; userId: string | null }): SessionNames {
        const user = pick((o) => o.users, r.userId);
        return {
          clientName: pick((o) => o.clients, r.clientId),
          resourceName: pick((o) => o.resources, r.siteResourceId),
          userEmail: user?.email ?? null,
          userName: user?.name ?? null,
        };
      },
    };
  }
}
