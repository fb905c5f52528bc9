/**
 * The loaded documents of a DocumentStore: loads on demand, shares one load between concurrent
 * callers, and unloads the least recently used idle documents above a cap. A loaded document
 * costs ~32 KB of process memory against ~600 bytes stored (DESIGN.md §11), so idle ones live in
 * the store only.
 *
 * A caller pins what it acquires and releases it when its synchronous work is done; only
 * unpinned documents with nothing waiting to be written are unloaded by the cap. A document can
 * also be dropped on purpose (a failed write, hostile input that broke it): it is then marked
 * `evicted`, so callers that still hold it start again, and its memory is freed once unpinned.
 */
import * as Automerge from '@automerge/automerge';
import type { Logger } from '../core/logger.js';
import type { DocumentId } from '../core/ids.js';
import { Deferred } from './deferred.js';
import { documentPrefix, loadStoredDocument, parseStoredDocument } from './document-layout.js';
import type { Storage, StorageOperation } from './storage.js';

/** Changes made in memory and not yet written, with the callers waiting for the write. */
export interface PendingWork {
  readonly local: Uint8Array[];
  readonly remote: Uint8Array[];
  /** Other storage operations to write in the same batch (ChangeOptions.alongside). */
  readonly alongside: StorageOperation[];
  /** The peers the local changes are for first (ChangeOptions.audience), unless `toEveryone`. */
  readonly audience: Set<string>;
  /** A local change pending has no audience: the event goes to everyone. */
  toEveryone: boolean;
  /** A local change pending is not a background one (ChangeOptions.background): nor is the event. */
  foreground: boolean;
  /** A local change pending is told to no peer before it is durable (ChangeOptions.durableFirst). */
  durableFirst: boolean;
  readonly waiters: Deferred<readonly string[]>[];
}

export class LoadedDocument {
  readonly docId: DocumentId;
  /** Undefined for the empty stand-in of an absent id until something needs it (see `doc`). */
  private current: Automerge.Doc<unknown> | undefined;
  /** The actor of the empty stand-in, when this is one. */
  private readonly emptyActor: string | undefined;
  /** In storage (index entry and snapshot); false for a new document not yet written. */
  stored: boolean;
  /** Holds content: stored, created here, or received. False for the empty stand-in of an absent id. */
  exists: boolean;
  persistedHeads: readonly string[];
  chunkSequences: number[];
  nextChunkSequence: number;
  pins = 0;
  evicted = false;
  /** Remote inputs applied since the load: a failure on a fresh load is the input's own fault. */
  remoteApplies = 0;
  pending: PendingWork | undefined = undefined;
  /** Settles when the batch carrying this document's last planned write has succeeded or failed. */
  inFlight: Deferred<void> | undefined = undefined;
  /** Whether the batch in flight carries changes made on this site. */
  inFlightHasLocal = false;
  /** Whether the batch in flight carries changes received from peers. */
  inFlightHasRemote = false;

  /** The empty stand-in of an absent id, with `actor` for its document, made on first use (see `doc`). */
  static absent(docId: DocumentId, actor: string): LoadedDocument {
    return new LoadedDocument(docId, undefined, false, [], actor);
  }

  /** A stored document, loaded as `doc` (use `absent` for an id not stored). */
  constructor(docId: DocumentId, doc: Automerge.Doc<unknown> | undefined, stored: boolean, chunkSequences: number[], emptyActor?: string) {
    this.docId = docId;
    this.current = doc;
    this.emptyActor = emptyActor;
    this.stored = stored;
    this.exists = stored;
    this.persistedHeads = stored ? Automerge.getHeads(this.doc) : [];
    this.chunkSequences = chunkSequences;
    this.nextChunkSequence = chunkSequences.length === 0 ? 0 : Math.max(...chunkSequences) + 1;
  }

  /**
   * The document. An absent id's empty stand-in is made on first use: a document received whole
   * never needs it (RemoteInput loads it from the changes), and making one was ~0.4 ms of each
   * document's intake in a heal.
   */
  get doc(): Automerge.Doc<unknown> {
    return (this.current ??= Automerge.init(this.emptyActor));
  }

  set doc(doc: Automerge.Doc<unknown>) {
    this.current = doc;
  }

  /** An absent id's empty stand-in that nothing has needed yet: no changes, none waiting for dependencies. */
  get unmade(): boolean {
    return this.current === undefined;
  }

