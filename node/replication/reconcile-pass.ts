/**
 * One reconcile pass over one replicant (docs/REPLICATION.md §3): read and validate it (dropping
 * it when hostile or when its scope leaves this site out), record conflicts Automerge resolved,
 * mirror it in the key index, and, unless this site's replica is current, drive the local
 * application to the desired state and record the outcome in this site's replica entry.
 *
 * The pass holds its key's lock (KeyLocks) from the read to the record: passes over two
 * incarnations of one name, and writes through the front, never interleave on the local object.
 * A replica entry is trusted only when no write through the front was cut short on the document
 * (the index's `localWritePending`); otherwise the pass re-checks the application.
 */
import { errorMessage, type Clock, type Logger } from '../../core/index.js';
import { sameHeads } from '../../crdt/document-layout.js';
import type { DocumentStore } from '../../crdt/document-store.js';
import type { ReplicantDraft } from '../../crdt/replicant-write.js';
import type { DocumentId, MetaId, PeerIdString, ResourceKey, SiteName } from '../../core/ids.js';
import { metaIdOfDocId, replicaCurrent, ReplicaStatus, type Replicant, type ReplicaEntry } from '../../crdt/replicant.js';
import type { Applier, ApplyOutcome } from './applier.js';
import { entryOf, type KeyIndex } from './key-index.js';
import type { KeyLocks } from './key-locks.js';
import type { ReplicationMetrics } from './metrics.js';
import type { PassResult } from './reconciler.js';
import type { Replicants } from './replicants.js';

/** What a reconcile pass needs. */
export interface PassDeps {
  readonly self: SiteName;
  readonly documents: Pick<DocumentStore, 'heads'>;
  readonly replicants: Replicants;
  readonly index: KeyIndex;
  /** Shared with the write path. */
  readonly locks: KeyLocks;
  readonly applier: Applier;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: ReplicationMetrics;
  /** The peer of a site, when known (a replica's status goes first to the site that wrote). */
  readonly peerIdOf: (site: SiteName) => PeerIdString | undefined;
  /** Told of each tombstone applied here (reshare.ts), under the key's lock: it must not wait. */
  readonly tombstoneApplied?: (replicant: Replicant) => void;
  /**
   * Whether a write of `metaId` made here is not recorded yet (a create's intent being settled,
   * create-recovery.ts; an answered update's record open, update-recovery.ts): the application's
   * object is that write's, which the settling writes into the replicant; a pass would overwrite
   * it with what came from elsewhere first.
   */
  readonly writeUnsettled?: (metaId: MetaId) => boolean;
}

/** The pass function the Reconciler runs. */
export function reconcilePass(deps: PassDeps): (docId: DocumentId) => Promise<PassResult> {
  return async (docId) => {
    const metaId = metaIdOfDocId(docId);
    if (metaId === undefined) return 'done';
    const key = deps.index.byMetaId(metaId)?.key ?? (await keyOf(deps, docId));
    // Absent or unreadable: nothing reaches the application, no lock needed.
    if (key === undefined) return passOnce(deps, docId, metaId);
    return deps.locks.run(key, () => passOnce(deps, docId, metaId));
  };
}

/** The key a document names (a meta-ID is derived from its key: it never changes). */
async function keyOf(deps: PassDeps, docId: DocumentId): Promise<ResourceKey | undefined> {
  const read = await deps.replicants.read(docId);
  return read.kind === 'ok' ? read.replicant.meta.key : undefined;
}

