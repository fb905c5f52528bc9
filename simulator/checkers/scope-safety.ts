/**
 * Scope safety: no site outside a resource's scope ever stores its replicant or applies it. The
 * monitor watches while the run goes on (every change any node stores, every write any
 * application answers), so a document that was stored and dropped again, or an object created
 * and deleted again, is caught too; the checker adds what the sites hold at the end.
 *
 * A replicant no workload key names is a violation wherever it is stored: nobody asked for it; so
 * is a write of the node to an object no key names (a deployment's replica set or pod).
 * Keys that are not replicated belong to one site; any other site writing them broke the scope
 * (a `{Site2}` write must be forwarded to Site2, not run where it was sent).
 */
import type { SiteName } from '../../core/ids.js';
import type { DocumentChangedEvent } from '../../crdt/documents.js';
import { metaIdOfDocId } from '../../crdt/replicant.js';
import type { AppWrite } from '../harness/app-log.js';
import type { Simulation } from '../harness/simulation.js';
import { sitesThatMayHold, type KeySpace } from '../workload/key-space.js';
import { DependentLog } from './dependent-log.js';
import { TombstoneLog } from './resurrection.js';
import { at, describeRef, resultOf, type CheckContext, type CheckerResult } from './types.js';

/**
 * Watches stores and applications while a run goes on. It also records when each site first
 * stored each replicant's tombstone, for the no-resurrection checker, and which dependents each
 * site's copy of a shared secret's replicant recorded, for the sharing checker.
 */
export class ScopeMonitor {
  readonly violations: string[] = [];
  readonly tombstones = new TombstoneLog();
  readonly dependents: DependentLog;
  private readonly seen = new Set<string>();
  private readonly unsubscribe: Array<() => void>;

  constructor(
    private readonly sim: Simulation,
    private readonly keys: KeySpace,
  ) {
    this.dependents = new DependentLog(keys);
    this.unsubscribe = [sim.onDocumentChange((site, event) => this.onDocument(site, event)), sim.apps.subscribe((write) => this.onWrite(write))];
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
  }

  private report(dedupe: string, message: string): void {
    if (this.seen.has(dedupe)) return;
    this.seen.add(dedupe);
    this.violations.push(message);
  }

  private onDocument(site: SiteName, event: DocumentChangedEvent): void {
    this.tombstones.record(site, event, this.sim.clock.elapsedMs());
    this.dependents.record(site, event, this.sim.clock.elapsedMs());
    const metaId = metaIdOfDocId(event.docId);
    if (metaId === undefined) return;
    const found = this.keys.byMetaId(metaId);
    const when = at(this.sim.clock.elapsedMs());
    if (found === undefined) {
      this.report(`doc ${site} ${event.docId}`, `${site} stored ${event.docId}, which no workload key names (${event.origin} change, at ${when})`);
    } else if (!sitesThatMayHold(found.key).includes(site)) {
      this.report(
        `doc ${site} ${event.docId}`,
        `${site} stored ${event.docId} (${describeRef(found.key.ref)} #${found.incarnation}) outside its scope ${found.key.scope ?? `(sites ${found.key.sites.join(', ')})`} (${event.origin} change, at ${when})`,
      );
    }
  }

  private onWrite(write: AppWrite): void {
    if (write.key === undefined || write.status >= 300) return;
    const key = this.keys.byAppKey(write.key);
    // The node writes only what users wrote through it: never an owned child (a deployment's
    // replica sets and pods, which each site's controllers make: composition, DESIGN.md §8).
    if (key === undefined && write.source === 'node') {
      const { service, namespace, name } = write.key;
      this.report(`node ${write.site} ${service}/${namespace ?? ''}/${name}`, `${write.site}'s node applied ${write.method} ${service} ${namespace ?? ''}/${name}, which no workload key names (an owned child?), at ${at(write.atMs)}`);
      return;
    }
    if (key === undefined || sitesThatMayHold(key).includes(write.site)) return;
    this.report(
      `app ${write.site} ${describeRef(key.ref)}`,
      `${write.site}'s application applied ${write.method} ${describeRef(key.ref)} (by the ${write.source === 'node' ? 'reconciler' : 'write path'}) outside its sites ${key.sites.join(', ')} at ${at(write.atMs)}`,
    );
  }
}

/** The scope-safety checker: what the monitor saw, and what the sites hold at the end. */
export function checkScopeSafety(ctx: CheckContext): CheckerResult {
  const violations = [...ctx.liveScopeViolations];
  let checked = 0;
  for (const history of ctx.final.histories.values()) {
    checked += 1;
    const metaId = metaIdOfDocId(history.docId);
    const found = metaId === undefined ? undefined : ctx.keys.byMetaId(metaId);
    // A widenable key's replicant may be held by the site a write added only when it lists it.
    const allowed = found === undefined ? [] : found.key.widenTo === undefined ? found.key.sites : sitesThatMayHold(found.key).filter((site) => site !== found.key.widenTo || history.replicant?.meta.sites.includes(site) === true);
    const outside = history.holders.filter((site) => !allowed.includes(site));
    const message = `${outside.join(', ')} still hold${outside.length === 1 ? 's' : ''} ${history.docId} outside its scope`;
    if (outside.length > 0 && !violations.some((violation) => violation.includes(history.docId))) violations.push(message);
  }
  for (const [site, objects] of ctx.final.apps) {
    for (const key of ctx.keys.keys) {
      if (sitesThatMayHold(key).includes(site) || !objects.has(`${key.ref.resource}/${key.ref.namespace}/${key.ref.name}`)) continue;
      violations.push(`${site}'s application holds ${describeRef(key.ref)} outside its sites ${key.sites.join(', ')}`);
    }
  }
  return resultOf('scope-safety', checked, violations);
}
