/**
 * Settles the answered updates (answered-updates.ts) whose change is not stored: those a crash
 * left, found at start-up before any reconcile pass runs, and, at once, one whose change the
 * store refused. Under the key's lock: the change is stored already when this site's replica
 * entry names the record's revision (its nonce: only this site writes its entry, and under the
 * lock nothing else of this site wrote it since), or when a change after the record's base heads
 * carries that nonce in its message (stored, then later writes: a record whose settle the log
 * could not take, a full disk). Otherwise it is written with the record's time, nonce and base
 * heads, from the application's answer, staged with the record once it came; a record without
 * it (the process died while the application worked, or the machine took the unflushed answer)
 * is written from the object the application holds now, unless that object is as the replicant
 * was at the record's base heads (the update never made: nothing to write, the mark's pass checks
 * the replica) or gone. A replicant deleted meanwhile takes the update as lost to that delete, as
 * a create's intent does (without the answer, nothing is recorded: the application's object may
 * be a later incarnation's by then); a later replicant of the key, or none, and the record is
 * dropped: the update's object is gone. An application that does not answer is asked again with
 * backoff.
 *
 * While a record is open no pass applies its replicant here (the pass's `writeUnsettled`: it would
 * put the replica back to a state without the update), and a later write of the key through the
 * front settles it first (`storeAnswered`).
 */
import { CheopsError, ErrorCode, errorMessage } from '../../core/index.js';
import type { MetaId } from '../../core/ids.js';
import { parseRevision, replicantDocId } from '../../crdt/replicant.js';
import { isJsonObject } from '../../glue/json.js';
import type { JsonBody, Replicant } from '../../crdt/replicant.js';
import type { AnsweredUpdate } from './answered-updates.js';
import { sameJson } from './applier.js';
import { answerJson } from './http.js';
import { storedUpdate } from './replicants.js';
import { readLocal } from './write-path.js';
import type { EngineContext } from './context.js';
import type { RecoveryLoop, Settled } from './recovery-loop.js';

export class UpdateRecovery {
  private readonly settling = new Set<MetaId>();

  constructor(
    private readonly ctx: EngineContext,
    private readonly loop: RecoveryLoop,
  ) {}

  /** Settles the records an earlier process left open; each key's lock is asked for before this returns. */
  resume(): void {
    const updates = this.ctx.updates.load();
    if (updates.length > 0) this.ctx.logger.info({ updates: updates.length }, 'settling updates answered before their change was stored');
    for (const update of updates) this.settleOne(update);
  }

  /** Starts settling `update`, whose change the store refused after its answer. */
  settleOne(update: AnsweredUpdate): void {
    if (this.settling.has(update.metaId) || this.loop.stopping) return;
    this.settling.add(update.metaId);
    const work = this.loop.untilSettled(update.key, update.metaId, 'answered update', () => settleUpdate(this.ctx, update));
    this.loop.track(work.finally(() => this.settling.delete(update.metaId)));
  }
}

/**
 * Under the key's lock, before a write of the live replicant `metaId` through the front: the
 * answered update still open on it is stored first, or the write is refused (the store refuses
 * it, as it would the write's own change). A write after it would otherwise be stored first, and
 * the update's later recovery undo it.
 */
export async function storeAnswered(ctx: EngineContext, metaId: MetaId): Promise<void> {
  const open = ctx.updates.get(metaId);
  if (open === undefined) return;
  let outcome: Settled;
  try {
    outcome = await settleUpdate(ctx, open);
  } catch (error) {
    throw new CheopsError(ErrorCode.StorageFailure, `an earlier update of ${open.key.name} is not stored yet: ${errorMessage(error)}; send the write again`, { cause: error });
  }
  if (outcome === 'retry') throw new CheopsError(ErrorCode.StorageFailure, `an earlier update of ${open.key.name} is not stored yet; send the write again`);
}

/** One attempt, under the key's lock; see the file comment. */
async function settleUpdate(ctx: EngineContext, update: AnsweredUpdate): Promise<Settled> {
  const { metaId, key } = update;
  // Settled meanwhile, or superseded by a later answered update of the key (one record each).
  if (ctx.updates.get(metaId)?.nonce !== update.nonce) return 'settled';
  const forget = (why: string): Settled => {
    ctx.logger.info({ metaId, key, why }, 'answered update settled');
    ctx.updates.settle(metaId);
    return 'settled';
  };
  const docId = replicantDocId(metaId);
  const replicant = ctx.documents.has(docId) ? await ctx.replicants.get(metaId) : undefined;
  if (replicant === undefined) return forget('its replicant is gone');
  const entry = parseRevision(replicant.replicas[ctx.self]?.observedRevision ?? '');
  if (entry?.site === ctx.self && entry.nonce === update.nonce) return forget('its change is stored');
  // Stored, and a later write stored since (a record whose settle the log could not take: a full disk, the machine dying).
  if (await storedUpdate(ctx.documents, docId, update.base, update.nonce, ctx.self)) return forget('its change is stored, and later writes since');
  if (replicant.deleted) {
    // Without the answer (the machine died before the log had it), the application's object may be a later incarnation's by now.
    if (update.body === undefined) return forget('its replicant was deleted meanwhile, and its answer is lost');
    await ctx.replicants.recordLostToDelete(docId, update.body);
    return forget('its replicant was deleted meanwhile: recorded as lost to that delete');
  }
  const live = ctx.index.live(key);
  if (live?.metaId !== metaId) return forget('a later replicant of the key is held');
  const made: Made | 'retry' | undefined = update.body === undefined ? await madeByApplication(ctx, update, replicant) : { body: update.body, localId: update.localId };
  if (made === 'retry') return 'retry';
  if (made === undefined) return forget('the application holds no object the update made');
  const result = await ctx.replicants.writeLocal({
    key, op: 'upsert', scope: live.scope, sites: live.sites, body: made.body, localId: made.localId, at: update.at,
    nonce: Uint8Array.from(Buffer.from(update.nonce, 'hex')), base: update.base,
  });
  ctx.logger.info({ metaId, key, revision: result.revision }, 'change of an update answered before it was stored written from its record');
  ctx.updates.settle(metaId);
  // The mark the update left: a pass checks the application against what is stored now.
  ctx.recheck.replica(docId);
  return 'settled';
}

/** The object an answered update made, as its change records it. */
interface Made {
  readonly body: JsonBody;
  readonly localId: string | undefined;
}

/**
 * What the application holds of an update whose answer this process does not have: its object,
 * unless it is as the replicant was when the update was sent (the update never made) or gone;
 * 'retry' while the application does not answer.
 */
async function madeByApplication(ctx: EngineContext, update: AnsweredUpdate, replicant: Replicant): Promise<Made | 'retry' | undefined> {
  const located = isJsonObject(replicant.desired.body) ? replicant.desired.body : undefined;
  if (located === undefined) return undefined;
  let answer;
  try {
    answer = await readLocal(ctx, update.key, located);
  } catch {
    return 'retry';
  }
  if (answer === undefined || answer.status === 404) return undefined;
  if (answer.status >= 500 || answer.status === 429) return 'retry';
  const object = answerJson(answer);
  if (answer.status !== 200 || !isJsonObject(object) || ctx.glue.isTerminating(object)) return undefined;
  const body = ctx.glue.canonical(object, update.key);
  const before = await ctx.replicants.getAt(update.metaId, update.base);
  if (before !== undefined && sameJson(before.desired.body, body)) return undefined;
  return { body, localId: ctx.glue.localId(object) };
}
