/**
 * The write path on a member site (docs/REPLICATION.md §2, steps 3 to 6): the local application
 * first, untouched but for asking a JSON answer; a refusal goes back as it is and nothing is
 * replicated; an acceptance becomes the replicant's new desired state (or its tombstone) in one
 * change, persisted before the answer, which carries `X-Cheops-Meta-Id` and `X-Cheops-Replicas`.
 * Nothing here waits on a remote site unless the request asks `X-Cheops-Wait: all`.
 */
import { CheopsError, ErrorCode, errorMessage, sleep } from '../../core/index.js';
import { Deferred } from '../../crdt/deferred.js';
import { keyText, metaIdOf, nonceText, replicantDocId, ReplicaStatus } from '../../crdt/replicant.js';
import type { MetaId, ResourceKey, SiteName } from '../../core/ids.js';
import { isJsonObject, type JsonObject } from '../../glue/json.js';
import type { GlueWriteCall } from '../../glue/types.js';
import type { FrontCall } from '../http/index.js';
import type { LocalExchange } from '../local-app.js';
import type { EngineContext } from './context.js';
import type { CreateIntent } from './create-intents.js';
import {
  answerJson,
  CheopsHeader,
  appliedHereHeader,
  describeKey,
  failureWarnings,
  forwardedFrom,
  relay,
  replicasHeader,
  requestHeaders,
  warning,
  type BufferedAnswer,
  type WaitRequest,
} from './http.js';
import type { IndexEntry } from './key-index.js';
import type { LocalWriteResult, PendingUpdate } from './replicants.js';
import type { AnsweredUpdate } from './answered-updates.js';
import type { WriteBody } from './request-body.js';
import { storeAnswered } from './update-recovery.js';
import { waitForAll } from './wait.js';

/** The write, as it came (less any scope annotation), to the local application only, with `warnings`. */
export async function sendLocal(ctx: EngineContext, call: FrontCall, body: WriteBody, warnings: readonly string[]): Promise<Response> {
  return relay(await fetchLocal(ctx, localRequest(call, body)), warnings.map(warning));
}

/** A write this site applies and replicates. */
export interface ReplicatedWrite {
  readonly call: FrontCall;
  readonly glueCall: GlueWriteCall;
  readonly body: WriteBody;
  /** The key, when known before the application answers (from the path, or a JSON create body). */
  readonly key: ResourceKey | undefined;
  /** The live replicant of the key, if any: then its scope and sites stand. */
  readonly live: IndexEntry | undefined;
  readonly scope: string;
  readonly sites: readonly SiteName[];
  /** Sites the request's scope adds to the live replicant (`LocalWrite.joining`), once the application accepts the write. */
  readonly joining?: readonly SiteName[];
  readonly wait: WaitRequest;
  /** Things to tell the user (`Warning` headers). */
  readonly warnings: readonly string[];
  /** A scoped create: an object already there (a retry after a crash) is adopted rather than refused. */
  readonly adopt: boolean;
}

const jsonMedia = 'application/json';

/** Sends a request to the local application and reads the answer whole. */
export async function fetchLocal(ctx: EngineContext, request: LocalExchange): Promise<BufferedAnswer> {
  try {
    return await ctx.localApp.exchange(request);
  } catch (error) {
    throw new CheopsError(ErrorCode.AppUnreachable, `the local application is unreachable: ${errorMessage(error)}`, { cause: error });
  }
}

/** The local application's answer to a read of `key` (located by `body`), or undefined when `body` does not say where it lives. */
export async function readLocal(ctx: EngineContext, key: ResourceKey, body: JsonObject): Promise<BufferedAnswer | undefined> {
  const get = ctx.glue.objectRequest('get', key, body);
  if (get === undefined) return undefined;
  return fetchLocal(ctx, { method: 'GET', path: get.path, headers: new Headers({ accept: jsonMedia }) });
}

