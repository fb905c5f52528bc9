/**
 * Start-up side of create-intents.ts: each intent a crash left is settled under its key's lock.
 * Its replicant stored, or a later replicant of the key here: forgotten. Otherwise the local
 * application is asked for the object: held (and not on its way out), the replicant is made from
 * it, as the answered create would have made it; absent, nothing acknowledged is lost (the create
 * never finished, or the object was deleted since): forgotten. An application that does not
 * answer is asked again with backoff until it does or the engine stops.
 */
import { errorMessage, sleep } from '../../core/index.js';
import { metaIdOf, replicantDocId } from '../../crdt/replicant.js';
import { isJsonObject } from '../../glue/json.js';
import type { EngineContext } from './context.js';
import type { CreateIntent } from './create-intents.js';
import { answerJson } from './http.js';
import { adoptable, readLocal } from './write-path.js';

type Settled = 'settled' | 'retry';

/** Settles every stored intent; resolves when all are settled or `signal` aborts. */
export async function recoverCreates(ctx: EngineContext, signal: AbortSignal): Promise<void> {
  const intents = await ctx.intents.list();
  if (intents.length > 0) ctx.logger.info({ intents: intents.length }, 'settling creates answered before a crash');
  await Promise.all(intents.map((intent) => settleWithRetries(ctx, intent, signal)));
}

async function settleWithRetries(ctx: EngineContext, intent: CreateIntent, signal: AbortSignal): Promise<void> {
  let delayMs = ctx.options.retryBaseMs;
  while (!signal.aborted) {
    let outcome: Settled;
    try {
      outcome = await ctx.locks.run(intent.key, () => settle(ctx, intent));
    } catch (error) {
      ctx.logger.warn({ metaId: intent.metaId, key: intent.key, error: errorMessage(error) }, 'create intent not settled yet; retrying');
      outcome = 'retry';
    }
    if (outcome === 'settled') return;
    await sleep(ctx.clock, delayMs, signal).catch(() => undefined);
    delayMs = Math.min(delayMs * 2, ctx.options.retryMaxMs);
  }
}

async function settle(ctx: EngineContext, intent: CreateIntent): Promise<Settled> {
  const { key, metaId } = intent;
  const forget = async (why: string): Promise<Settled> => {
    ctx.logger.info({ metaId, key, why }, 'create intent settled');
    await ctx.intents.clear(metaId);
    return 'settled';
  };
  if (ctx.documents.has(replicantDocId(metaId))) return forget('its replicant is stored');
  if (ctx.index.live(key) !== undefined || metaIdOf(key, ctx.index.nextIncarnation(key)) !== metaId) return forget('a later replicant of the key is held');
  const answer = await readLocal(ctx, key, intent.request);
  if (answer === undefined) return forget('its body does not say where the object lives');
  if (answer.status === 404) return forget('the application does not hold the object');
  if (answer.status >= 500 || answer.status === 429) return 'retry';
  const object = answerJson(answer);
  if (answer.status !== 200 || !isJsonObject(object) || ctx.glue.isOwnedChild(object)) return forget(`the application answered HTTP ${answer.status}`);
  if (!(await adoptable(ctx, key, object))) return forget('the object is a deleted one');
  const result = await ctx.replicants.writeLocal({
    key, op: 'upsert', scope: intent.scope, sites: intent.sites, body: ctx.glue.canonical(object, key), localId: ctx.glue.localId(object),
  });
  ctx.logger.info({ metaId: result.replicant.metaId, key, revision: result.revision }, 'replicant of a create answered before a crash made from the application');
  await ctx.intents.clear(metaId);
  return 'settled';
}
