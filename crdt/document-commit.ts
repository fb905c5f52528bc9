/**
 * Group commit for the document store: every document changed in the same tick is written in one
 * storage batch, and every caller waiting on those changes is answered when that batch is durable.
 * One batch is in flight at a time; changes made while it is written gather for the next, so
 * under load each fsync carries more changes instead of queueing more fsyncs.
 *
 * A failed batch changes nothing in storage (batches are atomic), so the documents it carried are
 * dropped from memory as well (memory never stays ahead of storage), and every caller waiting on
 * them, including those of later changes built on the failed ones, is rejected.
 */
import { CheopsError, ErrorCode, errorMessage } from '../core/errors.js';
import type { DocumentId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { Deferred } from './deferred.js';
import type { DocumentCache, LoadedDocument, PendingWork } from './document-cache.js';
import { deleteOperations, planWrite, type WritePlan } from './document-layout.js';
import type { DocumentChangedEvent } from './documents.js';
import type { Storage, StorageOperation } from './storage.js';

/** How a local change is written and announced (part of DocumentStore's ChangeOptions). */
export interface LocalChangeOptions {
  /**
   * Storage operations (outside the documents' keys) written in the same batch as the change, so
   * they are durable exactly when it is: one fsync, and no crash can separate them.
   */
  readonly alongside?: readonly StorageOperation[];
  /**
   * The peers (ids) this change is for, first: document sync pushes it to them only, and the
   * others learn it from them (their digests). For changes only some peers act on, such as a
   * replica's status, which the writer waits for: pushed to every member, each such change would
   * be applied by every member, a cost that grows with the square of the members.
   */
  readonly audience?: readonly string[];
  /**
   * Nothing waits on this change at the other sites: document sync may hold it back while this
   * site has more urgent work (p2p/background-hold.ts). For a replica's status written by a
   * reconcile pass, which no site needs in order to act, but which each receiving site pays for
   * (apply, write, index) while its own passes wait: in a heal, the statuses of the K replicas
   * made by each side crossed the link and were applied one by one beside the applications.
   */
  readonly background?: boolean;
  /**
   * Told to no peer until it is durable, not as its write starts: for a change other sites act on
   * as a grant (a replicant widened to more sites, one made for a site that asked for it). Pushed
   * early and then lost in a failed write, it would stay at the sites it reached and nowhere here,
   * and this site would refuse what they send of the document: it does not count them as members.
   */
  readonly durableFirst?: boolean;
}

export interface GroupCommitOptions {
  readonly storage: Storage;
  readonly logger: Logger;
  readonly compactAfterChunks: number;
  readonly cache: DocumentCache;
  /** Called once a document's write is durable, before its events and its waiters. */
  readonly onWritten: (docId: DocumentId, heads: readonly string[]) => void;
  readonly emit: (event: DocumentChangedEvent) => void;
  /**
   * Local changes as their batch starts, before it is durable: the event `emit` gives once it is,
   * with the same `changes` array.
   */
  readonly emitApplied: (event: DocumentChangedEvent) => void;
  /** A batch carrying local changes failed: they were announced (`emitApplied`) and are gone here. */
  /** `firstOfRun`: the batch before it went through (see `failing`). */
  readonly onLocalChangesLost: (docIds: readonly DocumentId[], firstOfRun: boolean) => void;
}

interface PlannedWrite {
  readonly entry: LoadedDocument;
  readonly work: PendingWork;
  readonly plan: WritePlan;
}

interface Removal {
  readonly operations: StorageOperation[];
  readonly done: Deferred<void>;
}

export class GroupCommit {
  private readonly options: GroupCommitOptions;
  private readonly dirty = new Set<LoadedDocument>();
  private readonly removals: Removal[] = [];
  private state: 'idle' | 'scheduled' | 'writing' = 'idle';
  /** The last batch failed: the next failure is logged at debug level. */
  private failing = false;
  /** Storage batches written so far (metrics, tests). */
  batches = 0;

  constructor(options: GroupCommitOptions) {
    this.options = options;
  }

  /**
   * Records a change to `entry` (already applied in memory) and resolves with the heads written
   * once it is durable. `local` is the change made here, `remote` the changes received; either
   * may be absent (a change that modified nothing still waits for the earlier ones). `options`
   * are the local change's (see ChangeOptions).
   */
  enqueue(entry: LoadedDocument, local: Uint8Array | undefined, remote: readonly Uint8Array[], options: LocalChangeOptions = {}): Promise<readonly string[]> {
    const work = (entry.pending ??= { local: [], remote: [], alongside: [], audience: new Set(), toEveryone: false, foreground: false, durableFirst: false, waiters: [] });
    if (local !== undefined) {
      work.local.push(local);
      if (options.durableFirst === true) work.durableFirst = true;
      if (options.audience === undefined) work.toEveryone = true;
      else for (const peer of options.audience) work.audience.add(peer);
      if (options.background !== true) work.foreground = true;
    }
    work.remote.push(...remote);
    if (options.alongside !== undefined) work.alongside.push(...options.alongside);
    const waiter = new Deferred<readonly string[]>();
    work.waiters.push(waiter);
    this.dirty.add(entry);
    this.schedule();
    return waiter.promise;
  }

  /** Removes a stored document (snapshot, chunks, index entry) in the next batch. */
  remove(docId: DocumentId, chunkSequences: readonly number[]): Promise<void> {
    const done = new Deferred<void>();
    this.removals.push({ operations: deleteOperations(docId, chunkSequences), done });
    this.schedule();
    return done.promise;
  }

  private schedule(): void {
    if (this.state !== 'idle') return;
    this.state = 'scheduled';
    // A microtask, not a timer: everything changed in the current tick joins this batch, and no
    // clock is involved, so a simulated run writes the same batches whatever its clock does.
    queueMicrotask(() => {
      this.flush()
        .catch((error: unknown) => {
          // A bug, not a storage failure (those are answered to the waiters): keep the pipeline going.
          this.options.logger.error({ error: errorMessage(error) }, 'group commit failed unexpectedly');
        })
        .finally(() => {
          this.state = 'idle';
          if (this.dirty.size > 0 || this.removals.length > 0) this.schedule();
        });
    });
  }

  private async flush(): Promise<void> {
    this.state = 'writing';
    // Removals go first: a document deleted then created again in the same tick ends up created.
    const removals = this.removals.splice(0);
    const writes = this.planAll();
    for (const { entry, work, plan } of writes) {
      if (work.local.length > 0 && !work.durableFirst) this.options.emitApplied(localEvent(entry.docId, plan.heads, work));
    }
    const operations = [...removals.flatMap((removal) => removal.operations), ...writes.flatMap((write) => [...write.plan.operations, ...write.work.alongside])];
    let failure: CheopsError | undefined;
    const wasFailing = this.failing;
    if (operations.length > 0) {
      try {
        await this.options.storage.batch(operations);
        this.batches += 1;
        this.failing = false;
      } catch (error) {
        failure = asStorageError(error);
        // The first failure of a run of them is an error; the rest (a full disk refuses every
        // batch until it has room) are debug, or they would fill the log, and the disk under it.
        const level = this.failing ? 'debug' : 'error';
        this.failing = true;
        this.options.logger[level]({ documents: writes.length, error: errorMessage(error) }, 'a storage batch failed');
      }
    }
    for (const removal of removals) {
      if (failure === undefined) removal.done.resolve();
      else removal.done.reject(failure);
    }
    for (const write of writes) {
      if (failure === undefined) this.written(write);
      else this.failed(write, failure);
    }
    const lost = failure === undefined ? [] : writes.filter((write) => write.work.local.length > 0).map((write) => write.entry.docId);
    if (lost.length > 0) this.options.onLocalChangesLost(lost, !wasFailing);
  }

  private planAll(): PlannedWrite[] {
    const writes: PlannedWrite[] = [];
    for (const entry of this.dirty) {
      const work = entry.pending;
      entry.pending = undefined;
      if (work === undefined) continue;
      try {
        // A document not stored yet was empty before the changes pending now: they are all of it
        // (a failed first write drops the document from memory, so none were written elsewhere).
        const plan = planWrite(entry, this.options.compactAfterChunks, entry.stored ? [] : [...work.local, ...work.remote]);
        entry.inFlight = new Deferred<void>();
        entry.inFlightHasLocal = work.local.length > 0;
        entry.inFlightHasRemote = work.remote.length > 0;
        writes.push({ entry, work, plan });
      } catch (error) {
        const failure = new CheopsError(ErrorCode.StorageFailure, `cannot encode document ${entry.docId}: ${errorMessage(error)}`, {
          cause: error,
          details: { docId: entry.docId },
        });
        work.waiters.forEach((waiter) => waiter.reject(failure));
        this.options.cache.evict(entry);
      }
    }
    this.dirty.clear();
    return writes;
  }

  private written({ entry, work, plan }: PlannedWrite): void {
    entry.stored = true;
    entry.persistedHeads = plan.heads;
    entry.chunkSequences = plan.chunkSequences;
    entry.nextChunkSequence = plan.nextChunkSequence;
    this.settleInFlight(entry);
    if (plan.operations.length > 0) this.options.onWritten(entry.docId, plan.heads);
    const { docId } = entry;
    if (work.local.length > 0) this.options.emit(localEvent(docId, plan.heads, work));
    if (work.remote.length > 0) this.options.emit({ docId, heads: plan.heads, changes: work.remote, origin: 'remote' });
    work.waiters.forEach((waiter) => waiter.resolve(plan.heads));
    this.options.cache.trim();
  }

  private failed({ entry, work }: PlannedWrite, failure: CheopsError): void {
    work.waiters.forEach((waiter) => waiter.reject(failure));
    // Later changes were made on top of the failed ones: they cannot be written without them.
    const later = entry.pending;
    entry.pending = undefined;
    this.dirty.delete(entry);
    later?.waiters.forEach((waiter) => waiter.reject(failure));
    this.settleInFlight(entry);
    this.options.cache.evict(entry);
  }

  private settleInFlight(entry: LoadedDocument): void {
    const inFlight = entry.inFlight;
    entry.inFlight = undefined;
    entry.inFlightHasLocal = false;
    entry.inFlightHasRemote = false;
    inFlight?.resolve();
  }
}

function localEvent(docId: DocumentId, heads: readonly string[], work: PendingWork): DocumentChangedEvent {
  const audience = work.toEveryone || work.audience.size === 0 ? undefined : work.audience;
  return { docId, heads, changes: work.local, origin: 'local', ...(audience === undefined ? {} : { audience }), ...(work.foreground ? {} : { background: true }) };
}

function asStorageError(error: unknown): CheopsError {
  if (error instanceof CheopsError) return error;
  return new CheopsError(ErrorCode.StorageFailure, `storage batch failed: ${errorMessage(error)}`, { cause: error });
}
