import type { FlowIdentifier, FlowIdentity } from '../flow/flow-identifier.js';

/** Which of a row's identity fragments: the resource's, the client's, or the org's. */
export const IdentityFragment = { Resource: 0, Client: 1, Org: 2 } as const;
export type FragmentKind = (typeof IdentityFragment)[keyof typeof IdentityFragment];

/**
 * JSON text of the identity fields for rows that hold their identity by reference (see
 * SessionBatch), made once per org map generation, client and resource, and kept in one
 * arena. A row then costs three byte copies instead of five values read out of the org map and
 * formatted. The text is
 * JSON.stringify's, keys included, so lines stay byte-equal to JSON.stringify(record):
 *   Resource: ,"siteResourceId":ID            Client: ,"clientId":ID,"userId":"USER"
 *   Org:      ","orgId":"ORG","siteId":ID      (the quote closes the sessionId before it)
 */
export class IdentityJson {
  arena = Buffer.allocUnsafe(1 << 16);
  /** End of the fragment the last find() returned. */
  end = 0;
  private used = 0;
  private identifier: FlowIdentifier | null = null;
  /** Per generation and fragment kind: [start, end) pairs by position + 1 (0: none); 0 = not made. */
  private offsets: Int32Array[][] = [];
  private readonly who: FlowIdentity = { orgId: null, siteId: null, clientId: null, userId: null, siteResourceId: null };

  /** Start in `arena` of the fragment (`end` is set too); `position` is -1 for none. */
  find(identifier: FlowIdentifier, generation: number, kind: FragmentKind, position: number): number {
    if (identifier !== this.identifier) {
      this.identifier = identifier;
      this.offsets = [];
      this.used = 0;
    }
    const byKind = (this.offsets[generation] ??= [new Int32Array(0), new Int32Array(0), new Int32Array(0)]);
    let table = byKind[kind]!;
    const k = 2 * (position + 1);
    if (k + 1 >= table.length) {
      const grown = new Int32Array(Math.max(16, 2 * (k + 2)));
      grown.set(table);
      byKind[kind] = table = grown;
    }
    if (table[k + 1] === 0) {
      const start = this.used;
      this.write(this.text(identifier, generation, kind, position));
      table[k] = start;
      table[k + 1] = this.used;
    }
    this.end = table[k + 1]!;
    return table[k]!;
  }

  private text(identifier: FlowIdentifier, generation: number, kind: FragmentKind, position: number): string {
    const who = this.who;
    identifier.describe(generation, kind === IdentityFragment.Client ? position : -1, kind === IdentityFragment.Resource ? position : -1, who);
    const json = JSON.stringify;
    if (kind === IdentityFragment.Resource) return `,"siteResourceId":${json(who.siteResourceId)}`;
    if (kind === IdentityFragment.Client) return `,"clientId":${json(who.clientId)},"userId":${json(who.userId)}`;
    return `","orgId":${json(who.orgId)},"siteId":${json(who.siteId)}`;
  }

  private write(text: string): void {
    const need = this.used + Buffer.byteLength(text);
    if (need > this.arena.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * this.arena.length));
      this.arena.copy(grown, 0, 0, this.used);
      this.arena = grown;
    }
    this.used += this.arena.write(text, this.used, 'utf8');
  }
}
