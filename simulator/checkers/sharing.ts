/**
 * Sharing (DESIGN.md §7–§8): what a pod relies on is where the pod is, and the share's refusals
 * and the relationship model's hold.
 *
 * - After settling, every pod relying on a shared secret that an application holds has its
 *   secret in the same application, with the content of the owner's copy (compared without the
 *   fields local to a site, as the glue defines them); unless the owner holds none after a
 *   delete that could not know of the pod (made concurrently: deletedUnderIt).
 * - A create of such a pod that the share refused (409: the owner lacks the secret, or the site
 *   holds one of that name not shared; 503: the owner could not be asked; the answer names the
 *   dependency, and says nothing was written) made no pod from that op on any site, even for a
 *   moment (its op marker in the application log).
 * - A delete of the secret acknowledged with a meta-ID (a replicated delete: the only kind the
 *   relationship model can refuse) is a violation when, as it was sent, the site's copy of the
 *   replicant recorded a dependent pod whose create had been acknowledged, and that pod stood on
 *   its site from before the delete was sent until it was answered (application log). Deletes the
 *   relationship model cannot have refused are left out: one answered without a meta-ID (the
 *   owner had not heard of the share yet), one sent before the dependent's record reached the
 *   owner. A pod left without its secret by such a race is reported by the first rule.
 */
import { asSiteName, type SiteName } from '../../core/ids.js';
import { replicantDocId } from '../../crdt/replicant.js';
import { kubernetesReplicationGlue } from '../../glue/kubernetes/index.js';
import { isJsonObject, type JsonObject } from '../../glue/json.js';
import { sameJson } from '../../node/replication/applier.js';
import { markerOf } from '../harness/app-log.js';
import type { OpRecord } from '../workload/history.js';
import { appKeyText, type WorkloadKey } from '../workload/key-space.js';
import { firstDifference } from './convergence.js';
import { dependentText } from './dependent-log.js';
import { at, describeRef, resultOf, type AppObject, type CheckContext, type CheckerResult } from './types.js';

function describeOp(op: OpRecord): string {
  const answer = `${op.status ?? '?'}${op.cheopsError === undefined ? '' : ` ${op.cheopsError.code}`}`;
  return `${op.id} (${op.call.verb} ${describeRef(op.key.ref)} on ${op.site}${op.call.scope === undefined ? '' : ` scope ${op.call.scope}`}, answered ${answer} at ${at(op.answeredAtMs)})`;
}

function canonical(object: AppObject, key: WorkloadKey): unknown {
  return isJsonObject(object) ? kubernetesReplicationGlue.canonical(structuredClone<JsonObject>(object), key.resourceKey) : object;
}

/** What is wrong with the secret of the pod `pod` that `site`'s application holds, if anything. */
function secretProblem(ctx: CheckContext, pod: WorkloadKey, secret: WorkloadKey, site: SiteName): string | undefined {
  const what = `${describeRef(pod.ref)} on ${site} relies on ${describeRef(secret.ref)}`;
  const here = ctx.final.apps.get(site)?.get(appKeyText(secret.ref));
  const owner = secret.sites[0];
  if (here === undefined) {
    const ownerHolds = owner !== undefined && ctx.final.apps.get(owner)?.has(appKeyText(secret.ref)) === true;
    return !ownerHolds && deletedUnderIt(ctx, pod, secret) ? undefined : `${what}, which ${site}'s application lacks`;
  }
  if (owner === undefined || owner === site) return undefined;
  const owned = ctx.final.apps.get(owner)?.get(appKeyText(secret.ref));
  if (owned === undefined) return `${what}, which its owner ${owner} no longer holds (${site} holds marker ${markerOf(here) ?? 'none'})`;
  const [mine, theirs] = [canonical(here, secret), canonical(owned, secret)];
  if (sameJson(mine, theirs)) return undefined;
  return `${what}: ${site} holds marker ${markerOf(here) ?? 'none'}, its owner ${owner} marker ${markerOf(owned) ?? 'none'} (${firstDifference(mine, theirs) ?? ''})`;
}

/**
 * Whether a delete of `secret` that the node could not refuse for `pod` explains the pod going
 * without it, its owner holding none either: a delete acknowledged as replicated and sent before
 * the pod's last create was answered (made on a copy while the tombstone was on its way), or
 * before the record of the pod, which the site that made it holds, had reached the deleter. The
 * pod then goes without, as a pod on one site whose secret was deleted; had the owner made the
 * name again, the pod's site would have been given it (the rule above holds then).
 */
