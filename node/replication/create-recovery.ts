/**
 * Settles the create intents (create-intents.ts) that no answered create cleared: those a crash
 * left, found at start-up, and, at once, those of a create whose application failed to answer
 * (refused, reset, 5xx: made or not, the client was not told) or whose replicant the store
 * refused. Each is settled under its key's lock; meanwhile no pass applies the key's replicant
 * here (the object is the create's until it is recorded). Its replicant stored, or a later
 * replicant of the key here: forgotten. Otherwise the local application is asked for the object: held (and not
 * on its way out), the replicant is made from it, as the answered create would have made it;
 * absent, nothing acknowledged is lost (the create never finished, or the object was deleted
 * since): forgotten. An application that does not answer is asked again with backoff, and at once
 * when it or the store is back (AppHealth, StorageHealth), until it does or the engine stops.
 */
import { errorMessage } from '../../core/index.js';
import type { MetaId } from '../../core/ids.js';
import { metaIdOf, replicantDocId } from '../../crdt/replicant.js';
import { isJsonObject } from '../../glue/json.js';
import type { EngineContext } from './context.js';
import type { CreateIntent } from './create-intents.js';
import { answerJson } from './http.js';
import type { RecoveryLoop, Settled } from './recovery-loop.js';
import { adoptable, readLocal } from './write-path.js';

/** The intents being settled; see the file comment. */
export class CreateRecovery {
  private readonly settling = new Set<MetaId>();

  constructor(
    private readonly ctx: EngineContext,
    private readonly loop: RecoveryLoop,
  ) {}

  /** Settles every stored intent not being settled already; resolves when they are, or the engine stops. `read`: told once they are read. */
  async settleStored(read: () => void = () => undefined): Promise<void> {
    const intents = (await this.ctx.intents.list()).filter((intent) => !this.settling.has(intent.metaId));
    read();
    if (intents.length > 0) this.ctx.logger.info({ intents: intents.length }, 'settling creates whose answer may not have reached their client');
    await Promise.all(intents.map((intent) => this.settle(intent.metaId, intent)));
  }

  /** Starts settling the intent of `metaId`, stored by a create whose application did not answer; a failure is logged. */
  settleOne(metaId: MetaId): void {
    if (this.settling.has(metaId) || this.loop.stopping) return;
    this.loop.track(
      this.ctx.intents
        .get(metaId)
        .then(async (intent) => {
          if (intent !== undefined) await this.settle(metaId, intent);
        })
        .catch((error: unknown) => this.ctx.logger.error({ metaId, error: errorMessage(error) }, 'create intent not read; start-up settles it')),
    );
  }

  /**
   * Starts settling `intent`, held in memory only: a create the application made whose replicant
   * and intent the store refused (a full disk), and which could not be undone either
   * (write-path.ts). A crash before it is settled loses it.
   */
  settleUnstored(intent: CreateIntent): void {
    if (this.settling.has(intent.metaId) || this.loop.stopping) return;
    this.loop.track(this.settle(intent.metaId, intent));
  }

  /** Whether the intent of `metaId` is being settled: its create is not in any replicant yet. */
  isSettling(metaId: MetaId): boolean {
    return this.settling.has(metaId);
  }

  private async settle(metaId: MetaId, intent: CreateIntent): Promise<void> {
    if (this.settling.has(metaId)) return;
    this.settling.add(metaId);
    try {
      await this.loop.untilSettled(intent.key, metaId, 'create intent', () => settle(this.ctx, intent));
    } finally {
      this.settling.delete(metaId);
    }
  }
}

async function settle(ctx: EngineContext, intent: CreateIntent): Promise<Settled> {
  const { key, metaId } = intent;
  const forget = async (why: string): Promise<Settled> => {
    ctx.logger.info({ metaId, key, why }, 'create intent settled');
    // An entry a failed write reserved, with no document: nothing to index.
    if (ctx.index.byMetaId(metaId) !== undefined && !ctx.documents.has(replicantDocId(metaId))) await ctx.index.remove(metaId);
    await ctx.intents.clear(metaId);
    return 'settled';
  };
  if (ctx.documents.has(replicantDocId(metaId))) {
    // Stored by the create, or passed here since: settled. Brought by a site that made the same
    // name meanwhile (cut off from this one), it holds no replica of this site: the create is in
    // no write of it, and is written onto it below, as a write after what it holds (swarm seed
    // 5100088: forgotten, the create was acknowledged and in no replicant).
    const stored = await ctx.replicants.get(metaId);
    if (stored === undefined || stored.replicas[ctx.self] !== undefined) return forget('its replicant is stored');
  }
  // The intent's own entry may be there without its document: reserved by a create whose write failed.
  const live = ctx.index.live(key);
  const own = live?.metaId === metaId;
  if (!own && (live !== undefined || metaIdOf(key, ctx.index.nextIncarnation(key)) !== metaId)) {
    // Held, deleted by a site that made the same name meanwhile and never knew of this create: the
    // create lost to that delete, and says so in the document, as an update concurrent with a
    // delete does (swarm seed 6100153: forgotten, it was acknowledged and in no replicant). What
    // is recorded is the create as it was asked: the application's object may be the later
    // incarnation's by now (seed 6500012: recorded, it made the deleted incarnation hold the
    // later one's first write, as if the deleted object had come back).
    if (ctx.documents.has(replicantDocId(metaId)) && (await ctx.replicants.get(metaId))?.deleted === true) {
      await ctx.replicants.recordLostToDelete(replicantDocId(metaId), ctx.glue.canonical(intent.request, key));
      return forget('its replicant was deleted meanwhile by a site that did not know of it: recorded as lost to that delete');
    }
    return forget('a later replicant of the key is held');
  }
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
