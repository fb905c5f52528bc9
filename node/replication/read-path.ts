/**
 * Reads through Cheops (docs/REPLICATION.md §4): a read of a resource whose replicant holds
 * conflicts this site has not reported yet is answered by the local application as usual, plus one
 * `Warning` per such conflict (kubectl prints them); every other read passes through untouched, at
 * the cost of one map lookup.
 */
import type { Replicant } from '../../crdt/replicant.js';
import { lostToDelete, parseRevision, replicantDocId, type ConflictEntry } from '../../crdt/replicant.js';
import type { GlueReadCall } from '../../glue/types.js';
import type { FrontCall } from '../http/index.js';
import type { EngineContext } from './context.js';
import { relay, warning } from './http.js';
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
  if (entry === undefined) return undefined;
  const unreported = entry.conflicts.filter((revision) => !entry.reported.includes(revision));
  if (unreported.length === 0) return undefined;
  return (async () => {
    const answer = await fetchLocal(ctx, localRequest(call, undefined));
    const replicant = await ctx.replicants.read(replicantDocId(entry.metaId));
    if (replicant.kind !== 'ok') return relay(answer);
    const warnings = replicant.replicant.conflicts
      .filter((conflict) => unreported.includes(conflict.revision))
      .map((conflict) => warning(conflictWarning(replicant.replicant, conflict)));
    await ctx.index.update(entry.metaId, { reported: [...entry.reported, ...unreported] });
    return relay(answer, warnings);
  })();
}