async function passOnce(deps: PassDeps, docId: DocumentId, metaId: MetaId): Promise<PassResult> {
  // Heads first: if a change lands while we read, the index records the older heads, and the
  // next start-up reconciles once more rather than missing it.
  const heads = deps.documents.heads(docId);
  // Found current at these very heads (by a pass, or by this site's own write, replicants.ts):
  // the document has not changed since, so neither has anything a pass would do. As at start-up.
  const known = deps.index.byMetaId(metaId);
  if (heads !== undefined && known?.currentAt !== undefined && known.localWritePending !== true && sameHeads(known.currentAt, heads)) return 'done';
  const read = await deps.replicants.read(docId);
  if (read.kind === 'absent') {
    await deps.index.remove(metaId);
    return 'done';
  }
  if (read.kind === 'invalid') {
    await deps.replicants.drop(docId, `malformed replicant: ${read.reason}`);
    return 'done';
  }
  let replicant = read.replicant;
  if (!replicant.meta.sites.includes(deps.self)) {
    await deps.replicants.drop(docId, `its scope (${replicant.meta.sites.join(', ')}) does not include ${deps.self}`);
    return 'done';
  }
  if (read.ignored.length > 0) deps.logger.warn({ docId, ignored: read.ignored }, 'malformed replicant entries ignored');
  if (deps.writeUnsettled?.(metaId) === true) return 'retry';
  replicant = await recordConflicts(deps, replicant, read.content);
  const { currentAt: _stale, ...entry } = entryOf(replicant, deps.index.byMetaId(metaId));
  // Under the key's lock no write through the front is under way: a mark left is one cut short.
  const verify = entry.localWritePending === true;
  const current = replicaCurrent(replicant, deps.self) && !verify;
  // One index write, not awaited: the index is a cache of the document, and the application must
  // not wait for it. Stored late or lost, `currentAt` is still never ahead of the replica: it is
  // only set to heads at which the replica was found current, and a start-up that finds the
  // document's heads moved on from it passes again.
  void deps.index.put(current && heads !== undefined ? { ...entry, currentAt: heads } : entry);
  if (current) return 'done';
  const result = await applyAndRecord(deps, replicant, heads);
  if (verify && result === 'done') await deps.index.markLocalWrite(metaId, false);
  return result;
}

/**
 * Who hears of this site's replica status first: the site whose write it answers (it may be
 * waiting for every replica), not every member; the others get it from that site's digest, with
 * the other members' statuses, in one sync (docs/REPLICATION.md §3).
 */
function writerAudience(deps: PassDeps, replicant: Replicant): readonly PeerIdString[] | undefined {
  const writer = replicant.deleted ? (replicant.deletedBy?.site ?? replicant.desired.site) : replicant.desired.site;
  const peer = writer === deps.self ? undefined : deps.peerIdOf(writer);
  return peer === undefined ? undefined : [peer];
}

/** `read`: the document `replicant` was decoded from, looked at again rather than read again. */
async function recordConflicts(deps: PassDeps, replicant: Replicant, read: ReplicantDraft): Promise<Replicant> {
  const written = await deps.replicants.recordConflicts(replicant.docId, read);
  if (written.length === 0) return replicant;
  for (const conflict of written) {
    deps.logger.info(
      { metaId: replicant.metaId, key: replicant.meta.key, loser: conflict.revision, lostTo: conflict.lostTo },
      'concurrent write resolved: one winner everywhere, the loser recorded',
    );
  }
  deps.metrics.conflicts.inc(written.length);
  return (await deps.replicants.get(replicant.metaId)) ?? replicant;
}

