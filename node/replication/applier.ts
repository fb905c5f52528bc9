/**
 * Applies a replicant's desired state to the local application (docs/REPLICATION.md §3), every
 * step idempotent: delete (absent counts as done), or read the local object and create it, leave
 * it (already equal once site-local fields are set aside) or replace it (desired state over the
 * local site-local fields; a resource-version conflict, or the object gone meanwhile, is retried
 * at once on a fresh read). A local object still being deleted (graceful deletion, finalizers) is
 * waited for: it is about to go, and whatever is written onto it goes with it.
 * Right before each create or replace it asks whether the replicant still wants this state: a
 * tombstone or a newer revision stored while the pass read the application ends the pass
 * (`stale`) rather than writing an object the replicant no longer wants, even for a moment.
 * It never throws: every failure is an outcome, transient (retried with backoff) or not.
 */
import { errorMessage, type Logger } from '../../core/index.js';
import type { Replicant } from '../../crdt/replicant.js';
import { isJsonObject, type JsonObject } from '../../glue/json.js';
import type { GlueObjectRequest, ReplicationGlue } from '../../glue/types.js';
import type { LocalApp } from '../local-app.js';
import { answerJson, type BufferedAnswer } from './http.js';

/** What applying did. */
export type ApplyOutcome =
  | { readonly kind: 'applied'; readonly op: 'create' | 'update' | 'none'; readonly localId: string | undefined }
  | { readonly kind: 'deleted'; readonly op: 'delete' | 'none' }
  /** The application refused: recorded, not retried until the desired state changes. */
  | { readonly kind: 'failed'; readonly op: ApplyOp; readonly error: string }
  /** The application is down or failing on its own: retried with backoff. */
  | { readonly kind: 'transient'; readonly op: ApplyOp; readonly error: string }
  /** The replicant changed during the pass (deleted, or a newer revision): nothing written, passed again. */
  | { readonly kind: 'stale'; readonly op: 'none' };

/** Whether the replicant still wants the state being applied (read again from the store). */
export type StillWanted = () => Promise<boolean>;

const stale: ApplyOutcome = { kind: 'stale', op: 'none' };

/** What was done to the local application. */
export type ApplyOp = 'create' | 'update' | 'delete' | 'none';

/** What the Applier needs. */
export interface ApplierDeps {
  readonly localApp: LocalApp;
  readonly glue: ReplicationGlue;
  readonly logger: Logger;
}

/** How many times a replace that lost a resource-version race is retried at once. */
const maxReplaceAttempts = 3;

/** Drives the local application to a replicant's desired state. */
export class Applier {
  constructor(private readonly deps: ApplierDeps) {}

  /** Deletes the local copy; `superseded` (a later life of the key is live here) leaves the object alone. */
  async delete(replicant: Replicant, superseded: boolean): Promise<ApplyOutcome> {
    if (superseded) return { kind: 'deleted', op: 'none' };
    const body = replicant.desired.body as JsonObject;
    const request = this.deps.glue.objectRequest('delete', replicant.meta.key, body, replicant.deletedBy?.propagation);
    if (request === undefined) return { kind: 'failed', op: 'delete', error: 'the desired state does not say where the object lives' };
    const answer = await this.send(request);
    if ('error' in answer) return { kind: 'transient', op: 'delete', error: answer.error };
    if (isOk(answer.status) || answer.status === 404) return { kind: 'deleted', op: isOk(answer.status) ? 'delete' : 'none' };
    return this.failure('delete', answer);
  }