/** The call as a request to the local application, with `bytes` as its body. */
export function localRequest(call: FrontCall, body: WriteBody | undefined, accept?: string): LocalExchange {
  const headers = requestHeaders(call.headers);
  if (accept !== undefined) headers.set('accept', accept);
  if (body?.contentType !== undefined) headers.set('content-type', body.contentType);
  const hasBody = body !== undefined && body.bytes.length > 0 && call.method !== 'GET' && call.method !== 'HEAD';
  // No abort signal: once the application has the write, the replicant must be written too, even
  // if the client has gone.
  return { method: call.method, path: call.url, headers, body: hasBody ? body.bytes : undefined };
}

/** What the locked part of a write did: an answer to relay as it is, or a replicant written. */
type WriteStep =
  | { readonly kind: 'answer'; readonly response: Response }
  | { readonly kind: 'written'; readonly answer: BufferedAnswer; readonly result: LocalWriteResult; readonly warnings: ReadonlyArray<readonly [string, string]> }
  | { readonly kind: 'answered-first'; readonly answer: BufferedAnswer; readonly headers: ReadonlyArray<readonly [string, string]> };

/**
 * Runs a replicated write on this (member) site. From the application's answer to the replicant's
 * change it holds the key's lock (KeyLocks), so no reconcile pass of the key runs in between; the
 * wait for other sites (`X-Cheops-Wait: all`) is outside it.
 */
export async function replicatedWrite(ctx: EngineContext, write: ReplicatedWrite): Promise<Response> {
  // The store refuses writes (a full disk): the application would make what no replicant, intent
  // or mark could record, which only memory would then remember (seed 3800071: a crash lost it).
  if (!ctx.storageWritable()) {
    throw new CheopsError(ErrorCode.StorageFailure, `the store of ${ctx.self} refuses writes (is its disk full?): nothing was written; send it again once the store has room`);
  }
  // A create whose name only the answer tells (protobuf) names a new object: nothing to lock yet.
  const { key } = write;
  const step =
    key === undefined
      ? await applyAndRecord(ctx, write, undefined)
      : write.glueCall.op === 'create' && write.live === undefined && !write.wait.all
        ? await answerFirst(ctx, write, key)
        : updateAnsweredFirst(ctx, write)
          ? await answerUpdateFirst(ctx, write, key)
          : await ctx.locks.run(key, async () => applyAndRecord(ctx, write, await stageIntent(ctx, write, key)));
  if (step.kind === 'answer') return step.response;
  if (step.kind === 'answered-first') return relay(step.answer, step.headers);
  return relay(step.answer, [...(await replicationHeaders(ctx, write, step.result)), ...step.warnings]);
}

/**
 * A write made by the application, then recorded in its replicant before the answer. `intent`:
 * the create's, staged (stageIntent), settled here once the create is recorded or not.
 */
async function applyAndRecord(ctx: EngineContext, write: ReplicatedWrite, intent: CreateIntent | undefined): Promise<WriteStep> {
  const { call } = write;
  // Recorded (stored) before the application sees the write: a crash before the replicant's change
  // leaves the mark, and start-up re-checks the application against the document.
  const live = write.key === undefined ? undefined : ctx.index.live(write.key);
  if (live !== undefined) await beforeApplication(ctx, live.metaId);
  let answer: BufferedAnswer;
  try {
    answer = await fetchLocal(ctx, localRequest(call, write.body, jsonMedia));
  } catch (error) {
    if (live !== undefined) ctx.recheck.replica(replicantDocId(live.metaId));
    // Made or not, the client is told nothing: the intent is settled as after a crash.
    if (intent !== undefined) ctx.recheck.intent(intent.metaId);
    throw error;
  }
  if (intent !== undefined) return recordCreate(ctx, write, answer, intent);
  return recordWrite(ctx, write, answer, live);
}

/**
 * What a write of the live replicant `metaId` does before the application sees it: the answered
 * update still open on it is stored first (update-recovery.ts), then the write is marked
 * (`localWritePending`). Under the key's lock.
 */
