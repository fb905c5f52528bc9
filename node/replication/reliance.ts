/**
 * The relationship model's guard on deletes (DESIGN.md §8): a replicant that other resources rely
 * on or require (recorded by sharing, share.ts: a pod on Site1 using a secret shared from Site2)
 * is not deleted, on any of its sites, while one of them still exists, unless the delete is
 * forced (glue's `forcedDelete`: `kubectl delete --force --grace-period=0`). A recorded dependent
 * is looked for on its site first: it may be gone without Cheops having seen it (a pod's own
 * delete passes straight to its application). One whose site cannot be asked counts as there;
 * the records of those found gone are removed when the delete is refused for the others.
 */
import { CheopsError, ErrorCode, errorMessage } from '../../core/index.js';
import { replicantDocId, type DependentEntry } from '../../crdt/replicant.js';
import type { FrontCall } from '../http/index.js';
import type { EngineContext } from './context.js';
import { readOn } from './forward.js';
import { CheopsHeader, describeKey } from './http.js';
import { dependentText, type IndexEntry } from './key-index.js';
import type { WriteBody } from './request-body.js';


/** Whether `dependent` still exists on its site, or is being made there (creating.ts), or cannot be ruled out. */
async function stillThere(ctx: EngineContext, call: FrontCall, dependent: DependentEntry): Promise<boolean> {
  const path = ctx.glue.readPath(dependent.key);
  if (path === undefined || (dependent.site !== ctx.self && !ctx.sites.isUp(dependent.site))) return true;
  if (dependent.site === ctx.self && ctx.creating.has(dependent.key)) return true;
  try {
    return (await readOn(ctx, call, dependent.site, path, `{${dependent.site}}`, { [CheopsHeader.Probe]: 'dependent' })).status !== 404;
  } catch {
    return true;
  }
}

/** Rounds of looking for dependents recorded while the others were looked for, at most. */
const maxRounds = 4;

/**
 * Throws CHEOPS_RELIED_UPON when the delete of `live` must not go on; see the module's comment.
 * Looking for a dependent on its site takes a round trip, during which another may be recorded
 * (a pod made on a copy elsewhere, its record just arrived): the replicant is read again after
 * each round, and new dependents are looked for too (found by the simulator, seed 330010: a
 * delete whose check took 0.7 s passed a pod recorded in the meantime).
 */
export async function refuseIfReliedUpon(ctx: EngineContext, call: FrontCall, live: IndexEntry, body: WriteBody): Promise<void> {
  if (ctx.glue.forcedDelete(call.query, body.parsed)) return;
  const looked = new Set<string>();
  for (let round = 0; round < maxRounds; round += 1) {
    const read = await ctx.replicants.read(replicantDocId(live.metaId));
    if (read.kind !== 'ok') return;
    // By record, not by name: a record written again (a new object of the name) is looked for again.
    const seen = (dependent: DependentEntry): string => `${dependentText(dependent.site, dependent.key)}@${dependent.at ?? ''}`;
    const fresh = read.replicant.dependents.filter((dependent) => !looked.has(seen(dependent)));
    if (fresh.length === 0) return;
    for (const dependent of fresh) looked.add(seen(dependent));
    const checks = await Promise.all(fresh.map(async (dependent) => ((await stillThere(ctx, call, dependent)) ? dependent : undefined)));
    const standing = checks.filter((dependent): dependent is DependentEntry => dependent !== undefined);
    // The records of those found gone go (they would be looked for again at every delete, and mark
    // their key at risk should it come back as something else); the delete is refused for the others.
    const gone = fresh.filter((_, index) => checks[index] === undefined);
    if (gone.length > 0) {
      await ctx.replicants.dropDependents(read.replicant.docId, gone).catch((error: unknown) => {
        ctx.logger.warn({ metaId: live.metaId, error: errorMessage(error) }, 'records of dependents found gone not removed');
      });
    }
    if (standing.length === 0) continue;
    const who = standing.map((dependent) => `${describeKey(dependent.key)} on ${dependent.site} (${dependent.kind}, ${dependent.via})`).join('; ');
    throw new CheopsError(ErrorCode.ReliedUpon, `${describeKey(live.key)} is relied upon by ${who}: delete those first, or force the delete (kubectl delete --force --grace-period=0)`, {
      details: { dependents: standing.map((dependent) => ({ site: dependent.site, key: dependent.key })) },
    });
  }
}