  /** Frees the document's memory; the caller no longer uses it. */
  free(logger: Logger): void {
    if (this.current !== undefined) freeDocument(this.current, logger);
  }

  /** Nothing written in memory that storage lacks, and no write under way. */
  isIdle(): boolean {
    return this.pending === undefined && this.inFlight === undefined;
  }

  /** Changes made here that have not reached storage yet (they must not leave the site before). */
  hasUnwrittenLocal(): boolean {
    return (this.pending !== undefined && this.pending.local.length > 0) || (this.inFlight !== undefined && this.inFlightHasLocal);
  }

  /** Changes received from peers that have not reached storage yet (they must not be announced before). */
  hasUnwrittenRemote(): boolean {
    return (this.pending !== undefined && this.pending.remote.length > 0) || (this.inFlight !== undefined && this.inFlightHasRemote);
  }

  /** Resolves (never rejects) once what is pending or in flight now has been written or has failed. */
  settled(): Promise<void> {
    if (this.pending !== undefined) {
      const waiter = new Deferred<readonly string[]>();
      this.pending.waiters.push(waiter);
      return waiter.promise.then(
        () => undefined,
        () => undefined,
      );
    }
    return this.inFlight?.promise ?? Promise.resolve();
  }
}

export type AcquireMode = 'existing' | 'any';

/** Answered by a step of {@link DocumentCache.use} that must wait for `promise`, then run again. */
export class Wait {
  constructor(readonly promise: Promise<void>) {}
}

export interface DocumentCacheOptions {
  readonly storage: Storage;
  readonly logger: Logger;
  /** The actor of documents loaded or made from now on (`renewActor` replaces it). */
  readonly actor: string;
  readonly maxLoaded: number;
  /** Whether the store's index lists `docId`. */
  readonly isStored: (docId: DocumentId) => boolean;
}

interface Loading {
  readonly promise: Promise<LoadedDocument | undefined>;
  waiters: number;
}

export class DocumentCache {
  private readonly options: DocumentCacheOptions;
  /** Insertion order is recency order: touching a document moves it to the end. */
  private readonly loaded = new Map<DocumentId, LoadedDocument>();
  /** Loaded documents their user expects no work on soon (`cool`): unloaded before the others. */
  private readonly cold = new Set<DocumentId>();
  private readonly loading = new Map<DocumentId, Loading>();
  private currentActor: string;

  constructor(options: DocumentCacheOptions) {
    this.options = options;
    this.currentActor = options.actor;
  }

  get size(): number {
    return this.loaded.size;
  }

  /** This process's actor id, for documents loaded or made from now on (clones, forks). */
  get actor(): string {
    return this.currentActor;
  }

  /**
   * Documents loaded or made from now on write as `actor`. For local changes lost after they were
   * sent: the documents reloaded without them must not number new changes as they were numbered.
   */
  renewActor(actor: string): void {
    this.currentActor = actor;
  }

  peek(docId: DocumentId): LoadedDocument | undefined {
    return this.loaded.get(docId);
  }

  /**
   * The document, loaded and pinned: release it after use. `existing` answers undefined for an id
   * that is neither stored nor in memory; `any` gives an empty stand-in for it (an absent document
   * syncs as empty), which is written once it has content. The answer may be evicted by the time
   * the caller runs: check `evicted` and acquire again.
   */
  async acquire(docId: DocumentId, mode: AcquireMode): Promise<LoadedDocument | undefined> {
    for (;;) {
      const cached = this.loaded.get(docId);
      if (cached !== undefined) {
        this.touch(cached);
        cached.pins += 1;
        return cached;
      }
      if (!this.options.isStored(docId)) {
        if (mode === 'existing') return undefined;
        const entry = LoadedDocument.absent(docId, this.currentActor);
        entry.pins += 1;
        this.loaded.set(docId, entry);
        this.trim();
        return entry;
      }
      const loading = this.loading.get(docId) ?? this.startLoad(docId);
      loading.waiters += 1;
      const entry = await loading.promise;
      // The load pinned the document once for each waiter, so the cap cannot unload it before
      // this caller runs; it can still have been dropped on purpose.
      if (entry !== undefined && !entry.evicted) return entry;
      if (entry !== undefined) this.release(entry);
    }
  }

