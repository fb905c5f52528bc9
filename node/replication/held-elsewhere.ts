/**
 * An object a replication scope names sites for, asked of a member that does not hold it: the
 * site a scope adds (`kubectl --context Site3 label pod purple tier=web --scope '{Site1 & Site2 &
 * Site3}'`, purple on Site1 and Site2 only), or one whose copy is not made yet. This site's
 * application answers first; only its 404 sends the request on to the scope's other members, up
 * ones first: a read to the first that has the object, a write (never a create) to the first
 * that can be reached, which applies it as a member (and widens the object to this site when
 * the scope adds it: interceptor.ts, `widenedPlan`). The answer comes back with
 * `X-Cheops-Forwarded-To` and a `Warning`; the writes of the key that follow go the same way
 * until this site's copy holds that one (sent-on.ts).
 *
 * Nothing is asked of another site while this one holds the object or has a replicant of its
 * key, nor for a request forwarded here (a second hop could go round in circles): a request its
 * own site can answer never waits on another. A create stays local: asking first would put a
 * round trip on every replicated create.
 */
import { errorMessage } from '../../core/index.js';
import type { ResourceKey, SiteName } from '../../core/ids.js';
import type { WriteOperation } from '../../glue/types.js';
import { resolveScope } from '../../scope/index.js';
import type { FrontCall } from '../http/index.js';
import type { EngineContext } from './context.js';
import { forwardWrite, membersToTry, readForwarded } from './forward.js';
import { CheopsHeader, describeKey, forwardedFrom, relay, warning, type BufferedAnswer } from './http.js';
import type { WriteBody } from './request-body.js';
import { knownSitesOf } from './sites.js';

/** The other members of `call`'s replication scope for `service`, when `key` has no replicant here and the call was not forwarded; else undefined. */
export function otherMembers(ctx: EngineContext, call: FrontCall, service: string, key: ResourceKey): readonly SiteName[] | undefined {
  if (call.scope === undefined || forwardedFrom(call) !== undefined || ctx.index.latest(key) !== undefined) return undefined;
  const resolved = resolveScope(call.scope.scope, service, knownSitesOf(ctx.sites));
  if (!resolved.ok || resolved.resolution.targetCollaboration !== 'replication') return undefined;
  const { sites } = resolved.resolution;
  if (!sites.includes(ctx.self)) return undefined;
  const others = sites.filter((site) => site !== ctx.self);
  return others.length === 0 ? undefined : others;
}

/**
 * A read of `key` answered by this site (`here`: its application's answer, with any warnings the
 * read path adds), or, when that is a 404, by the first of `others` that holds the object. When
 * every other answers 404 or cannot be asked: this site's 404, with a `Warning` naming those
 * that could not be asked.
 */
export async function readHereOrElsewhere(ctx: EngineContext, call: FrontCall, key: ResourceKey, others: readonly SiteName[], here: Response): Promise<Response> {
  if (here.status !== 404) return here;
  const failures: string[] = [];
  for (const { site, base } of membersToTry(ctx, others, failures)) {
    let answer: BufferedAnswer;
    try {
      answer = await readForwarded(ctx, call, base, call.scope?.text ?? `{${site}}`);
    } catch (error) {
      if (call.signal.aborted) throw error;
      failures.push(`${site}: ${errorMessage(error)}`);
      continue;
    }
    // Not there either, or that site's application is out: the next one, or this site's 404.
    if (answer.status === 404) continue;
    if (answer.status >= 500) {
      failures.push(`${site}: answered ${answer.status}`);
      continue;
    }
    ctx.metrics.forwardedReads.inc({ site });
    ctx.logger.debug({ site, url: call.url, status: answer.status }, 'read of an object not held here answered by another site of its scope');
    return relay(answer, [[CheopsHeader.ForwardedTo, site], warning(`${describeKey(key)} is not on ${ctx.self} (yet); read from ${site}, a site of the scope ${call.scope?.text ?? ''}`)]);
  }
  if (failures.length > 0) here.headers.append(...warning(`${describeKey(key)} is not on ${ctx.self}, and some sites of the scope could not be asked: ${failures.join('; ')}`));
  return here;
}

/**
 * A write `here` answered with a 404 from this site's application, sent on to the first of
 * `others` that can be reached (forward.ts: one whose answer is lost is not followed by another).
 * Any other answer of `here` is the answer.
 */
export async function writeHereOrElsewhere(
  ctx: EngineContext, call: FrontCall, body: WriteBody, target: { readonly key: ResourceKey; readonly others: readonly SiteName[]; readonly scope: string; readonly op: WriteOperation },
  here: () => Promise<Response>,
): Promise<Response> {
  const answer = await here();
  if (answer.status !== 404) return answer;
  await answer.body?.cancel();
  const note = `${describeKey(target.key)} is not on ${ctx.self}: the write went to a site of the scope ${target.scope} that holds it`;
  return forwardWrite(ctx, call, body, {
    sites: target.others, scope: target.scope, warnings: [note], op: target.op,
    notHere: `${describeKey(target.key)} is not on ${ctx.self}, a site of the scope ${target.scope}`,
  });
}