async function beforeApplication(ctx: EngineContext, metaId: MetaId): Promise<void> {
  await storeAnswered(ctx, metaId);
  await ctx.index.markLocalWrite(metaId, true);
}

/** A write the application answered, recorded in its replicant (`live`, when it has one) before the answer. */
async function recordWrite(ctx: EngineContext, write: ReplicatedWrite, answer: BufferedAnswer, live: IndexEntry | undefined): Promise<WriteStep> {
  const step = await recordOrSettle(ctx, write, answer, live);
  if (live !== undefined) {
    // Recorded: the replicant holds what the application answered, the whole object. Otherwise
    // (a refusal, or a 5xx, which may hide a write made all the same) the mark stays and a pass
    // puts the replica back to the replicant's state: an earlier write cut short may have changed
    // the object too (a delete refused by a full disk, retried and answered 404: seed 3600121).
    // Not awaited: the mark left by a crash costs one check at start-up.
    if (step.kind === 'written') void ctx.index.markLocalWrite(live.metaId, false);
    else ctx.recheck.replica(replicantDocId(live.metaId));
  }
  return step;
}

/** Whether `write` is an update that `answerUpdateFirst` may answer before its change is stored. */
function updateAnsweredFirst(ctx: EngineContext, write: ReplicatedWrite): boolean {
  const { op, readBack } = write.glueCall;
  // Not: a wait for the other sites (they wait for the change anyway), a scope that widens the
  // replicant (its joins go in the change), a part read back whole (a second request to the
  // application), a write another member sent on (it answers with the change's heads).
  return ctx.updates.enabled && write.live !== undefined && (op === 'update' || op === 'patch') && readBack === undefined &&
    !write.wait.all && (write.joining ?? []).length === 0 && forwardedFrom(write.call) === undefined;
}

/**
 * An update of a live replicant, answered before its change is stored (answered-updates.ts). Its
 * mark is staged before the application sees it, as any write's, and so is its record, flushed
 * while the application works; once the application answers with the object and the record is
 * durable, the answer leaves; the change is made and stored right after, still under the key's
 * lock, so the next write on the key comes after it. The answer's `X-Cheops-Replicas` is what the
 * change records: this site applied, the others pending. Anything unusual (a refusal, an answer
 * that is not the object or is one on its way out, a log that refuses the record) settles the
 * record and takes the ordinary path: stored before the answer.
 */
