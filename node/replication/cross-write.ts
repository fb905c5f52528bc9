/**
 * Writes under a cross scope (`{Site1 % Site2}`, DESIGN.md §7: one resource spread over the
 * sites) that includes this site. Each object of a cross scope lives on one member: a create
 * makes it here, once no other member reachable holds the name (409 AlreadyExists naming the
 * site that does; members cut off cannot be asked, and a `Warning` says so); a change or a delete
 * goes to the member that holds the object (here first). A container the sites share (a
 * namespace, glue's `spansSites`) is not cross at all: it is replicated to every member (the
 * interceptor's plan), so that each can hold objects in it.
 *
 * Each create and delete made here records or removes this site's claim on the name, so that one
 * name made on both sides of a partition is found after the heal (cross-claims.ts); a change or
 * a delete of a name claimed twice goes to the winner's object, with a `Warning` naming the
 * others.
 */
import { CheopsError, ErrorCode, errorMessage } from '../../core/index.js';
import type { ResourceKey, SiteName } from '../../core/ids.js';
import type { GlueWriteCall } from '../../glue/types.js';
import type { FrontCall } from '../http/index.js';
import type { EngineContext } from './context.js';
import { claimName, contest, contestWarning, releaseName } from './cross-claims.js';
import { forwardOrder, forwardWrite, readOn } from './forward.js';
import { describeKey, forwardedFrom } from './http.js';
import type { WriteBody } from './request-body.js';
import { sendLocal } from './write-path.js';

/** A write under a cross scope: its members (this site among them), in scope order. */
export interface CrossWrite {
  readonly sites: readonly SiteName[];
  readonly scope: string;
  readonly warnings: readonly string[];
}

/** Whether `site` holds the object at `path` (this site: its application); a failure to ask is a string. */
async function holds(ctx: EngineContext, call: FrontCall, site: SiteName, path: string, scope: string): Promise<boolean | string> {
  try {
    return (await readOn(ctx, call, site, path, scope)).status === 200;
  } catch (error) {
    return errorMessage(error);
  }
}

/** Runs a write under a cross scope; see the module's comment. */
export async function crossWrite(ctx: EngineContext, call: FrontCall, write: GlueWriteCall, body: WriteBody, key: ResourceKey | undefined, target: CrossWrite): Promise<Response> {
  const notes = [...target.warnings];
  // Sent here by the member that found the object here: apply it. One sent by a site outside the
  // scope is this site's to place, as if it had come here first.
  const from = forwardedFrom(call);
  if ((from !== undefined && target.sites.some((site) => site === from)) || key === undefined) {
    if (key === undefined) notes.push(`the object's name is not known before it is made (not JSON): it was not looked for on the other sites of ${target.scope}`);
    return applyHere(ctx, call, write, body, key, notes);
  }
  // The object's own path: a create names it in the collection it posts to; any other write is sent to it.
  const path = write.op === 'create' ? `${call.path}/${encodeURIComponent(key.name)}` : call.path;
  if (write.op !== 'create') {
    // Made on two sides of a partition: the winner's object is the one changed (cross-claims.ts).
    const contested = await contest(ctx, call, key, path, target.scope);
    if (contested !== undefined) {
      notes.push(contestWarning(key, contested));
      if (contested.winner === ctx.self) return applyHere(ctx, call, write, body, key, notes);
      return forwardWrite(ctx, call, body, { sites: [contested.winner], scope: target.scope, warnings: notes, op: write.op, onward: true, notHere: livesOn(ctx, key, contested.winner, target.scope) });
    }
    if ((await holds(ctx, call, ctx.self, path, target.scope)) !== false) return applyHere(ctx, call, write, body, key, notes);
  }
  const maybe = write.op === 'create' ? 'exist there too' : 'live there';
  const others = forwardOrder(ctx, target.sites);
  const up = others.filter((site) => ctx.sites.isUp(site));
  for (const site of others.filter((other) => !up.includes(other))) notes.push(`${site} is unreachable: ${key.name} may ${maybe}`);
  // Every member asked at once: one round trip, not one per member.
  const answers = await Promise.all(up.map((site) => holds(ctx, call, site, path, target.scope)));
  for (const [index, site] of up.entries()) {
    const found = answers[index];
    if (typeof found === 'string') notes.push(`${site} did not answer (${found}): ${key.name} may ${maybe}`);
    else if (found === true && write.op === 'create') {
      throw new CheopsError(ErrorCode.NameTakenElsewhere, `${key.service} "${key.name}" already exists on ${site} (the scope ${target.scope} spreads ${key.service} over its sites: each name lives on one)`, {
        details: { site, name: key.name, kind: key.service },
      });
    } else if (found === true) return forwardWrite(ctx, call, body, { sites: [site], scope: target.scope, warnings: notes, op: write.op, onward: true, notHere: livesOn(ctx, key, site, target.scope) });
  }
  return applyHere(ctx, call, write, body, key, notes);
}

/** Why a write goes on to `site`: the object lives there (forward.ts words its failures with it). */
function livesOn(ctx: EngineContext, key: ResourceKey, site: SiteName, scope: string): string {
  return `${describeKey(key)} lives on ${site}, not on ${ctx.self} (the scope ${scope} spreads objects over its sites)`;
}

/**
 * The write, to this site's application. A create claims the name first (a crash between the two
 * leaves a claim with no object, which the claim's check drops, never an object without its
 * claim) and releases the claim it wrote when the application refuses (a name this site holds
 * already keeps its claim, and its first time; an answer that may hide a create, a 5xx, keeps it
 * too); a delete done here releases it.
 */
async function applyHere(ctx: EngineContext, call: FrontCall, write: GlueWriteCall, body: WriteBody, key: ResourceKey | undefined, notes: readonly string[]): Promise<Response> {
  if (key === undefined) return sendLocal(ctx, call, body, notes);
  // Under the key's lock, as a stale claim's release (cross-claims.ts `releaseStale`): a release
  // that saw the old object gone must not drop the claim this create found standing.
  return ctx.locks.run(key, async () => {
    const claimed = write.op === 'create' && (await claimName(ctx, key));
    const answer = await sendLocal(ctx, call, body, notes);
    const done = answer.status >= 200 && answer.status <= 299;
    // Only a refusal says nothing was made: a 5xx may hide a create made all the same (a 504 from
    // an application that stalled, swarm seed 6000047), and a 409 says the object is here.
    const refused = answer.status >= 400 && answer.status <= 499 && answer.status !== 409;
    if ((claimed && refused) || (done && write.op === 'delete')) await releaseName(ctx, key);
    return answer;
  });
}
