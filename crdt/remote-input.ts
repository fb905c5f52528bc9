/**
 * What peers send the document store: sync messages and pushed changes. Both are untrusted.
 *
 * When Automerge rejects the input, or panics on it and leaves a document inconsistent, the
 * document it was applied to is dropped: either the in-memory copy of an idle document (the next
 * caller loads it again from storage, which the input never reached) or a clone (see applyTo).
 * Applied changes are written before the call resolves.
 */
import * as Automerge from '@automerge/automerge';
import { CheopsError, ErrorCode, errorMessage, isCheopsError } from '../core/errors.js';
import { isDocumentId, type DocumentId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { Deferred } from './deferred.js';
import { freeDocument, type DocumentCache, type LoadedDocument } from './document-cache.js';
import type { GroupCommit } from './document-commit.js';
import { sameHeads } from './document-layout.js';
import type { SyncState } from './documents.js';

export interface RemoteInputComponents {
  readonly cache: DocumentCache;
  readonly commit: GroupCommit;
  readonly logger: Logger;
}

type Apply<R> = (doc: Automerge.Doc<unknown>) => [Automerge.Doc<unknown>, R];

interface Outcome<R> {
  readonly result?: R;
  readonly written?: Promise<readonly string[]>;
  readonly failure?: unknown;
  /** The failure happened on a document fresh from storage, so the input alone caused it. */
  readonly fresh?: boolean;
}

interface ChangeCall {
  readonly changes: readonly Uint8Array[];
  readonly done: Deferred<void>;
}

export class RemoteInput {
  private readonly components: RemoteInputComponents;
  private readonly changeQueues = new Map<DocumentId, ChangeCall[]>();

  constructor(components: RemoteInputComponents) {
    this.components = components;
  }

  receiveSyncMessage(docId: DocumentId, state: SyncState, message: Uint8Array): Promise<SyncState> {
    checkRemoteInput(docId, [message]);
    return this.apply(docId, (doc) => {
      const [next, nextState] = Automerge.receiveSyncMessage(doc, state, message);
      return [next, nextState];
    });
  }

  /**
   * Calls for one document in the same tick are applied together in one Automerge call (~25x
   * faster than one by one, DESIGN.md §11). If that fails, each call is retried alone, so that one
   * peer's bad change does not reject another's good ones.
   */
  applyChanges(docId: DocumentId, changes: readonly Uint8Array[]): Promise<void> {
    checkRemoteInput(docId, changes);
    if (changes.length === 0) return Promise.resolve();
    let queue = this.changeQueues.get(docId);
    if (queue === undefined) {
      const created: ChangeCall[] = [];
      queue = created;
      this.changeQueues.set(docId, created);
      queueMicrotask(() => this.drain(docId, created));
    }
    const done = new Deferred<void>();
    queue.push({ changes, done });
    return done.promise;
  }

  private drain(docId: DocumentId, calls: readonly ChangeCall[]): void {
    if (this.changeQueues.get(docId) === calls) this.changeQueues.delete(docId);
    const applyAll = (changes: readonly Uint8Array[]): Promise<void> =>
      this.apply(docId, (doc) => [Automerge.applyChanges(doc, [...changes])[0], undefined]);
    applyAll(calls.flatMap((call) => call.changes)).then(
      () => calls.forEach((call) => call.done.resolve()),
      (error: unknown) => {
        if (calls.length === 1 || !isCheopsError(error, ErrorCode.PeerMessageInvalid)) {
          calls.forEach((call) => call.done.reject(error));
          return;
        }
        for (const call of calls) applyAll(call.changes).then(call.done.resolve, call.done.reject);
      },
    );
  }

  /**
   * Applies `apply` to the document and writes what it changed. A failure on a document that had
   * other remote input applied since its load is retried once on a fresh load: Automerge keeps
   * changes whose dependencies are missing, and one of those, not this input, may be what failed.
   */
  private async apply<R>(docId: DocumentId, apply: Apply<R>): Promise<R> {
    for (let attempt = 0; ; attempt += 1) {
      const outcome = await this.components.cache.use(docId, 'any', (entry): Outcome<R> => {
        if (entry === undefined) throw new CheopsError(ErrorCode.DocumentNotFound, `no document ${docId}`);
        return this.applyTo(entry, apply);
      });
      if (outcome.failure !== undefined) {
        if (outcome.fresh !== true && attempt === 0) continue;
        throw this.invalid(docId, outcome.failure);
      }
      if (outcome.written !== undefined) await outcome.written;
      return outcome.result as R;
    }
  }

  /**
   * On an idle document the input is applied in place, and a failure drops the in-memory copy,
   * which storage still holds whole. With a write under way that copy holds changes storage does
   * not have yet, so the input goes to a clone, swapped in only when it succeeds; waiting for the
   * document to be idle instead could wait forever while local writes keep coming.
   */
  private applyTo<R>(entry: LoadedDocument, apply: Apply<R>): Outcome<R> {
    const { cache, logger } = this.components;
    const busy = !entry.isIdle();
    const target = busy ? Automerge.clone(entry.doc, { actor: cache.actor }) : entry.doc;
    const before = Automerge.getHeads(target);
    let next: Automerge.Doc<unknown>;
    let result: R;
    try {
      [next, result] = apply(target);
    } catch (failure) {
      const fresh = entry.remoteApplies === 0;
      if (busy) freeDocument(target, logger);
      else cache.evict(entry);
      return { failure, fresh };
    }
    entry.remoteApplies += 1;
    const changed = !sameHeads(before, Automerge.getHeads(next));
    if (busy && !changed) {
      freeDocument(next, logger);
      return { result };
    }
    if (busy) freeDocument(entry.doc, logger);
    // Automerge answers a new document object even when nothing changed; the old one is outdated.
    entry.doc = next;
    if (!changed) return { result };
    entry.exists = true;
    const changes = Automerge.getChangesSince(next, before);
    return { result, written: this.components.commit.enqueue(entry, undefined, changes) };
  }

  private invalid(docId: DocumentId, failure: unknown): CheopsError {
    this.components.logger.warn({ docId, error: errorMessage(failure) }, 'rejected invalid input from a peer');
    return new CheopsError(ErrorCode.PeerMessageInvalid, `invalid sync input for ${docId}: ${errorMessage(failure)}`, {
      cause: failure,
      details: { docId },
    });
  }
}

/** Rejects, before anything is loaded, a document id or payload no honest peer sends. */
function checkRemoteInput(docId: string, payloads: readonly unknown[]): void {
  if (!isDocumentId(docId)) {
    throw new CheopsError(ErrorCode.PeerMessageInvalid, `invalid document id ${JSON.stringify(docId)}`);
  }
  if (!payloads.every((payload) => payload instanceof Uint8Array)) {
    throw new CheopsError(ErrorCode.PeerMessageInvalid, `sync input for ${docId} is not bytes`, { details: { docId } });
  }
}