async function answerUpdateFirst(ctx: EngineContext, write: ReplicatedWrite, key: ResourceKey): Promise<WriteStep> {
  const answered = new Deferred<WriteStep>();
  const locked = ctx.locks.run(key, async () => {
    const live = ctx.index.live(key);
    // The change is made at the heads the update was sent at: what arrives meanwhile is concurrent with it.
    const base = live === undefined ? undefined : ctx.documents.heads(replicantDocId(live.metaId));
    if (live === undefined || live.metaId !== write.live?.metaId || base === undefined) {
      answered.resolve(await applyAndRecord(ctx, write, undefined));
      return;
    }
    const { metaId } = live;
    await beforeApplication(ctx, metaId);
    const pending = ctx.replicants.beginUpdate({ key, scope: live.scope, sites: live.sites, base });
    const update: AnsweredUpdate = { metaId, key, at: pending.at, nonce: nonceText(pending.nonce), base };
    const recorded = ctx.updates.stage(update);
    let answer: BufferedAnswer;
    try {
      answer = await fetchLocal(ctx, localRequest(write.call, write.body, jsonMedia));
    } catch (error) {
      // Made or not, the client is told nothing: the mark's pass puts the replica back.
      settleUnanswered(ctx, pending, update);
      ctx.recheck.replica(replicantDocId(metaId));
      throw error;
    }
    const object = answerJson(answer);
    const recordable = answer.status >= 200 && answer.status <= 299 && isJsonObject(object) && !ctx.glue.isOwnedChild(object) &&
      !ctx.glue.isTerminating(object) && sameKey(ctx.glue.keyOfObject(object, write.glueCall), key) && ctx.index.live(key)?.metaId === metaId;
    if (!recordable || !(await recorded)) {
      settleUnanswered(ctx, pending, update);
      answered.resolve(await recordWrite(ctx, write, answer, live));
      return;
    }
    // With the record before the answer: a recovery after the process died makes the change from it.
    const body = ctx.glue.canonical(object, key);
    const localId = ctx.glue.localId(object);
    ctx.updates.answered(metaId, body, localId);
    ctx.metrics.writes.inc({ op: write.glueCall.op, result: 'replicated' });
    const headers = [[CheopsHeader.MetaId, metaId], [CheopsHeader.Replicas, appliedHereHeader(live.sites, ctx.self)], ...write.warnings.map(warning)] as const;
    answered.resolve({ kind: 'answered-first', answer, headers });
    // A timer, not a microtask: the answer leaves before the change's work begins.
    await sleep(ctx.clock, 0);
    try {
      const result = await pending.store({ body, localId });
      ctx.updates.settle(metaId, update.nonce);
      void ctx.index.markLocalWrite(metaId, false);
      ctx.logger.info({ metaId, key, op: write.glueCall.op, revision: result.revision }, 'replicated write');
    } catch (error) {
      // The record stays open: written from the answer once the store takes it.
      ctx.logger.error({ metaId, key, error: errorMessage(error) }, 'the change of an answered update was not stored; it is written from its record');
      ctx.recheck.update(ctx.updates.get(metaId) ?? update);
    }
  });
  // Settles `answered` when the work failed before answering; a no-op once answered.
  locked.catch((error: unknown) => answered.reject(error));
  return answered.promise;
}

/** An update whose answer is not the one its record stands for (a refusal, a failed call): the record is closed, its change never made. */
function settleUnanswered(ctx: EngineContext, pending: PendingUpdate, update: AnsweredUpdate): void {
  ctx.updates.settle(update.metaId, update.nonce);
  pending.drop();
}

/**
 * Stages the intent of a create of `key` that makes its next replicant (create-intents.ts), before
 * the application sees it; undefined for any other write, and when the store refuses it (the
 * replicant is then stored before the answer, or the create undone). Called under the key's lock.
 */
async function stageIntent(ctx: EngineContext, write: ReplicatedWrite, key: ResourceKey): Promise<CreateIntent | undefined> {
  const request = write.body.parsed;
  if (write.glueCall.op !== 'create' || ctx.index.live(key) !== undefined || !isJsonObject(request)) return undefined;
  const incarnation = ctx.index.nextIncarnation(key);
  const metaId = metaIdOf(key, incarnation);
  if (!stillNew(ctx, key, incarnation, metaId)) return undefined;
  const intent: CreateIntent = { metaId, key, incarnation, scope: write.scope, sites: write.sites, request };
  return ctx.intents.stage(intent).then(
    () => intent,
    (error: unknown) => {
      ctx.logger.warn({ metaId, error: errorMessage(error) }, 'create intent not stored; the replicant is stored before the answer instead');
      return undefined;
    },
  );
}

/**
 * A create the application answered, recorded (the replicant stored) before the answer; its intent
 * is then removed, but after a 5xx, which may hide a create made all the same (a 504), or a
 * failure to record it: settled as after a crash.
 */
async function recordCreate(ctx: EngineContext, write: ReplicatedWrite, answer: BufferedAnswer, intent: CreateIntent): Promise<WriteStep> {
  let step: WriteStep;
  try {
    step = await recordOrSettle(ctx, write, answer, undefined);
  } catch (error) {
    ctx.recheck.intent(intent.metaId);
    throw error;
  }
  if (answer.status >= 500) ctx.recheck.intent(intent.metaId);
  else void ctx.intents.clear(intent.metaId);
  return step;
}