function deletedUnderIt(ctx: CheckContext, pod: WorkloadKey, secret: WorkloadKey): boolean {
  const create = [...ctx.history.of(pod)].reverse().find((op) => op.call.verb === 'create' && op.outcome === 'acknowledged');
  const createdAtMs = create?.answeredAtMs;
  if (create === undefined || createdAtMs === undefined) return false;
  const creator = asSiteName(create.forwardedTo ?? create.site);
  const text = dependentText(creator, pod.resourceKey);
  return ctx.history.of(secret).some((op) => {
    if (op.call.verb !== 'delete' || op.outcome !== 'acknowledged' || op.metaId === undefined) return false;
    if (createdAtMs > op.issuedAtMs) return true;
    const docId = replicantDocId(op.metaId);
    return ctx.dependentsHeld.heldAt(creator, docId, createdAtMs).has(text) && !ctx.dependentsHeld.heldAt(asSiteName(op.forwardedTo ?? op.site), docId, op.issuedAtMs).has(text);
  });
}

/** A pod create the share refused: the application log must hold no object made from it. */
function refusalProblem(ctx: CheckContext, op: OpRecord): string | undefined {
  const made = ctx.sim.apps.writes.find((write) => write.marker === op.id && write.method !== 'DELETE' && write.subresource === undefined && write.status < 300);
  if (made === undefined) return undefined;
  return `${describeOp(op)}: refused by the share, yet ${made.site}'s application made the pod from it at ${at(made.atMs)} (by the ${made.source === 'node' ? 'reconciler' : 'write path'})`;
}

/** Whether `pod` stood on `site` from before `fromMs` until `toMs` (a delete, even graceful, ends it). */
function stoodThroughout(ctx: CheckContext, pod: WorkloadKey, site: SiteName, fromMs: number, toMs: number): boolean {
  const text = appKeyText(pod.ref);
  let standing = false;
  for (const write of ctx.sim.apps.writes) {
    if (write.atMs > toMs) break;
    if (write.site !== site || write.key === undefined || write.subresource !== undefined || write.status >= 300 || appKeyText(write.key) !== text) continue;
    if (write.method === 'DELETE') {
      if (write.atMs >= fromMs) return false;
      standing = false;
    } else if (write.atMs <= fromMs) {
      standing = true;
    }
  }
  return standing;
}

/** A delete of a secret acknowledged as replicated: no recorded dependent may have stood meanwhile. */
function deleteProblems(ctx: CheckContext, op: OpRecord, dependents: readonly WorkloadKey[]): string[] {
  if (op.metaId === undefined || op.answeredAtMs === undefined) return [];
  const deleter = asSiteName(op.forwardedTo ?? op.site);
  const recorded = ctx.dependentsHeld.heldAt(deleter, replicantDocId(op.metaId), op.issuedAtMs);
  const problems: string[] = [];
  for (const pod of dependents) {
    const acknowledged = ctx.history.of(pod).find((create) => create.call.verb === 'create' && create.outcome === 'acknowledged' && (create.answeredAtMs ?? Infinity) <= op.issuedAtMs);
    if (acknowledged === undefined) continue;
    for (const site of pod.sites) {
      if (!recorded.has(dependentText(site, pod.resourceKey)) || !stoodThroughout(ctx, pod, site, op.issuedAtMs, op.answeredAtMs)) continue;
      problems.push(
        `${describeOp(op)}: acknowledged although ${deleter}'s replicant recorded ${describeRef(pod.ref)} on ${site} as relying on it, and that pod (created by ${acknowledged.id}) stood there all along`,
      );
    }
  }
  return problems;
}

/** The sharing checker. */
export function checkSharing(ctx: CheckContext): CheckerResult {
  const violations: string[] = [];
  let checked = 0;
  const dependents = ctx.keys.ofKind('dependent');
  for (const pod of dependents) {
    const secret = pod.relies?.secret;
    if (secret === undefined) continue;
    for (const site of pod.sites) {
      if (ctx.final.apps.get(site)?.has(appKeyText(pod.ref)) !== true) continue;
      checked += 1;
      const problem = secretProblem(ctx, pod, secret, site);
      if (problem !== undefined) violations.push(problem);
    }
  }
  for (const op of ctx.history.all) {
    if (op.key.kind === 'dependent' && op.call.verb === 'create' && op.cheopsError?.dependency === true) {
      checked += 1;
      const problem = refusalProblem(ctx, op);
      if (problem !== undefined) violations.push(problem);
    } else if (op.key.kind === 'shared' && op.call.verb === 'delete' && op.outcome === 'acknowledged') {
      checked += 1;
      violations.push(...deleteProblems(ctx, op, dependents.filter((pod) => pod.relies?.secret === op.key)));
    }
  }
  return resultOf('sharing', checked, violations);
}
