/**
 * The document store: Automerge documents persisted in Storage, loaded on demand, synced with
 * peers. It implements SyncableDocuments for document sync (p2p/) and the local API the node uses.
 *
 * Durability: every method that changes a document resolves only once the change is in storage,
 * and `doc:changed` listeners hear of it only then. Changes made in the same tick, on any number of
 * documents, go to storage in one batch (group commit); while a batch is being written, new changes
 * gather for the next one. Nothing unwritten leaves the site: reads show the stored state, and a
 * sync message speaks from the stored state (a peer must never hold a change of ours that a crash
 * could make us reuse the sequence number of) and waits for received changes to be written (a
 * peer must never believe we hold a change that a crash could lose). Received input can be taken
 * in without waiting for its write (acceptSyncMessage, acceptChanges): many messages then share
 * one batch.
 *
 * Hostile input: when Automerge rejects a received sync message or change (or panics on it), the
 * document it was applied to is dropped and storage, which it never reached, is untouched
 * (see remote-input.ts).
 */
import * as Automerge from '@automerge/automerge';
import { Buffer } from 'node:buffer';
import type { Clock } from '../core/clock.js';
import { CheopsError, ErrorCode, errorMessage } from '../core/errors.js';
import { isDocumentId, type DocumentId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { Random } from '../core/random.js';
import { DocumentCache, freeDocument, Wait, type LoadedDocument } from './document-cache.js';
import { GroupCommit, type LocalChangeOptions } from './document-commit.js';
import { RemoteInput } from './remote-input.js';
import { decodeIndexRecord, indexPrefix, sameHeads } from './document-layout.js';
import type { AppliedInput, DocumentChangedEvent, DocumentListener, SyncableDocuments, SyncState } from './documents.js';
import type { Storage } from './storage.js';

export interface DocumentStoreComponents {
  readonly storage: Storage;
  readonly clock: Clock;
  /** Draws the actor id at each open, so a simulator seed reproduces document bytes. */
  readonly random: Random;
  readonly logger: Logger;
}

export interface DocumentStoreInit {
  /**
   * Documents kept loaded at most; idle ones beyond are unloaded, least recently used first.
   * Default 1,000: a loaded document costs ~32 KB (DESIGN.md §11), so ~32 MB, while the documents
   * a site touches within a few seconds (its writes, a sync round) stay loaded.
   */
  readonly maxLoadedDocuments?: number;
  /**
   * Incremental chunks written for a document before they are folded into a new snapshot.
   * Default 16: a snapshot of a replicant is ~600 bytes and cheap to write, and a bound on chunks
   * bounds both the bytes kept for a document and the work to load it.
   */
  readonly compactAfterChunks?: number;
}

/** A change's options: its message, whether it may create the document, and how it is written and announced. */
export interface ChangeOptions extends LocalChangeOptions {
  /** Recorded in the change (Automerge's change message). */
  readonly message?: string;
  /** Start from an empty document when `docId` is absent, instead of CHEOPS_DOCUMENT_NOT_FOUND. */
  readonly create?: boolean;
  /**
   * Heads the document had (`heads`): the change is made at them, concurrent with what was
   * merged since (Automerge's `changeAt`), for a write decided before it was made (an update
   * answered first). Ignored when the document does not hold them all.
   */
  readonly at?: readonly string[];
}

const defaultMaxLoadedDocuments = 1_000;
const defaultCompactAfterChunks = 16;
const actorBytes = 16;

export class DocumentStore implements SyncableDocuments {
  private readonly components: DocumentStoreComponents;
  private readonly logger: Logger;
  private readonly maxLoaded: number;
  private readonly compactAfterChunks: number;
  private readonly index = new Map<DocumentId, readonly string[]>();
  private readonly listeners = new Set<DocumentListener>();
  private readonly appliedListeners = new Set<DocumentListener>();
  private readonly lostListeners = new Set<(docIds: readonly DocumentId[]) => void>();
  private readonly operations = new Set<Promise<unknown>>();
  private state: 'new' | 'opening' | 'open' | 'closing' | 'closed' = 'new';
  private cache: DocumentCache | undefined;
  private commit: GroupCommit | undefined;
  private remote: RemoteInput | undefined;

  constructor(components: DocumentStoreComponents, init: DocumentStoreInit = {}) {
    this.components = components;
    this.logger = components.logger.child({ component: 'document-store' });
    this.maxLoaded = positiveInteger(init.maxLoadedDocuments ?? defaultMaxLoadedDocuments, 'maxLoadedDocuments');
    this.compactAfterChunks = positiveInteger(init.compactAfterChunks ?? defaultCompactAfterChunks, 'compactAfterChunks');
  }

  /** Draws this process's actor id and reads the index: ids and heads only. */
  async open(): Promise<void> {
    if (this.state !== 'new') throw new CheopsError(ErrorCode.NotRunning, `the document store is ${this.state}`);
    this.state = 'opening';
    try {
      await this.load();
    } catch (error) {
      this.state = 'new';
      this.index.clear();
      throw error;
    }
    this.state = 'open';
    this.logger.info({ documents: this.index.size, actor: this.cacheOrThrow().actor }, 'document store open');
  }

  /** Waits for the calls under way and their writes, then unloads everything. Does not close the Storage. */
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    while (this.operations.size > 0) await Promise.allSettled([...this.operations]);
    this.cacheOrThrow().clear();
    this.state = 'closed';
  }

  /**
   * The Automerge actor id (32 hex digits) of the changes made here now: the same for every
   * document, drawn anew at each open (and after a failed write of local changes). A change may
   * leave for peers before it is durable (`onLocalChangeApplied`); if a crash then loses it here,
   * the next change is made by another actor, so no two different changes ever share an actor and
   * sequence number, and the peers that hold the lost change give it back.
   */
  get actorId(): string {
    this.ensureOpen();
    return this.cacheOrThrow().actor;
  }

  ids(): DocumentId[] {
    this.ensureOpen();
    return [...this.index.keys()];
  }

  has(docId: DocumentId): boolean {
    this.ensureOpen();
    return this.index.has(docId);
  }

  heads(docId: DocumentId): readonly string[] | undefined {
    this.ensureOpen();
    return this.index.get(docId);
  }

  /** Whether `docId` is loaded in memory now (tests and metrics). */
  isLoaded(docId: DocumentId): boolean {
    this.ensureOpen();
    return this.cacheOrThrow().peek(docId) !== undefined;
  }

  /**
   * Tells the store nothing is expected of `docId` soon: above the cap of loaded documents, it is
   * unloaded before those merely used less recently (DocumentCache.cool). A hint; any use warms it.
   */
  cool(docId: DocumentId): void {
    this.ensureOpen();
    this.cacheOrThrow().cool(docId);
  }

  /** Documents loaded in memory now. */
  get loadedCount(): number {
    this.ensureOpen();
    return this.cacheOrThrow().size;
  }

  /**
   * Creates `docId` holding `initialValue` and resolves with its heads once stored. Rejects with
   * CHEOPS_DOCUMENT_EXISTS when the document exists (stored, or being created or received).
   */
  create<T extends Record<string, unknown>>(
    docId: DocumentId,
    initialValue: T,
    options: Omit<ChangeOptions, 'create'> = {},
  ): Promise<readonly string[]> {
    return this.track(async () => {
      if (this.index.has(docId)) throw exists(docId);
      return this.cacheOrThrow().use(docId, 'any', (entry) => {
        if (entry === undefined || entry.exists) throw exists(docId);
        const draft = entry.doc as Automerge.Doc<Record<string, unknown>>;
        const next = Automerge.change(draft, this.changeOptions(options), (doc) => {
          Object.assign(doc, initialValue);
        });
        return this.recordLocal(entry, next);
      });
    });
  }

  /**
   * Changes `docId` with `change` (an Automerge change function: mutate the draft) and resolves
   * with the heads once the change is stored. A `change` that throws changes nothing and rejects.
   * A change that modifies nothing resolves once earlier changes to the document are stored.
   */
  change<T = Record<string, unknown>>(
    docId: DocumentId,
    change: (doc: T) => void,
    options: ChangeOptions = {},
  ): Promise<readonly string[]> {
    return this.track(async () =>
      this.cacheOrThrow().use(docId, options.create === true ? 'any' : 'existing', (entry) => {
        if (entry === undefined || (!entry.exists && options.create !== true)) {
          throw new CheopsError(ErrorCode.DocumentNotFound, `no document ${docId}`, { details: { docId } });
        }
        const doc = entry.doc as Automerge.Doc<T>;
        const { at } = options;
        const next =
          at === undefined || sameHeads(Automerge.getHeads(doc), at) || !Automerge.hasHeads(doc, [...at])
            ? Automerge.change<T>(doc, this.changeOptions(options), change)
            : Automerge.changeAt<T>(doc, [...at], this.changeOptions(options), change).newDoc;
        return this.recordLocal(entry, next, options);
      }),
    );
  }

  /**
   * The document as stored, as JavaScript values (immutable strings stay ImmutableString), or
   * undefined when absent. Loads it when needed. Changes whose write is still under way are not
   * shown. The result is Automerge's own view of the document, which it keeps materialised: a
   * snapshot (later changes make a new one), shared, so read it and never change it.
   * `Automerge.toJS` would build a private copy from the document's memory on every read (~1 ms
   * of a replica's apply went there).
   */
  read<T = Record<string, unknown>>(docId: DocumentId): Promise<T | undefined> {
    return this.track(async () =>
      this.cacheOrThrow().use(docId, 'existing', (entry) => {
        if (entry === undefined || !entry.stored) return undefined;
        const current = Automerge.getHeads(entry.doc);
        const doc = sameHeads(current, entry.persistedHeads) ? entry.doc : Automerge.view(entry.doc, [...entry.persistedHeads]);
        return doc as T;
      }),
    );
  }

  /**
   * The stored document as it was at `heads` (`read`'s value, at earlier heads), or undefined when
   * absent or when it does not hold them.
   */
  readAt<T = Record<string, unknown>>(docId: DocumentId, heads: readonly string[]): Promise<T | undefined> {
    return this.track(async () =>
      this.cacheOrThrow().use(docId, 'existing', (entry) => {
        if (entry === undefined || !entry.stored || !Automerge.hasHeads(entry.doc, [...heads])) return undefined;
        return Automerge.view(entry.doc, [...heads]) as T;
      }),
    );
  }

  /**
   * The messages of the stored changes `docId` holds after `heads` (ChangeOptions' `message`),
   * or undefined when it is absent or does not hold `heads`. For a recovery that must know whether
   * a change of its own was stored, whatever was written after it.
   */
  messagesSince(docId: DocumentId, heads: readonly string[]): Promise<readonly string[] | undefined> {
    return this.track(async () =>
      this.cacheOrThrow().use(docId, 'existing', (entry) => {
        if (entry === undefined || !entry.stored) return undefined;
        try {
          const stored = Automerge.view(entry.doc, [...entry.persistedHeads]);
          // Automerge answers every change for heads it does not hold.
          if (!Automerge.hasHeads(stored, [...heads])) return undefined;
          return Automerge.getChangesSince(stored, [...heads]).map((change) => Automerge.decodeChange(change).message ?? '');
        } catch {
          return undefined;
        }
      }),
    );
  }

  /**
   * Removes `docId` from memory and storage; resolves once it is gone. A peer that still holds it
   * can send it again: whoever decides a document no longer belongs here must also stop syncing it.
   */
  delete(docId: DocumentId): Promise<void> {
    return this.track(async () => {
      if (!this.index.has(docId) && this.cacheOrThrow().peek(docId)?.exists !== true) return;
      // The step answers the removal's promise, which use() adopts: this resolves when it is written.
      await this.cacheOrThrow().use(docId, 'any', (entry): Promise<void> | Wait => {
        if (entry === undefined || !entry.exists) return Promise.resolve();
        // Idle and existing means stored: a document being created is not idle until written.
        if (!entry.isIdle()) return new Wait(entry.settled());
        const heads = this.index.get(docId);
        this.index.delete(docId);
        this.cacheOrThrow().evict(entry);
        return this.commitOrThrow()
          .remove(docId, entry.chunkSequences)
          .catch((error: unknown) => {
            if (heads !== undefined && !this.index.has(docId)) this.index.set(docId, heads);
            throw error;
          });
      });
    });
  }

  generateSyncMessage(docId: DocumentId, state: SyncState): Promise<[SyncState, Uint8Array | null]> {
    return this.track(async () =>
      this.cacheOrThrow().use(docId, 'any', (entry) => {
        if (entry === undefined) throw new CheopsError(ErrorCode.DocumentNotFound, `no document ${docId}`);
        // Received changes not written yet must not be announced (a crash could lose them, and
        // the peer would not send them again): wait for their batch, then look again.
        if (entry.hasUnwrittenRemote()) return new Wait(entry.settled());
        if (!entry.hasUnwrittenLocal()) return Automerge.generateSyncMessage(entry.doc, state);
        // Speak from the stored state: a fork at the stored heads, rather than waiting for the
        // write, which could wait forever while local writes keep coming.
        const stored = Automerge.clone(Automerge.view(entry.doc, [...entry.persistedHeads]), { actor: this.cacheOrThrow().actor });
        try {
          return Automerge.generateSyncMessage(stored, state);
        } finally {
          freeDocument(stored, this.logger);
        }
      }),
    );
  }

  storedChanges(docId: DocumentId): Promise<{ readonly heads: readonly string[]; readonly changes: Uint8Array[] } | undefined> {
    return this.track(async () =>
      this.cacheOrThrow().use(docId, 'existing', (entry) => {
        if (entry === undefined || !entry.exists || !entry.stored) return undefined;
        // As generateSyncMessage: received changes are not spoken of before their batch.
        if (entry.hasUnwrittenRemote()) return new Wait(entry.settled());
        if (entry.hasUnwrittenLocal()) return undefined;
        return { heads: Automerge.getHeads(entry.doc), changes: Automerge.getAllChanges(entry.doc) };
      }),
    );
  }

  receiveSyncMessage(docId: DocumentId, state: SyncState, message: Uint8Array): Promise<SyncState> {
    return this.track(async () => {
      const applied = await this.remoteOrThrow().receiveSyncMessage(docId, state, message);
      await applied.written;
      return applied.result;
    });
  }

  acceptSyncMessage(docId: DocumentId, state: SyncState, message: Uint8Array): Promise<AppliedInput<SyncState>> {
    return this.track(async () => this.trackWritten(await this.remoteOrThrow().receiveSyncMessage(docId, state, message)));
  }

  /** Calls for one document in the same tick are applied in one Automerge call (see RemoteInput). */
  applyChanges(docId: DocumentId, changes: readonly Uint8Array[]): Promise<void> {
    return this.track(async () => (await this.remoteOrThrow().applyChanges(docId, changes)).written);
  }

  acceptChanges(docId: DocumentId, changes: readonly Uint8Array[]): Promise<AppliedInput<void>> {
    return this.track(async () => this.trackWritten(await this.remoteOrThrow().applyChanges(docId, changes)));
  }

  lacks(docId: DocumentId, heads: readonly string[]): Promise<boolean> {
    return this.track(async () =>
      this.cacheOrThrow().use(docId, 'existing', (entry) => {
        if (entry === undefined || !entry.exists) return heads.length > 0;
        return Automerge.getMissingDeps(entry.doc, [...heads]).length > 0;
      }),
    );
  }

  onChange(listener: DocumentListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  onLocalChangesLost(listener: (docIds: readonly DocumentId[]) => void): () => void {
    this.lostListeners.add(listener);
    return () => {
      this.lostListeners.delete(listener);
    };
  }

  onLocalChangeApplied(listener: DocumentListener): () => void {
    this.appliedListeners.add(listener);
    return () => {
      this.appliedListeners.delete(listener);
    };
  }

  /** Draws the actor id and reads the index. */
  private async load(): Promise<void> {
    const { storage } = this.components;
    const actor = this.drawActor();
    for (const { key, value } of await storage.list(indexPrefix)) {
      const docId = key[1];
      if (key.length !== 2 || docId === undefined || !isDocumentId(docId)) {
        throw new CheopsError(ErrorCode.StorageFailure, `unexpected index key ${JSON.stringify(key)}`);
      }
      this.index.set(docId, decodeIndexRecord(docId, value));
    }
    this.cache = new DocumentCache({
      storage,
      logger: this.logger,
      actor,
      maxLoaded: this.maxLoaded,
      isStored: (docId) => this.index.has(docId),
    });
    this.commit = new GroupCommit({
      storage,
      logger: this.logger,
      compactAfterChunks: this.compactAfterChunks,
      cache: this.cache,
      onWritten: (docId, heads) => this.index.set(docId, heads),
      emit: (event) => this.emit(this.listeners, event),
      emitApplied: (event) => this.emit(this.appliedListeners, event),
      onLocalChangesLost: (docIds, firstOfRun) => {
        const renewed = this.drawActor();
        this.logger[firstOfRun ? 'warn' : 'debug']({ actor: renewed, documents: docIds.length }, 'local changes lost in a failed write: new changes are made by a new actor');
        this.cacheOrThrow().renewActor(renewed);
        for (const listener of [...this.lostListeners]) listener(docIds);
      },
    });
    this.remote = new RemoteInput({ cache: this.cache, commit: this.commit, logger: this.logger });
  }

  private recordLocal(entry: LoadedDocument, next: Automerge.Doc<unknown>, options: LocalChangeOptions = {}): Promise<readonly string[]> {
    const changed = next !== entry.doc;
    entry.doc = next;
    entry.exists = true;
    const change = changed ? Automerge.getLastLocalChange(next) : undefined;
    return this.commitOrThrow().enqueue(entry, change, [], options);
  }

  private changeOptions(options: { readonly message?: string }): Automerge.ChangeOptions<unknown> {
    // Automerge records seconds, and reads the real clock when `time` is left out.
    const time = Math.floor(this.components.clock.now() / 1000);
    return options.message === undefined ? { time } : { time, message: options.message };
  }

  private drawActor(): string {
    return Buffer.from(this.components.random.bytes(actorBytes)).toString('hex');
  }

  private emit(listeners: ReadonlySet<DocumentListener>, event: DocumentChangedEvent): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ docId: event.docId, error: errorMessage(error) }, 'a doc:changed listener threw');
      }
    }
  }

  /** Remembers the write of accepted input until it settles, so close() waits for it too. */
  private trackWritten<T>(applied: AppliedInput<T>): AppliedInput<T> {
    const settled = applied.written.catch(() => undefined);
    this.operations.add(settled);
    void settled.then(() => this.operations.delete(settled));
    return applied;
  }

  /** Runs a public call, refusing it unless open, and remembers it until settled so close() can wait. */
  private track<T>(call: () => Promise<T>): Promise<T> {
    if (this.state !== 'open') {
      return Promise.reject(new CheopsError(ErrorCode.NotRunning, `the document store is ${this.state}`));
    }
    const promise = call();
    this.operations.add(promise);
    const forget = (): void => {
      this.operations.delete(promise);
    };
    promise.then(forget, forget);
    return promise;
  }

  private ensureOpen(): void {
    if (this.state !== 'open' && this.state !== 'closing') {
      throw new CheopsError(ErrorCode.NotRunning, `the document store is ${this.state}`);
    }
  }

  private cacheOrThrow(): DocumentCache {
    if (this.cache === undefined) throw new CheopsError(ErrorCode.NotRunning, 'the document store is not open');
    return this.cache;
  }

  private remoteOrThrow(): RemoteInput {
    if (this.remote === undefined) throw new CheopsError(ErrorCode.NotRunning, 'the document store is not open');
    return this.remote;
  }

  private commitOrThrow(): GroupCommit {
    if (this.commit === undefined) throw new CheopsError(ErrorCode.NotRunning, 'the document store is not open');
    return this.commit;
  }
}

function exists(docId: DocumentId): CheopsError {
  return new CheopsError(ErrorCode.DocumentExists, `document ${docId} already exists`, { details: { docId } });
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new CheopsError(ErrorCode.ConfigInvalid, `${name} must be a positive integer, got ${value}`);
  }
  return value;
}
