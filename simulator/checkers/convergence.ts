/**
 * Convergence: after the final heal and the settle period, every site of a replicant's scope holds
 * the document at the same heads, and every site's application holds the desired state (compared
 * without site-local fields, as the glue defines them), or holds nothing when the replicant is
 * deleted. A replica the application refused (`failed`) counts as not converged: every site runs
 * the same application, so what one accepted the others must accept. A site that could not
 * restart from its own store cannot converge either.
 *
 * A shared secret's replicant (sharing, DESIGN.md §7) is held to the sites it lists itself (its
 * owner and the sites it was shared with, joined ones included), not to every site that may ever
 * share it; one never shared is its owner's alone, and once its last life is deleted its owner may
 * have made it again, unshared.
 */
import type { SiteName } from '../../core/ids.js';
import { metaIdOfDocId } from '../../crdt/replicant.js';
import { kubernetesReplicationGlue } from '../../glue/kubernetes/index.js';
import { isJsonObject, type JsonObject } from '../../glue/json.js';
import { sameJson } from '../../node/replication/applier.js';
import { markerOf } from '../harness/app-log.js';
import { appKeyText, listsItsOwnSites, replicatedLike, sitesThatMayHold, type WorkloadKey } from '../workload/key-space.js';
import type { ReplicantHistory } from './replicant-history.js';
import { describeRef, resultOf, type AppObject, type CheckContext, type CheckerResult } from './types.js';

/** Each replicated key's incarnations held anywhere, oldest first. */
export function incarnationsByKey(ctx: Pick<CheckContext, 'keys' | 'final'>): Map<WorkloadKey, Array<{ incarnation: number; history: ReplicantHistory }>> {
  const byKey = new Map<WorkloadKey, Array<{ incarnation: number; history: ReplicantHistory }>>();
  for (const [docId, history] of ctx.final.histories) {
    const metaId = metaIdOfDocId(docId);
    const found = metaId === undefined ? undefined : ctx.keys.byMetaId(metaId);
    if (found === undefined) continue;
    const list = byKey.get(found.key) ?? [];
    list.push({ incarnation: found.incarnation, history });
    byKey.set(found.key, list);
  }
  for (const list of byKey.values()) list.sort((a, b) => a.incarnation - b.incarnation);
  return byKey;
}

/** The first place two JSON values differ (`data.k1: "v3" ≠ "v7"`). */
export function firstDifference(a: unknown, b: unknown, path = ''): string | undefined {
  if (sameJson(a, b)) return undefined;
  if (isJsonObject(a) && isJsonObject(b)) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const found = firstDifference(a[key], b[key], path === '' ? key : `${path}.${key}`);
      if (found !== undefined) return found;
    }
  }
  return `${path === '' ? '(object)' : path}: ${JSON.stringify(a) ?? 'absent'} ≠ ${JSON.stringify(b) ?? 'absent'}`;
}

/** The sites a replicant of `key` must be at: its scope's, or as it lists them (a shared secret's, a widenable key's). */
export function sitesOfReplicant(key: WorkloadKey, history: ReplicantHistory): readonly SiteName[] {
  if (!listsItsOwnSites(key)) return key.sites;
  return history.replicant?.meta.sites ?? history.holders;
}

/** The markers of an incarnation's writes. */
export function markersOfWrites(history: ReplicantHistory): Set<string> {
  return new Set(history.writes.map((write) => write.marker).filter((marker): marker is string => marker !== undefined));
}

function sameHeads(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return a !== undefined && b !== undefined && [...a].sort().join() === [...b].sort().join();
}

function checkDocuments(ctx: CheckContext, key: WorkloadKey, incarnation: number, history: ReplicantHistory, latest: boolean): string[] {
  const violations: string[] = [];
  const what = `${history.docId} (${describeRef(key.ref)} #${incarnation})`;
  const heads = sitesOfReplicant(key, history).map((site) => ({ site, heads: ctx.sim.site(site).nodeIfUp?.documents.heads(history.docId) }));
  const reference = heads.find((entry) => entry.heads !== undefined)?.heads;
  for (const { site, heads: siteHeads } of heads) {
    if (siteHeads === undefined) violations.push(`${what}: ${site} does not hold it`);
    else if (!sameHeads(siteHeads, reference)) violations.push(`${what}: ${site} holds other heads than ${heads.find((entry) => entry.heads === reference)?.site ?? '?'}`);
  }
  if (history.replicant === undefined) violations.push(`${what}: the merged document does not decode (${history.invalid ?? '?'})`);
  else if (!latest && !history.replicant.deleted) violations.push(`${what}: live although a later incarnation exists`);
  return violations;
}

