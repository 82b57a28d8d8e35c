import { watch, type FSWatcher } from 'node:fs';
import { IdentityMap } from './identity-map.js';
import type { Scope } from './identity-matcher.js';
import type { IdentityRegistry } from './identity-registry.js';
import { loadOrgMap } from './org-map.js';

export interface ReloadOutcome {
  ok: boolean;
  message: string;
}

/**
 * Reloads the org map on SIGHUP and when its file changes. A new map that fails validation is
 * rejected with its error and the map in force stays; a good one applies to flows created from
 * then on. Each outcome is reported (for the log) with counts.
 */
export class OrgMapWatcher {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly onHup = () => void this.reload();

  constructor(
    private readonly file: string,
    private readonly scope: Scope,
    private readonly registry: IdentityRegistry,
    private readonly report: (outcome: ReloadOutcome) => void,
  ) {}

  start(): this {
    process.on('SIGHUP', this.onHup);
    // Editors replace files (rename) as often as they write them: watch, and settle 100 ms.
    this.watcher = watch(this.file, () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.reload(), 100);
    });
    return this;
  }

  async reload(): Promise<ReloadOutcome> {
    let outcome: ReloadOutcome;
    try {
      const map = new IdentityMap(await loadOrgMap(this.file), this.scope);
      this.registry.replace(map);
      const c = map.counts;
      outcome = { ok: true, message: `org map reloaded: ${c.clients} clients, ${c.siteResources} site resources` };
    } catch (e) {
      outcome = { ok: false, message: `org map rejected, the previous one stays: ${(e as Error).message}` };
    }
    this.report(outcome);
    return outcome;
  }

  stop(): void {
    process.off('SIGHUP', this.onHup);
    this.watcher?.close();
    if (this.timer) clearTimeout(this.timer);
  }
}