/**
 * The create of a new replicated object, answered before its replicant is stored (see
 * create-intents.ts): the intent is staged before the application makes the object and made
 * durable while it does, the answer leaves once both are done, and the replicant's change is
 * made and stored right after, still under the key's lock, so the next write on the key comes
 * after it. The answer's `X-Cheops-Replicas` is what the change records: this site applied, the
 * others pending.
 * Anything unusual (a replicant or document already there, a refusal, an answer that is not the
 * object) takes the ordinary path, where the replicant is stored before the answer.
 */
async function answerFirst(ctx: EngineContext, write: ReplicatedWrite, key: ResourceKey): Promise<WriteStep> {
  const answered = new Deferred<WriteStep>();
  const locked = ctx.locks.run(key, async () => {
    // Staged before the application sees the create, made durable while it works (create-intents.ts).
    const intent = await stageIntent(ctx, write, key);
    if (intent === undefined) {
      answered.resolve(await applyAndRecord(ctx, write, undefined));
      return;
    }
    const { metaId, incarnation } = intent;
    const answering = fetchLocal(ctx, localRequest(write.call, write.body, jsonMedia));
    const intentStored = ctx.intents.record(intent).then(
      () => true,
      (error: unknown) => {
        ctx.logger.warn({ metaId, error: errorMessage(error) }, 'create intent not made durable; the replicant is stored before the answer instead');
        return false;
      },
    );
    let answer: BufferedAnswer;
    try {
      answer = await answering;
    } catch (error) {
      // Made or not, the client is told nothing: the intent is settled as after a crash (once its
      // write is over: a removal before it would be undone by it).
      await intentStored;
      ctx.recheck.intent(metaId);
      throw error;
    }
    const object = answerJson(answer);
    const stored = await intentStored;
    // A replicant of the key may have arrived from a peer meanwhile (the same name created there).
    const ready = stored && answer.status >= 200 && answer.status <= 299 && isJsonObject(object) &&
      !ctx.glue.isOwnedChild(object) && sameKey(ctx.glue.keyOfObject(object, write.glueCall), key) && stillNew(ctx, key, incarnation, metaId);
    if (!ready) {
      answered.resolve(await recordCreate(ctx, write, answer, intent));
      return;
    }
    const pending = ctx.replicants.beginCreate({
      key, metaId, incarnation, scope: write.scope, sites: write.sites, localId: ctx.glue.localId(object), body: () => ctx.glue.canonical(object, key),
    });
    ctx.metrics.writes.inc({ op: 'create', result: 'replicated' });
    const headers = [
      [CheopsHeader.MetaId, metaId],
      [CheopsHeader.Replicas, appliedHereHeader(write.sites, ctx.self)],
      ...write.warnings.map(warning),
    ] as const;
    answered.resolve({ kind: 'answered-first', answer, headers });
    // A timer, not a microtask: the answer leaves before the change's work begins.
    await sleep(ctx.clock, 0);
    try {
      // Without a staging log, the intent goes in the replicant's own batch: gone exactly when the replicant is stored.
      const result = await pending.store(ctx.intents.clearOperations(metaId));
      ctx.intents.stored(metaId);
      ctx.logger.info({ metaId, key, op: 'create', revision: result.revision }, 'replicated write');
    } catch (error) {
      // The intent stays (its removal was in the failed batch): settled as after a crash, now.
      ctx.logger.error({ metaId, key, error: errorMessage(error) }, 'the replicant of an answered create was not stored; it is made from the create intent');
      ctx.recheck.intent(metaId);
    }
  });
  // Settles `answered` when the work failed before answering; a no-op once answered.
  locked.catch((error: unknown) => answered.reject(error));
  return answered.promise;
}