  /**
   * Runs `step` synchronously on the acquired document (undefined when `existing` finds none),
   * then releases it. A step answering a Wait is run again, on a fresh acquire, once it resolves.
   * A promise answered by the step is adopted: the call resolves when it does, the document
   * already released.
   */
  async use<R>(docId: DocumentId, mode: AcquireMode, step: (entry: LoadedDocument | undefined) => R | Wait): Promise<R> {
    for (;;) {
      const entry = await this.acquire(docId, mode);
      if (entry?.evicted === true) {
        this.release(entry);
        continue;
      }
      let result: R | Wait;
      try {
        result = step(entry);
      } finally {
        if (entry !== undefined) this.release(entry);
      }
      if (!(result instanceof Wait)) return result;
      await result.promise;
    }
  }

  /**
   * Says that nothing is expected of `docId` soon (its work is settled), so that the cap unloads it
   * before documents used less recently but still awaited. Least recently used alone, the cap
   * evicts a document received and waiting for its turn with its user (in a heal, ~1,000 of them
   * in a queue) for one just finished with. Using it again warms it.
   */
  cool(docId: DocumentId): void {
    if (!this.loaded.has(docId)) return;
    this.cold.add(docId);
    this.trim();
  }

  release(entry: LoadedDocument): void {
    entry.pins -= 1;
    if (entry.evicted) this.freeIfUnused(entry);
    else this.trim();
  }

  /** Drops `entry` from memory now (its next user loads it from storage again). */
  evict(entry: LoadedDocument): void {
    if (entry.evicted) return;
    entry.evicted = true;
    if (this.loaded.get(entry.docId) === entry) {
      this.loaded.delete(entry.docId);
      this.cold.delete(entry.docId);
    }
    this.freeIfUnused(entry);
  }

  /** Unloads idle documents, cold ones first, then least recently used first, until at most the cap are loaded. */
  trim(): void {
    if (this.loaded.size <= this.options.maxLoaded) return;
    for (const docId of this.cold) {
      if (this.loaded.size <= this.options.maxLoaded) return;
      const entry = this.loaded.get(docId);
      if (entry !== undefined && entry.pins === 0 && entry.isIdle()) this.evict(entry);
    }
    for (const entry of this.loaded.values()) {
      if (this.loaded.size <= this.options.maxLoaded) return;
      if (entry.pins === 0 && entry.isIdle()) this.evict(entry);
    }
  }

  /** Frees every loaded document (the store is closing and nothing is in use). */
  clear(): void {
    for (const entry of [...this.loaded.values()]) this.evict(entry);
  }

  private touch(entry: LoadedDocument): void {
    this.cold.delete(entry.docId);
    this.loaded.delete(entry.docId);
    this.loaded.set(entry.docId, entry);
  }

  private startLoad(docId: DocumentId): Loading {
    const result = new Deferred<LoadedDocument | undefined>();
    const loading: Loading = { promise: result.promise, waiters: 0 };
    this.loading.set(docId, loading);
    this.load(docId, loading).then(result.resolve, result.reject);
    return loading;
  }

  private async load(docId: DocumentId, loading: Loading): Promise<LoadedDocument | undefined> {
    let entries;
    try {
      entries = await this.options.storage.list(documentPrefix(docId));
    } finally {
      // Forget the load in the same step as it settles, so that no late caller joins it after the
      // pins were counted.
      if (this.loading.get(docId) === loading) this.loading.delete(docId);
    }
    const stored = parseStoredDocument(docId, entries);
    const doc = loadStoredDocument<unknown>(docId, stored, this.currentActor);
    // Deleted, or replaced by a stand-in, while it was loading: the answer is no longer current.
    if (!this.options.isStored(docId) || this.loaded.has(docId)) {
      Automerge.free(doc);
      return undefined;
    }
    const entry = new LoadedDocument(docId, doc, true, stored.chunkSequences);
    entry.pins = loading.waiters;
    this.loaded.set(docId, entry);
    this.options.logger.debug({ docId, chunks: stored.chunks.length }, 'document loaded');
    this.trim();
    return entry;
  }

  private freeIfUnused(entry: LoadedDocument): void {
    if (entry.pins === 0) entry.free(this.options.logger);
  }
}

/**
 * Frees the wasm memory of `doc` now rather than when the garbage collector gets to it (wasm
 * memory does not press on the JavaScript heap, so it would pile up). The caller must hold the
 * only reference.
 */
export function freeDocument(doc: Automerge.Doc<unknown>, logger: Logger): void {
  try {
    Automerge.free(doc);
  } catch (error) {
    // A document broken by a panic inside Automerge may refuse to be freed; it is unreachable anyway.
    logger.debug({ error }, 'could not free a dropped document');
  }
}
