/**
 * The write path on a member site (docs/REPLICATION.md §2, steps 3 to 6): the local application
 * first, untouched but for asking a JSON answer; a refusal goes back as it is and nothing is
 * replicated; an acceptance becomes the replicant's new desired state (or its tombstone) in one
 * change, persisted before the answer, which carries `X-Cheops-Meta-Id` and `X-Cheops-Replicas`.
 * Nothing here waits on a remote site unless the request asks `X-Cheops-Wait: all`.
 */
import { CheopsError, ErrorCode, errorMessage } from '../../core/index.js';
import type { ResourceKey, SiteName } from '../../core/ids.js';
import { isJsonObject, type JsonObject } from '../../glue/json.js';
import type { GlueWriteCall } from '../../glue/types.js';
import type { FrontCall } from '../http/index.js';
import type { EngineContext } from './context.js';
import {
  answerJson,
  bufferAnswer,
  CheopsHeader,
  failureWarnings,
  relay,
  replicasHeader,
  requestHeaders,
  warning,
  type BufferedAnswer,
  type WaitRequest,
} from './http.js';
import type { IndexEntry } from './key-index.js';
import type { LocalWriteResult } from './replicants.js';
import type { WriteBody } from './request-body.js';
import { waitForAll } from './wait.js';

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
  readonly wait: WaitRequest;
  /** Things to tell the user (`Warning` headers). */
  readonly warnings: readonly string[];
  /** A scoped create: an object already there (a retry after a crash) is adopted rather than refused. */
  readonly adopt: boolean;
}

const jsonMedia = 'application/json';

/** Sends a request to the local application and reads the answer whole. */
export async function fetchLocal(ctx: EngineContext, request: Request): Promise<BufferedAnswer> {
  try {
    return await bufferAnswer(await ctx.localApp.fetch(request));
  } catch (error) {
    throw new CheopsError(ErrorCode.AppUnreachable, `the local application is unreachable: ${errorMessage(error)}`, { cause: error });
  }
}

/** The call as a request to the local application, with `bytes` as its body. */
export function localRequest(call: FrontCall, body: WriteBody | undefined, accept?: string): Request {
  const headers = requestHeaders(call.headers);
  if (accept !== undefined) headers.set('accept', accept);
  if (body?.contentType !== undefined) headers.set('content-type', body.contentType);
  const hasBody = body !== undefined && body.bytes.length > 0 && call.method !== 'GET' && call.method !== 'HEAD';
  // No abort signal: once the application has the write, the replicant must be written too, even
  // if the client has gone.
  return new Request(`http://local-application${call.url}`, { method: call.method, headers, body: hasBody ? body.bytes : null });
}

/** Runs a replicated write on this (member) site. */
export async function replicatedWrite(ctx: EngineContext, write: ReplicatedWrite): Promise<Response> {
  const { call, glueCall } = write;
  const answer = await fetchLocal(ctx, localRequest(call, write.body, jsonMedia));
  const warnings = write.warnings.map(warning);
  if (answer.status < 200 || answer.status > 299) {
    if (write.adopt && answer.status === 409 && write.key !== undefined && write.live === undefined && isJsonObject(write.body.parsed)) {
      const adopted = await adopt(ctx, write, write.key, write.body.parsed);
      if (adopted !== undefined) return adopted;
    }
    ctx.metrics.writes.inc({ op: glueCall.op, result: 'rejected' });
    return relay(answer, warnings);
  }
  const object = answerJson(answer);
  const key = write.key ?? ctx.glue.keyOfObject(object, glueCall);
  const notReplicated = (why: string): Response => {
    ctx.logger.warn({ method: call.method, url: call.url, why }, 'write applied locally but not replicated');
    ctx.metrics.writes.inc({ op: glueCall.op, result: 'local' });
    return relay(answer, [...warnings, warning(`applied on ${ctx.self} only: ${why}`)]);
  };
  if (key === undefined) return notReplicated('the application answer names no object');
  if (glueCall.op !== 'delete' && ctx.glue.isOwnedChild(object)) return notReplicated('an owned child is never replicated; its parent is');
  const body = isJsonObject(object) ? ctx.glue.canonical(object, key) : undefined;
  if (body === undefined && (glueCall.op !== 'delete' || write.live === undefined)) return notReplicated('the application did not answer with the object');
  const result = await ctx.replicants.writeLocal({
    key,
    op: glueCall.op === 'delete' ? 'delete' : 'upsert',
    scope: write.scope,
    sites: write.sites,
    body,
    localId: ctx.glue.localId(object),
  });
  ctx.metrics.writes.inc({ op: glueCall.op, result: 'replicated' });
  ctx.logger.info({ metaId: result.replicant.metaId, key, op: glueCall.op, revision: result.revision }, 'replicated write');
  return relay(answer, [...(await replicationHeaders(ctx, write, result)), ...warnings]);
}

/** `X-Cheops-Meta-Id`, `X-Cheops-Replicas` and failure warnings, after waiting when asked. */
async function replicationHeaders(ctx: EngineContext, write: ReplicatedWrite, result: LocalWriteResult): Promise<Array<readonly [string, string]>> {
  const { revision, generation } = result;
  const replicant = write.wait.all
    ? await waitForAll(ctx, result.replicant, { revision, generation }, write.wait.timeoutMs, write.call.signal)
    : result.replicant;
  return [
    [CheopsHeader.MetaId, replicant.metaId],
    [CheopsHeader.Replicas, replicasHeader(replicant, revision, generation)],
    ...failureWarnings(replicant, revision, generation),
  ];
}

/**
 * A scoped create refused with 409 because the object exists here and no replicant does (the
 * write was applied once and the node crashed before it recorded the replicant): the existing
 * object becomes the desired state, and the answer is that object.
 */
async function adopt(ctx: EngineContext, write: ReplicatedWrite, key: ResourceKey, requested: JsonObject): Promise<Response | undefined> {
  const get = ctx.glue.objectRequest('get', key, requested);
  if (get === undefined) return undefined;
  const answer = await fetchLocal(ctx, new Request(`http://local-application${get.path}`, { headers: { accept: jsonMedia } }));
  const object = answerJson(answer);
  if (answer.status !== 200 || !isJsonObject(object) || ctx.glue.isOwnedChild(object)) return undefined;
  const result = await ctx.replicants.writeLocal({
    key, op: 'upsert', scope: write.scope, sites: write.sites, body: ctx.glue.canonical(object, key), localId: ctx.glue.localId(object),
  });
  ctx.metrics.writes.inc({ op: 'create', result: 'replicated' });
  ctx.logger.info({ metaId: result.replicant.metaId, key }, 'existing object adopted by a scoped create');
  const note = warning(`${key.name} already existed on ${ctx.self}; that object is now replicated to ${write.sites.join(', ')}`);
  return relay(answer, [...(await replicationHeaders(ctx, write, result)), note, ...write.warnings.map(warning)]);
}