/** `readAt`: the document's heads when `replicant` was read, if known. */
async function applyAndRecord(deps: PassDeps, replicant: Replicant, readAt: readonly string[] | undefined): Promise<PassResult> {
  const { applier, index, clock, metrics, logger } = deps;
  const superseded = index.superseded({ key: replicant.meta.key, incarnation: replicant.meta.incarnation });
  if (superseded && !replicant.deleted) {
    // A later life of the key is held here, so this one was deleted somewhere and its tombstone is
    // on its way: the object under the name is the later one's (seed 900150: the last write of
    // the old life, made on a site that had not heard of the delete, overwrote the new one's
    // object, and stayed). Nothing is applied or recorded; the tombstone's pass records it.
    logger.info({ metaId: replicant.metaId, key: replicant.meta.key, revision: replicant.desired.revision }, 'a later incarnation holds the name here: this one is not applied');
    return 'done';
  }
  let outcome: ApplyOutcome;
  try {
    outcome = replicant.deleted
      ? await applier.delete(replicant, superseded)
      : await applier.apply(replicant, async () => {
        // Unchanged since it was read: still wanted, without decoding it again (~0.4 ms before
        // every replica's create).
        const current = deps.documents.heads(replicant.docId);
        if (readAt !== undefined && current !== undefined && sameHeads(current, readAt)) return true;
        const now = await deps.replicants.get(replicant.metaId);
        return now !== undefined && !now.deleted && now.desired.revision === replicant.desired.revision;
      }, replicant.replicas[deps.self] === undefined);
  } catch (error) {
    outcome = { kind: 'transient', op: 'none', error: errorMessage(error) };
  }
  // The replicant moved on while the application was read: record nothing, pass again on it.
  if (outcome.kind === 'stale') {
    logger.debug({ metaId: replicant.metaId, key: replicant.meta.key, revision: replicant.desired.revision }, 'replicant changed during the pass; passing again');
    return 'retry';
  }
  const previous = replicant.replicas[deps.self];
  const entry = replicaEntryOf(replicant, outcome, previous, clock.now());
  if (!sameEntry(previous, entry)) await deps.replicants.recordReplica(replicant.docId, entry, writerAudience(deps, replicant));
  if (outcome.kind === 'deleted') deps.tombstoneApplied?.(replicant);
  metrics.operations.inc({ op: outcome.op, outcome: outcome.kind });
  if (outcome.kind === 'applied' && replicant.desired.site !== deps.self) {
    metrics.delay.observe(Math.max(0, clock.now() - replicant.desired.at) / 1000);
  }
  const level = outcome.kind === 'transient' || outcome.kind === 'failed' ? 'warn' : 'info';
  logger[level](
    { metaId: replicant.metaId, key: replicant.meta.key, revision: replicant.desired.revision, outcome: outcome.kind, op: outcome.op, ...('error' in outcome ? { error: outcome.error } : {}) },
    'replica reconciled',
  );
  return outcome.kind === 'transient' ? 'retry' : 'done';
}

/** This site's replica entry after `outcome`. */
function replicaEntryOf(replicant: Replicant, outcome: Exclude<ApplyOutcome, { kind: 'stale' }>, previous: ReplicaEntry | undefined, now: number): ReplicaEntry {
  const { desired } = replicant;
  const localId = previous?.localId;
  switch (outcome.kind) {
    case 'applied': {
      const id = outcome.localId ?? localId;
      return { status: ReplicaStatus.Applied, observedRevision: desired.revision, observedGeneration: desired.generation, ...(id === undefined ? {} : { localId: id }), updatedAt: now };
    }
    case 'deleted':
      return {
        status: ReplicaStatus.Deleted,
        observedRevision: replicant.deletedBy?.revision ?? desired.revision,
        observedGeneration: desired.generation,
        ...(localId === undefined ? {} : { localId }),
        updatedAt: now,
      };
    case 'failed':
      return {
        status: ReplicaStatus.Failed,
        observedRevision: replicant.deleted ? (replicant.deletedBy?.revision ?? desired.revision) : desired.revision,
        observedGeneration: desired.generation,
        error: outcome.error,
        ...(localId === undefined ? {} : { localId }),
        updatedAt: now,
      };
    case 'transient':
      // Still pending: the revision observed is the last one settled, and the error says why not this one.
      return {
        ...(previous ?? { observedGeneration: 0 }),
        status: ReplicaStatus.Pending,
        error: outcome.error,
        updatedAt: now,
      };
  }
}

/** Equal but for the time: writing it again would only make a change for nothing. */
function sameEntry(a: ReplicaEntry | undefined, b: ReplicaEntry): boolean {
  return (
    a !== undefined && a.status === b.status && a.observedRevision === b.observedRevision &&
    a.observedGeneration === b.observedGeneration && a.error === b.error && a.localId === b.localId
  );
}