/** Whether `key` has no replicant here, live or not, of `incarnation` (meta-ID `metaId`) or later: the create makes it. */
function stillNew(ctx: EngineContext, key: ResourceKey, incarnation: number, metaId: MetaId): boolean {
  return ctx.index.live(key) === undefined && ctx.index.nextIncarnation(key) === incarnation && !ctx.documents.has(replicantDocId(metaId));
}

function sameKey(a: ResourceKey | undefined, b: ResourceKey): boolean {
  return a !== undefined && keyText(a) === keyText(b);
}

/**
 * `recordAnswer`, and when its replicant's change fails (a full disk) after the application made
 * the write: the client hears the failure, and what the application holds is made to agree
 * (Rechecks): a replica written through a replicant is put back to it, a create is undone.
 */
async function recordOrSettle(ctx: EngineContext, write: ReplicatedWrite, answer: BufferedAnswer, live: IndexEntry | undefined): Promise<WriteStep> {
  try {
    return await recordAnswer(ctx, write, answer);
  } catch (error) {
    if (live !== undefined) ctx.recheck.replica(replicantDocId(live.metaId));
    else await undoUnrecordedCreate(ctx, write, answer);
    throw error;
  }
}

/**
 * A create the application made and no intent or replicant records (the store refused both): the
 * object is deleted again, that very one (its uid), so that the 500 the client hears is the whole
 * truth. Remembered in memory only, it would be lost with a crash before the store has room, and
 * stay on this site alone (swarm seed 3900249). Should the undo fail too, it is replicated from
 * memory once the store takes writes.
 */
async function undoUnrecordedCreate(ctx: EngineContext, write: ReplicatedWrite, answer: BufferedAnswer): Promise<void> {
  const request = write.body.parsed;
  const object = answerJson(answer);
  const key = write.key ?? ctx.glue.keyOfObject(object, write.glueCall);
  if (write.glueCall.op !== 'create' || key === undefined || !isJsonObject(request)) return;
  // The failed change reserved its entry in the index: its meta-ID is the one the create made.
  const reserved = ctx.index.live(key);
  if (reserved === undefined || ctx.documents.has(replicantDocId(reserved.metaId))) return;
  const undo = isJsonObject(object) && answer.status >= 200 && answer.status <= 299 ? ctx.glue.objectRequest('delete', key, object) : undefined;
  if (undo !== undefined) {
    try {
      const body = undo.body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(undo.body));
      const undone = await fetchLocal(ctx, { method: undo.method, path: undo.path, headers: new Headers({ accept: jsonMedia, 'content-type': jsonMedia }), body });
      if ((undone.status >= 200 && undone.status <= 299) || undone.status === 404) {
        ctx.logger.warn({ metaId: reserved.metaId, key }, 'a create whose replicant the store refused was undone');
        await ctx.index.remove(reserved.metaId);
        return;
      }
    } catch (error) {
      ctx.logger.warn({ metaId: reserved.metaId, key, error: errorMessage(error) }, 'a create whose replicant the store refused could not be undone');
    }
  }
  ctx.recheck.created({ metaId: reserved.metaId, key, incarnation: reserved.incarnation, scope: write.scope, sites: write.sites, request });
}

