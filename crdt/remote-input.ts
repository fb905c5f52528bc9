/**
 * What peers send the document store: sync messages and pushed changes. Both are untrusted.
 *
 * When Automerge rejects the input, or panics on it and leaves a document inconsistent, the
 * document it was applied to is dropped: either the in-memory copy of an idle document (the next
 * caller loads it again from storage, which the input never reached) or a clone (see applyTo).
 *
 * Each call resolves once the input is applied in memory, with `written`, which settles once what
 * it changed is durable. Nothing is acknowledged before: `doc:changed`, the stored heads and reads
 * follow the write, and a sync message waits for it (DocumentStore.generateSyncMessage). So a
 * caller can take in many messages, across documents, before awaiting one storage batch.
 */
import * as Automerge from '@automerge/automerge';
import { Buffer } from 'node:buffer';
import { CheopsError, ErrorCode, errorMessage, isCheopsError } from '../core/errors.js';
import { isDocumentId, type DocumentId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { Deferred } from './deferred.js';
import { freeDocument, type DocumentCache, type LoadedDocument } from './document-cache.js';
import type { GroupCommit } from './document-commit.js';
import { sameHeads } from './document-layout.js';
import type { AppliedInput, SyncState } from './documents.js';

export interface RemoteInputComponents {
  readonly cache: DocumentCache;
  readonly commit: GroupCommit;
  readonly logger: Logger;
}

/**
 * Applies input to a document: the new document, the result, and, when known without asking
 * Automerge, the changes the input added (a document loaded whole from them).
 */
type Apply<R> = (doc: Automerge.Doc<unknown> | undefined) => [Automerge.Doc<unknown>, R, (readonly Uint8Array[] | undefined)?];

interface Outcome<R> {
  readonly result?: R;
  readonly written?: Promise<readonly string[]>;
  readonly failure?: unknown;
  /** The failure happened on a document fresh from storage, so the input alone caused it. */
  readonly fresh?: boolean;
}

interface ChangeCall {
  readonly changes: readonly Uint8Array[];
  readonly done: Deferred<AppliedInput<void>>;
}

const nothingToWrite: Promise<void> = Promise.resolve();

export class RemoteInput {
  private readonly components: RemoteInputComponents;
  private readonly changeQueues = new Map<DocumentId, ChangeCall[]>();

  constructor(components: RemoteInputComponents) {
    this.components = components;
  }

  receiveSyncMessage(docId: DocumentId, state: SyncState, message: Uint8Array): Promise<AppliedInput<SyncState>> {
    checkRemoteInput(docId, [message]);
    return this.apply(docId, (doc) => {
      const [next, nextState] = this.onDocument(doc, (target) => Automerge.receiveSyncMessage(target, state, message));
      return [next, nextState];
    });
  }

  /**
   * Calls for one document in the same tick are applied together in one Automerge call (~25x
   * faster than one by one, DESIGN.md §11). If that fails, each call is retried alone, so that one
   * peer's bad change does not reject another's good ones.
   */
  applyChanges(docId: DocumentId, changes: readonly Uint8Array[]): Promise<AppliedInput<void>> {
    checkRemoteInput(docId, changes);
    if (changes.length === 0) return Promise.resolve({ result: undefined, written: nothingToWrite });
    let queue = this.changeQueues.get(docId);
    if (queue === undefined) {
      const created: ChangeCall[] = [];
      queue = created;
      this.changeQueues.set(docId, created);
      queueMicrotask(() => this.drain(docId, created));
    }
    const done = new Deferred<AppliedInput<void>>();
    queue.push({ changes, done });
    return done.promise;
  }

  private drain(docId: DocumentId, calls: readonly ChangeCall[]): void {
    if (this.changeQueues.get(docId) === calls) this.changeQueues.delete(docId);
    const applyAll = (changes: readonly Uint8Array[]): Promise<AppliedInput<void>> =>
      this.apply(docId, (doc) => {
        const [next, added] = this.applyChangesTo(doc, changes);
        return [next, undefined, added];
      });
    applyAll(calls.flatMap((call) => call.changes)).then(
      (applied) => calls.forEach((call) => call.done.resolve(applied)),
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
   * Applies `changes` to `doc` (undefined: an absent document's stand-in, not made yet). An empty
   * document (a whole document received, as at a heal) is built by Automerge.load from the changes
   * instead, ~2.7x faster than applying them (no patches to compute for a document nobody reads
   * yet); `doc` is then freed, as the caller keeps the answer in its place. Anything else, or a
   * load that fails (dependencies missing, a bad change), takes the ordinary path, which also
   * decides what a failure means. A document loaded so holds exactly the input, which is answered
   * as what it added: listing its changes again took ~0.5 ms per document of a heal, and a new
   * document's first write stores them as they are.
   */
  private applyChangesTo(doc: Automerge.Doc<unknown> | undefined, changes: readonly Uint8Array[]): [Automerge.Doc<unknown>, (readonly Uint8Array[] | undefined)?] {
    // An empty document may still hold changes that wait for their dependencies: those would be lost.
    if (doc === undefined || (Automerge.getHeads(doc).length === 0 && Automerge.getMissingDeps(doc, []).length === 0)) {
      let loaded: Automerge.Doc<unknown> | undefined;
      try {
        loaded = Automerge.load(changes.length === 1 ? changes[0]! : Buffer.concat(changes), { actor: this.components.cache.actor });
      } catch {
        loaded = undefined;
      }
      if (loaded !== undefined && Automerge.getMissingDeps(loaded, []).length === 0) {
        if (doc !== undefined) freeDocument(doc, this.components.logger);
        return [loaded, changes];
      }
      if (loaded !== undefined) freeDocument(loaded, this.components.logger);
    }
    return [this.onDocument(doc, (target) => Automerge.applyChanges(target, [...changes]))[0]];
  }

  /** Runs `apply` on `doc`, or on an empty document made for it (freed again if `apply` throws). */
  private onDocument<R>(doc: Automerge.Doc<unknown> | undefined, apply: (target: Automerge.Doc<unknown>) => R): R {
    if (doc !== undefined) return apply(doc);
    const empty = Automerge.init<unknown>(this.components.cache.actor);
    try {
      return apply(empty);
    } catch (error) {
      freeDocument(empty, this.components.logger);
      throw error;
    }
  }

  /**
   * Applies `apply` to the document and queues the write of what it changed (`written`). A failure
   * on a document that had other remote input applied since its load is retried once on a fresh
   * load: Automerge keeps changes whose dependencies are missing, and one of those, not this
   * input, may be what failed.
   */
  private async apply<R>(docId: DocumentId, apply: Apply<R>): Promise<AppliedInput<R>> {
    for (let attempt = 0; ; attempt += 1) {
      const outcome = await this.components.cache.use(docId, 'any', (entry): Outcome<R> => {
        if (entry === undefined) throw new CheopsError(ErrorCode.DocumentNotFound, `no document ${docId}`);
        return this.applyTo(entry, apply);
      });
      if (outcome.failure !== undefined) {
        if (outcome.fresh !== true && attempt === 0) continue;
        throw this.invalid(docId, outcome.failure);
      }
      const written = outcome.written === undefined ? nothingToWrite : outcome.written.then(() => undefined);
      // Handled here so that a failed write nobody awaits yet is no unhandled rejection; a caller
      // awaiting `written` still sees it fail.
      written.catch(() => undefined);
      return { result: outcome.result as R, written };
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
    // An absent document's stand-in nothing has made yet is empty: no document to clone or free.
    const target = entry.unmade ? undefined : busy ? Automerge.clone(entry.doc, { actor: cache.actor }) : entry.doc;
    const before = target === undefined ? [] : Automerge.getHeads(target);
    let next: Automerge.Doc<unknown>;
    let result: R;
    let added: readonly Uint8Array[] | undefined;
    try {
      [next, result, added] = apply(target);
    } catch (failure) {
      const fresh = entry.remoteApplies === 0;
      if (busy && target !== undefined) freeDocument(target, logger);
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
    const changes = added ?? Automerge.getChangesSince(next, before);
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
