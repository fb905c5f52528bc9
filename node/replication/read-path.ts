/**
 * Reads through Cheops (docs/REPLICATION.md §4): a read of a resource whose replicant holds
 * conflicts this site has not reported yet is answered by the local application as usual, plus one
 * `Warning` per such conflict (kubectl prints them), and so is a read of a resource relying on one
 * shared from a site now unreachable (at risk, DESIGN.md §8); every other read passes through
 * untouched, at the cost of one map lookup.
 */
import type { Replicant } from '../../crdt/replicant.js';
import { keyText, lostToDelete, parseRevision, replicantDocId, type ConflictEntry } from '../../crdt/replicant.js';
import { isJsonObject } from '../../glue/json.js';
import type { ResourceKey } from '../../core/ids.js';
import type { GlueReadCall } from '../../glue/types.js';
import type { FrontCall } from '../http/index.js';
import type { EngineContext } from './context.js';
import { answerJson, describeKey, relay, warning, type BufferedAnswer } from './http.js';
import type { IndexEntry } from './key-index.js';
import { unreachableOwner } from './sites.js';
import { fetchLocal, localRequest } from './write-path.js';

/** The text of a conflict's warning. */
export function conflictWarning(replicant: Replicant, conflict: ConflictEntry): string {
  const { key } = replicant.meta;
  const name = `${key.service} ${key.namespace === undefined ? '' : `${key.namespace}/`}${key.name}`;
  const winner = conflict.lostTo === lostToDelete
    ? `a concurrent delete by ${replicant.deletedBy?.site ?? 'another site'}`
    : `the write ${conflict.lostTo} made on ${parseRevision(conflict.lostTo)?.site ?? 'another site'}`;
  return `conflict on ${name}: the concurrent write ${conflict.revision} made on ${conflict.site} lost to ${winner}; every site keeps the winner`;
}

/** Answers a read itself when it has warnings to add, else returns undefined (passthrough). */
export function readWithWarnings(ctx: EngineContext, call: FrontCall, read: GlueReadCall): Promise<Response> | undefined {
  const entry = ctx.index.latest(read.key);
  const unreported = entry === undefined ? [] : entry.conflicts.filter((revision) => !entry.reported.includes(revision));
  const atRisk = ctx.index.hasDependents() ? atRiskWarnings(ctx, read.key) : [];
  const lost = ctx.index.hasDependents() ? ctx.index.lostDependenciesOf(ctx.self, read.key) : [];
  if (unreported.length === 0 && atRisk.length === 0 && lost.length === 0) return undefined;
  return (async () => {
    const answer = await fetchLocal(ctx, localRequest(call, undefined));
    const missing = lost.length === 0 || answer.status < 200 || answer.status > 299 ? [] : await missingWarnings(ctx, read, lost);
    const warnings = [...atRisk, ...missing].map(warning);
    if (entry === undefined || unreported.length === 0) return relay(answer, warnings);
    const replicant = await ctx.replicants.read(replicantDocId(entry.metaId));
    if (replicant.kind !== 'ok') return relay(answer, warnings);
    for (const conflict of replicant.replicant.conflicts) {
      if (unreported.includes(conflict.revision)) warnings.push(warning(conflictWarning(replicant.replicant, conflict)));
    }
    await ctx.index.update(entry.metaId, { reported: [...entry.reported, ...unreported] });
    return relay(answer, warnings);
  })();
}

/**
 * A resource whose recorded dependency was deleted under it (by a delete that did not know of it:
 * concurrent with its create, or forced) and is not here: every read says so, as long as the
 * object still refers to it and no object of that name was made here since. Rare, so the object
 * and its dependency are read from the application each time, rather than tracked.
 */
async function missingWarnings(ctx: EngineContext, read: GlueReadCall, lost: readonly IndexEntry[]): Promise<string[]> {
  const path = ctx.glue.readPath(read.key);
  const answer = path === undefined ? undefined : await getLocal(ctx, path);
  const object = answer?.status === 200 ? answerJson(answer) : undefined;
  if (!isJsonObject(object)) return [];
  const call = { kind: 'write', op: 'create', service: read.service, key: read.key, ...(read.key.namespace === undefined ? {} : { namespace: read.key.namespace }) } as const;
  const referred = new Set(ctx.glue.dependencies(object, call).map((dependency) => keyText(dependency.key)));
  const warnings: string[] = [];
  for (const dependency of lost) {
    const dependencyPath = ctx.glue.readPath(dependency.key);
    if (!referred.has(keyText(dependency.key)) || dependencyPath === undefined || (await getLocal(ctx, dependencyPath)).status !== 404) continue;
    warnings.push(`${describeKey(read.key)} relies on ${describeKey(dependency.key)}, which is missing here: deleted (forced, or by a site that did not know of ${read.key.name} yet)`);
  }
  return warnings;
}

function getLocal(ctx: EngineContext, path: string): Promise<BufferedAnswer> {
  return fetchLocal(ctx, { method: 'GET', path, headers: new Headers({ accept: 'application/json' }) });
}

/**
 * DESIGN.md §8: a resource relying on one shared from another site is at risk while that site is
 * unreachable (the copy here no longer follows the owner's changes); every read of it says so.
 */
function atRiskWarnings(ctx: EngineContext, key: ResourceKey): string[] {
  return ctx.index.dependenciesOf(ctx.self, key).flatMap((dependency) => {
    const owner = unreachableOwner(ctx.sites, dependency.sites);
    if (owner === undefined) return [];
    return [`${describeKey(key)} relies on ${describeKey(dependency.key)}, shared from ${owner}, which is unreachable: the copy here may be out of date`];
  });
}