  /**
   * Makes the local copy equal to the desired state, while `stillWanted` says it is. `createFirst`
   * (this site never recorded a replica of it: the object is most likely absent) tries the create
   * before any read, saving a round trip to the application on every first replication; a 409
   * (the name is taken here) falls back to reading and comparing.
   */
  async apply(replicant: Replicant, stillWanted: StillWanted, createFirst = false): Promise<ApplyOutcome> {
    const { glue } = this.deps;
    const { key } = replicant.meta;
    const desired = replicant.desired.body as JsonObject;
    // Composition: a parent's controller makes its children on every site (DESIGN.md §8).
    if (glue.isOwnedChild(desired)) return { kind: 'failed', op: 'none', error: 'an owned child is never replicated; its parent is' };
    const get = glue.objectRequest('get', key, desired);
    if (get === undefined) return { kind: 'failed', op: 'none', error: 'the desired state does not say where the object lives' };
    if (createFirst) {
      const outcome = await this.create(replicant, desired, stillWanted);
      if (outcome !== 'retry') return outcome;
    }
    for (let attempt = 0; attempt < maxReplaceAttempts; attempt += 1) {
      const current = await this.send(get);
      if ('error' in current) return { kind: 'transient', op: 'none', error: current.error };
      if (current.status === 404) {
        const outcome = await this.create(replicant, desired, stillWanted);
        if (outcome !== 'retry') return outcome;
        continue;
      }
      if (!isOk(current.status)) return this.failure('none', current);
      const local = answerJson(current);
      if (!isJsonObject(local)) return { kind: 'transient', op: 'none', error: 'the application answered a read with something other than a JSON object' };
      if (glue.isTerminating(local)) return { kind: 'transient', op: 'none', error: 'the previous object is still being deleted here' };
      if (sameJson(glue.canonical(local, key), desired)) return { kind: 'applied', op: 'none', localId: glue.localId(local) };
      const outcome = await this.replace(replicant, desired, local, stillWanted);
      if (outcome !== 'retry') return outcome;
    }
    return { kind: 'transient', op: 'update', error: 'the object kept changing under the update' };
  }

  private async create(replicant: Replicant, desired: JsonObject, stillWanted: StillWanted): Promise<ApplyOutcome | 'retry'> {
    const request = this.deps.glue.objectRequest('create', replicant.meta.key, desired);
    if (request === undefined) return { kind: 'failed', op: 'create', error: 'the desired state does not say where the object lives' };
    if (!(await stillWanted())) return stale;
    const answer = await this.send(request);
    if ('error' in answer) return { kind: 'transient', op: 'create', error: answer.error };
    // Created meanwhile (a user, or a controller): read it again and compare.
    if (answer.status === 409) return 'retry';
    if (!isOk(answer.status)) return this.failure('create', answer);
    return { kind: 'applied', op: 'create', localId: this.deps.glue.localId(answerJson(answer)) };
  }

  private async replace(replicant: Replicant, desired: JsonObject, local: JsonObject, stillWanted: StillWanted): Promise<ApplyOutcome | 'retry'> {
    const { glue } = this.deps;
    const merged = glue.merge(desired, local, replicant.meta.key);
    const request = glue.objectRequest('replace', replicant.meta.key, merged);
    if (request === undefined) return { kind: 'failed', op: 'update', error: 'the desired state does not say where the object lives' };
    if (!(await stillWanted())) return stale;
    const answer = await this.send(request);
    if ('error' in answer) return { kind: 'transient', op: 'update', error: answer.error };
    // 409: its resource version changed meanwhile; 404: it was deleted meanwhile (by a user, or a
    // controller). Either way read it again: the replace is about the object as it is now.
    if (answer.status === 409 || answer.status === 404) return 'retry';
    if (!isOk(answer.status)) return this.failure('update', answer);
    return { kind: 'applied', op: 'update', localId: glue.localId(answerJson(answer)) ?? glue.localId(local) };
  }

  /** A 5xx is the application's own trouble (retried); anything else is a refusal (recorded). */
  private failure(op: ApplyOp, answer: BufferedAnswer): ApplyOutcome {
    const error = this.deps.glue.errorMessage(answer.status, answerJson(answer));
    return answer.status >= 500 ? { kind: 'transient', op, error } : { kind: 'failed', op, error };
  }

  private async send(request: GlueObjectRequest): Promise<BufferedAnswer | { error: string }> {
    const headers = new Headers({ accept: 'application/json' });
    if (request.body !== undefined) headers.set('content-type', 'application/json');
    const body = request.body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(request.body));
    try {
      return await this.deps.localApp.exchange({ method: request.method, path: request.path, headers, body });
    } catch (error) {
      this.deps.logger.debug({ method: request.method, path: request.path, error: errorMessage(error) }, 'local application unreachable');
      return { error: `the local application is unreachable: ${errorMessage(error)}` };
    }
  }
}

function isOk(status: number): boolean {
  return status >= 200 && status < 300;
}

/** Deep equality of JSON values, key order aside. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, index) => sameJson(item, b[index]));
  }
  if (!isJsonObject(a) || !isJsonObject(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && sameJson(a[key], b[key]));
}
