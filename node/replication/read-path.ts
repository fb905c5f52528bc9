/**
 * Reads through Cheops (docs/REPLICATION.md §4): a read of a resource whose replicant holds
 * conflicts this site has not reported yet is answered by the local application as usual, plus one
 * `Warning` per such conflict (kubectl prints them), and so is a read of a resource relying on one
 * shared from a site now unreachable (at risk, DESIGN.md §8); every other read passes through
 * untouched, at the cost of one map lookup.
 */
import type { Replicant } from '../../crdt/replicant.js';
import { lostToDelete, parseRevision, replicantDocId, type ConflictEntry } from '../../crdt/replicant.js';
import type { ResourceKey } from '../../core/ids.js';
import type { GlueReadCall } from '../../glue/types.js';
import type { FrontCall } from '../http/index.js';
import type { EngineContext } from './context.js';
import { describeKey, relay, warning } from './http.js';
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
  if (unreported.length === 0 && atRisk.length === 0) return undefined;
  return (async () => {
    const answer = await fetchLocal(ctx, localRequest(call, undefined));
    const warnings = atRisk.map(warning);
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