function checkApplication(key: WorkloadKey, site: SiteName, history: ReplicantHistory, object: AppObject | undefined, incarnation: number): string | undefined {
  const replicant = history.replicant;
  if (replicant === undefined) return undefined;
  const what = `${describeRef(key.ref)} on ${site}`;
  if (replicant.deleted) {
    return object === undefined ? undefined : `${what}: the application holds it (marker ${markerOf(object) ?? 'none'}) although ${history.docId} #${incarnation} is deleted`;
  }
  const replica = replicant.replicas[site];
  if (replica?.status === 'failed') return `${what}: its replica failed: ${replica.error ?? 'no error recorded'}`;
  const desired = replicant.desired;
  if (object === undefined) return `${what}: the application lacks it (desired ${desired.revision}, marker ${markerOf(desired.body) ?? 'none'})`;
  const canonical = isJsonObject(object) ? kubernetesReplicationGlue.canonical(structuredClone<JsonObject>(object), key.resourceKey) : object;
  if (sameJson(canonical, desired.body)) return undefined;
  return `${what}: the application holds marker ${markerOf(object) ?? 'none'}, desired ${desired.revision} is marker ${markerOf(desired.body) ?? 'none'} (${firstDifference(canonical, desired.body) ?? ''})`;
}

/**
 * Whether the object `site`'s application holds, with no replicant anywhere, is that of a scoped
 * create sent there that was never answered (the site died with it) and never taken in since: the
 * application made it, and the node died before its intent was stored (it is written while the
 * application works, docs/REPLICATION.md). The client, told nothing, retries; its retry adopts the
 * object (a 409 on a scoped create). One that does not retry leaves it there (swarm seed 5400156:
 * two earlier attempts answered 503 had used the client's retries), and so does one whose every
 * retry failed before it could (seed 6300464: the restarted site's application was out, each
 * retry answered 503): no later request of the key was acknowledged or refused.
 */
function unansweredCreateHere(ctx: CheckContext, key: WorkloadKey, site: SiteName, marker: string | undefined): boolean {
  const ops = ctx.history.of(key);
  const op = ops.find((candidate) => candidate.id === marker);
  if (op === undefined || op.call.verb !== 'create' || op.call.scope === undefined || op.status !== undefined || op.outcome !== 'unknown') return false;
  const later = ops.filter((candidate) => candidate.issuedAtMs > op.issuedAtMs);
  return (op.forwardedTo ?? op.site) === site && later.every((candidate) => candidate.outcome === 'unknown' || candidate.outcome === 'skipped');
}

/** The convergence checker. */
export function checkConvergence(ctx: CheckContext): CheckerResult {
  const violations = ctx.restartFailures.map((failure) => `a site could not restart: ${failure}`);
  const down = ctx.sim.sites.filter((site) => site.state !== 'up').map((site) => site.name);
  if (down.length > 0) violations.push(`sites not up after the final heal: ${down.join(', ')}`);
  let checked = 0;
  const byKey = incarnationsByKey(ctx);
  for (const key of ctx.keys.keys.filter((candidate) => replicatedLike(candidate) || candidate.kind === 'shared')) {
    const incarnations = byKey.get(key) ?? [];
    const last = incarnations[incarnations.length - 1];
    incarnations.forEach(({ incarnation, history }) => violations.push(...checkDocuments(ctx, key, incarnation, history, history === last?.history)));
    const shared = key.kind === 'shared';
    for (const site of shared ? (last === undefined ? [] : sitesOfReplicant(key, last.history)) : sitesThatMayHold(key)) {
      checked += 1;
      const object = ctx.final.apps.get(site)?.get(appKeyText(key.ref));
      // The site a write may have widened the key to: it holds what the last incarnation says, if that lists it, else nothing.
      if (site === key.widenTo && last?.history.replicant?.meta.sites.includes(site) !== true) {
        if (object !== undefined) violations.push(`${describeRef(key.ref)} on ${site}: the application holds it (marker ${markerOf(object) ?? 'none'}) though its last replicant${last === undefined ? '' : ` (#${last.incarnation})`} does not list ${site}`);
        continue;
      }
      if (shared && last?.history.replicant?.deleted === true && site === key.sites[0] && object !== undefined && !markersOfWrites(last.history).has(markerOf(object) ?? '')) {
        continue; // made again at its owner since its shared life was deleted
      }
      if (last === undefined) {
        if (object !== undefined && !unansweredCreateHere(ctx, key, site, markerOf(object))) {
          violations.push(`${describeRef(key.ref)} on ${site}: the application holds it (marker ${markerOf(object) ?? 'none'}) but no site holds a replicant of it`);
        }
        continue;
      }
      const problem = checkApplication(key, site, last.history, object, last.incarnation);
      if (problem !== undefined) violations.push(problem);
    }
  }
  // Replicants no workload key names: the run made something it never asked for.
  for (const docId of ctx.final.histories.keys()) {
    const metaId = metaIdOfDocId(docId);
    if (metaId === undefined || ctx.keys.byMetaId(metaId) === undefined) violations.push(`${docId}: a replicant no workload key names`);
  }
  return resultOf('convergence', checked, violations);
}