async function recordAnswer(ctx: EngineContext, write: ReplicatedWrite, answer: BufferedAnswer): Promise<WriteStep> {
  const { call, glueCall } = write;
  const warnings = write.warnings.map(warning);
  if (answer.status < 200 || answer.status > 299) {
    if (write.adopt && answer.status === 409 && write.key !== undefined && ctx.index.live(write.key) === undefined && isJsonObject(write.body.parsed)) {
      const adopted = await adopt(ctx, write, write.key, write.body.parsed, answer);
      if (adopted !== undefined) return adopted;
    }
    ctx.metrics.writes.inc({ op: glueCall.op, result: 'rejected' });
    return { kind: 'answer', response: relay(answer, warnings) };
  }
  // A write of a part (a scale) answers that part: the object it changed is read back whole.
  const whole = glueCall.readBack === undefined ? answer : await fetchLocal(ctx, { method: 'GET', path: glueCall.readBack, headers: new Headers({ accept: jsonMedia }) });
  const object = whole.status >= 200 && whole.status <= 299 ? answerJson(whole) : undefined;
  const key = write.key ?? ctx.glue.keyOfObject(object, glueCall);
  const notReplicated = (why: string): WriteStep => {
    ctx.logger.warn({ method: call.method, url: call.url, why }, 'write applied locally but not replicated');
    ctx.metrics.writes.inc({ op: glueCall.op, result: 'local' });
    return { kind: 'answer', response: relay(answer, [...warnings, warning(`applied on ${ctx.self} only: ${why}`)]) };
  };
  if (key === undefined) return notReplicated('the application answer names no object');
  if (glueCall.op !== 'delete' && ctx.glue.isOwnedChild(object)) return notReplicated('an owned child is never replicated; its parent is');
  const live = ctx.index.live(key);
  // A change to an object on its way out (a pod in its grace period) is no new life of the name:
  // with no live replicant it would stay live everywhere once the object is gone here (swarm seed
  // 4200231: a label sent while the delete waited for a stalled application); with one, the object
  // is a deleted incarnation's, whose body would become the live one's (seed 6500193: a label
  // sent as the old pod's tombstone was applied, the new incarnation not made here yet).
  if (glueCall.op !== 'delete' && ctx.glue.isTerminating(object)) return notReplicated('the object is being deleted');
  // A second delete of an object on its way out, its replicant deleted already, is that
  // tombstone's: a new one would start a life of the name from the deleted object (seed 5200122).
  if (live === undefined && ctx.glue.isTerminating(object)) {
    const tombstoned = ctx.index.latest(key);
    if (tombstoned?.deleted === true) {
      ctx.metrics.writes.inc({ op: glueCall.op, result: 'replicated' });
      return { kind: 'answer', response: relay(answer, [...warnings, [CheopsHeader.MetaId, tombstoned.metaId]]) };
    }
  }
  const body = isJsonObject(object) ? ctx.glue.canonical(object, key) : undefined;
  if (body === undefined && (glueCall.op !== 'delete' || live === undefined)) return notReplicated('the application did not answer with the object');
  const result = await ctx.replicants.writeLocal({
    key,
    op: glueCall.op === 'delete' ? 'delete' : 'upsert',
    scope: write.scope,
    sites: write.sites,
    body,
    localId: ctx.glue.localId(object),
    ...(write.joining === undefined ? {} : { joining: write.joining }),
    ...deletePropagationOf(ctx, write),
  });
  ctx.metrics.writes.inc({ op: glueCall.op, result: 'replicated' });
  ctx.logger.info({ metaId: result.replicant.metaId, key, op: glueCall.op, revision: result.revision }, 'replicated write');
  const joined = (write.joining ?? []).filter((site) => result.replicant.meta.sites.includes(site));
  if (joined.length === 0) return { kind: 'written', answer, result, warnings };
  ctx.logger.info({ metaId: result.replicant.metaId, key, joined }, 'replicant widened by the scope of a write');
  const widened = warning(`${describeKey(key)} is replicated on ${joined.join(', ')} too from now on (scope ${result.replicant.meta.scope})`);
  return { kind: 'written', answer, result, warnings: [...warnings, widened] };
}

/** What a delete asked done with what the object owns, for the tombstone. */
function deletePropagationOf(ctx: EngineContext, write: ReplicatedWrite): { propagation?: string } {
  if (write.glueCall.op !== 'delete') return {};
  const propagation = ctx.glue.deletePropagation(write.call.query, write.body.parsed);
  return propagation === undefined ? {} : { propagation };
}

