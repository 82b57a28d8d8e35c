import type { FlowIdentifier, FlowIdentity } from '../flow/flow-identifier.js';

/** Which of a row's identity fragments: the resource's or the client's. */
export const IdentityFragment = { Resource: 0, Client: 1 } as const;
export type FragmentKind = (typeof IdentityFragment)[keyof typeof IdentityFragment];

/** A map generation's text: [start, end) in the arena by position + 1 for each fragment kind (0: none; end 0: not made yet), and the org's. */
interface GenerationText {
  offsets: Int32Array[];
  orgEnd: Uint8Array;
}

/**
 * The TypeScript writer's JSON text of the identity fields (the native writer reads a map's
 * IdentityColumns instead), for rows that hold their identity by reference (see
 * SessionBatch), made once per org map generation, client and resource, so a row costs byte
 * copies instead of values read out of the org map and formatted. The text is
 * JSON.stringify's, keys included, so lines stay byte-equal to JSON.stringify(record):
 *   Resource: ,"siteResourceId":ID            Client: ,"clientId":ID,"userId":"USER"
 *   Org end:  ","orgId":"ORG","siteId":ID}\n  (the quote closes the sessionId before it)
 * Client and resource text sits in one arena, found through an Int32Array per generation and
 * kind: a replay with a 100k-client map touches tens of thousands of them, and separate
 * objects per fragment cost a cache miss more each (measured: 201 against 162 ms of a replay's
 * profile). The org's text is the same for every row of a generation and is kept whole.
 */
export class IdentityJson {
  arena = Buffer.allocUnsafe(1 << 16);
  /** End of the fragment the last find() returned. */
  end = 0;
  private used = 0;
  private identifier: FlowIdentifier | null = null;
  /** By map generation (rows of flows opened before a reload keep theirs). */
  private generations: GenerationText[] = [];
  private readonly who: FlowIdentity = { orgId: null, siteId: null, clientId: null, userId: null, siteResourceId: null };

  /** Start in `arena` of the fragment (`end` is set too); `position` is -1 for none. */
  find(identifier: FlowIdentifier, generation: number, kind: FragmentKind, position: number): number {
    const offsets = this.of(identifier, generation).offsets;
    let table = offsets[kind]!;
    const k = 2 * (position + 1);
    if (k + 1 >= table.length) {
      const grown = new Int32Array(Math.max(16, 2 * (k + 2)));
      grown.set(table);
      offsets[kind] = table = grown;
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

  /** The org's fields and the row's end, for a row of `generation`. */
  orgAndEnd(identifier: FlowIdentifier, generation: number): Uint8Array {
    return this.of(identifier, generation).orgEnd;
  }

  /** The text of `generation` of `identifier`, made on first use (a new identifier starts over). */
  private of(identifier: FlowIdentifier, generation: number): GenerationText {
    if (identifier !== this.identifier) {
      this.identifier = identifier;
      this.generations = [];
      this.used = 0;
    }
    let made = this.generations[generation];
    if (made === undefined) {
      const who = this.who;
      identifier.describe(generation, -1, -1, who);
      // On-heap bytes like the encoder's other constants, so its copy routine sees one kind of array.
      const orgEnd = Uint8Array.from(Buffer.from(`","orgId":${JSON.stringify(who.orgId)},"siteId":${JSON.stringify(who.siteId)}}\n`, 'utf8'));
      this.generations[generation] = made = { offsets: [new Int32Array(0), new Int32Array(0)], orgEnd };
    }
    return made;
  }

  private text(identifier: FlowIdentifier, generation: number, kind: FragmentKind, position: number): string {
    const who = this.who;
    identifier.describe(generation, kind === IdentityFragment.Client ? position : -1, kind === IdentityFragment.Resource ? position : -1, who);
    const json = JSON.stringify;
    if (kind === IdentityFragment.Resource) return `,"siteResourceId":${json(who.siteResourceId)}`;
    return `,"clientId":${json(who.clientId)},"userId":${json(who.userId)}`;
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