/** `X-Cheops-Meta-Id`, `X-Cheops-Replicas` and failure warnings, after waiting when asked. */
async function replicationHeaders(ctx: EngineContext, write: ReplicatedWrite, result: LocalWriteResult): Promise<Array<readonly [string, string]>> {
  const { revision, generation } = result;
  const replicant = write.wait.all
    ? await waitForAll(ctx, result.replicant, { revision, generation }, write.wait.timeoutMs, write.call.signal)
    : result.replicant;
  // A member that sent the write on lacks the object, or this change: it follows these heads (sent-on.ts).
  const heads = forwardedFrom(write.call) === undefined ? undefined : ctx.documents.heads(replicantDocId(replicant.metaId));
  return [
    [CheopsHeader.MetaId, replicant.metaId],
    [CheopsHeader.Replicas, replicasHeader(replicant, revision, generation)],
    ...(heads === undefined || heads.length === 0 ? [] : [[CheopsHeader.Heads, heads.join(',')] as const]),
    ...failureWarnings(replicant, revision, generation),
  ];
}

/**
 * A scoped create refused with 409 because the object exists here and no replicant does (the
 * write was applied once and the node crashed before it recorded the replicant): the existing
 * object becomes the desired state, and the answer is that object. Never an object on its way
 * out: one being deleted, or the object of a deleted incarnation whose delete this site has not
 * applied yet (the tombstone arrived, its pass has not run or failed): adopting it would bring the
 * deleted object back on every site and drop the user's body. The 409 stands then, with a warning.
 */
async function adopt(ctx: EngineContext, write: ReplicatedWrite, key: ResourceKey, requested: JsonObject, conflict: BufferedAnswer): Promise<WriteStep | undefined> {
  const answer = await readLocal(ctx, key, requested);
  if (answer === undefined) return undefined;
  const object = answerJson(answer);
  if (answer.status !== 200 || !isJsonObject(object) || ctx.glue.isOwnedChild(object)) return undefined;
  if (!(await adoptable(ctx, key, object))) {
    ctx.logger.info({ key }, 'scoped create refused: the existing object is a deleted one, its delete still under way here');
    ctx.metrics.writes.inc({ op: 'create', result: 'rejected' });
    const note = `${key.name} on ${ctx.self} is a deleted object whose deletion is still under way here; create it again once it is gone`;
    return { kind: 'answer', response: relay(conflict, [warning(note), ...write.warnings.map(warning)]) };
  }
  const result = await ctx.replicants.writeLocal({
    key, op: 'upsert', scope: write.scope, sites: write.sites, body: ctx.glue.canonical(object, key), localId: ctx.glue.localId(object),
  });
  ctx.metrics.writes.inc({ op: 'create', result: 'replicated' });
  ctx.logger.info({ metaId: result.replicant.metaId, key }, 'existing object adopted by a scoped create');
  const note = `${key.name} already existed on ${ctx.self}; that object is now replicated to ${write.sites.join(', ')}`;
  return { kind: 'written', answer, result, warnings: [warning(note), ...write.warnings.map(warning)] };
}

/**
 * Whether an object found in the application may become the new incarnation of `key`: not one
 * being deleted, nor the object of a deleted incarnation whose delete this site has not applied.
 */
export async function adoptable(ctx: EngineContext, key: ResourceKey, object: JsonObject): Promise<boolean> {
  return !ctx.glue.isTerminating(object) && (await deletedHere(ctx, key, ctx.glue.localId(object))) !== false;
}

/**
 * Whether the last, deleted, incarnation of `key` held here was deleted here, and the object
 * `localId` is not its object: true or false; undefined when no deleted incarnation is held.
 */
async function deletedHere(ctx: EngineContext, key: ResourceKey, localId: string | undefined): Promise<boolean | undefined> {
  const latest = ctx.index.latest(key);
  if (latest === undefined || !latest.deleted) return undefined;
  const replica = (await ctx.replicants.get(latest.metaId))?.replicas[ctx.self];
  return replica?.status === ReplicaStatus.Deleted && (replica.localId === undefined || replica.localId !== localId);
}
