/**
 * Replicant documents as the engine uses them: read and validated, written in one change each
 * (persisted before the promise resolves), dropped when hostile or outside this site's scope, and
 * mirrored in the key index.
 */
import { ErrorCode, type Clock, type Logger, type Random } from '../../core/index.js';
import type { DocumentId, MetaId, PeerIdString, ResourceKey, SiteName } from '../../core/ids.js';
import type { DocumentStore } from '../../crdt/document-store.js';
import type { StorageOperation } from '../../crdt/storage.js';
import { decodeReplicant, type ReplicantDecodeResult } from '../../crdt/replicant-decode.js';
import { sameHeads } from '../../crdt/document-layout.js';
import {
  draftDesired,
  dropClaim,
  dropDependent,
  initReplicant,
  markDeleted,
  recordConflicts,
  unrecordedConflicts,
  writeClaim,
  writeDependent,
  writeJoin,
  writeDesired,
  writeReplica,
  type ReplicantDraft,
} from '../../crdt/replicant-write.js';
import { Deferred } from '../../crdt/deferred.js';
import {
  CollaborationKind,
  keyText,
  metaIdOf,
  metaIdOfDocId,
  nonceText,
  replicaCurrent,
  replicantDocId,
  ReplicaStatus,
  type ConflictEntry,
  type DependentEntry,
  type DesiredState,
  type JsonBody,
  type Replicant,
  type ReplicaEntry,
} from '../../crdt/replicant.js';
import { entryOf, type KeyIndex } from './key-index.js';

/** A replicant read from the store. */
export type ReplicantRead =
  | {
      readonly kind: 'ok';
      readonly replicant: Replicant;
      readonly ignored: readonly string[];
      /** The document it was decoded from (Automerge's shared view: read it, never change it). */
      readonly content: ReplicantDraft;
    }
  | { readonly kind: 'absent' }
  | { readonly kind: 'invalid'; readonly reason: string };

/** A write made through this site's front, after the local application accepted it. */
export interface LocalWrite {
  readonly key: ResourceKey;
  /** `upsert` writes the desired state, `delete` the tombstone. */
  readonly op: 'upsert' | 'delete';
  /** The scope text and sites, used when the write creates the replicant. */
  readonly scope: string;
  readonly sites: readonly SiteName[];
  /** The desired object (site-local fields removed); for a delete, the last known one. */
  readonly body: JsonBody | undefined;
  /** The local application's id of the object. */
  readonly localId: string | undefined;
  /** The time and revision nonce to write; drawn when absent (a create answered first fixes them in advance). */
  readonly at?: number;
  readonly nonce?: Uint8Array;
  /** Storage operations written in the same batch as the replicant's change (DocumentStore's `alongside`). */
  readonly alongside?: readonly StorageOperation[];
  /**
   * The document's heads when the application made the write, for a change made later (an update
   * answered first): made at them, it is concurrent with what arrived meanwhile, as the write was.
   */
  readonly base?: readonly string[];
  /**
   * Sites an upsert of a live replicant adds to it (a scope naming more sites than it has): a
   * `join:` entry each, in the write's own change, so the new sites get the state it writes.
   */
  readonly joining?: readonly SiteName[];
  /**
   * A new replicant whose change fails (a full disk) leaves no index entry behind: nothing else
   * settles it (a share granted, a dependency followed). Left, it named a document never stored,
   * and every later share of the key failed on it (swarm seed 4800263). A write through the
   * front keeps it: its recovery undoes the application's create by it (write-path.ts).
   */
  readonly forgetIfUnstored?: true;
  /** A delete's `propagation` (glue's `deletePropagation`): every site's delete does the same. */
  readonly propagation?: string;
}

/**
 * The create of a new replicant answered before its change is made (write-path.ts, `answerFirst`):
 * its meta-ID and incarnation are the ones the create intent recorded.
 */
export interface NewReplicant extends Omit<LocalWrite, 'op' | 'body' | 'nonce' | 'alongside'> {
  readonly metaId: MetaId;
  readonly incarnation: number;
  /**
   * The desired object, made when the change is, after the answer has left: canonicalizing a pod
   * costs ~0.15 ms, which the answer would otherwise wait for.
   */
  readonly body: () => JsonBody;
}

/**
 * An update of a live replicant answered before its change is made (write-path.ts,
 * `answerUpdateFirst`): its time and revision nonce are drawn before the application sees it, for
 * the record that stands for it until the change is stored (answered-updates.ts); `store` makes
 * and stores the change with what the application answered.
 */
export interface PendingUpdate {
  readonly at: number;
  readonly nonce: Uint8Array;
  store(answered: Pick<LocalWrite, 'body' | 'localId'>): Promise<LocalWriteResult>;
  /** Gives the update up, its change never made (it is stored before the answer after all). */
  drop(): void;
}

/** A create whose replicant is reserved in the key index but not stored yet. */
export interface PendingCreate {
  /** Makes the replicant's change and resolves once it is stored. */
  store(alongside?: readonly StorageOperation[]): Promise<LocalWriteResult>;
}

/** What a local write did. */
export interface LocalWriteResult {
  readonly replicant: Replicant;
  /** The revision the write is about: the new desired revision, or the one the tombstone closed. */
  readonly revision: string;
  readonly generation: number;
}

/** What `Replicants` needs. */
export interface ReplicantsDeps {
  readonly documents: Pick<DocumentStore, 'read' | 'readAt' | 'change' | 'delete' | 'has' | 'heads' | 'cool'>;
  readonly index: KeyIndex;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly self: SiteName;
  /** Documents dropped as hostile or foreign: the share policy refuses them from then on. */
  readonly refused: Set<DocumentId>;
}

/** Reads, writes and drops replicant documents, keeping the key index in step. */
export class Replicants {
  /** Creates answered whose replicant is not stored yet: `get` waits for them. */
  private readonly pendingCreates = new Map<MetaId, Promise<unknown>>();
  private readonly pendingUpdates = new Set<Promise<void>>();
  /**
   * Decodings by the document object they were read from. Automerge's documents are immutable (a
   * change makes a new one), so the same object decodes the same: a received replicant is read on
   * arrival (its index entry), then by its pass, and the second read cost a decode again (~0.3 ms
   * in a heal's sites, per replica). Gone with the object when the cache drops the document.
   */
  private readonly decodings = new WeakMap<object, ReplicantDecodeResult>();

  constructor(private readonly deps: ReplicantsDeps) {}

  async read(docId: DocumentId): Promise<ReplicantRead> {
    const content = await this.deps.documents.read<ReplicantDraft>(docId);
    if (content === undefined) return { kind: 'absent' };
    let decoded = this.decodings.get(content);
    if (decoded === undefined) {
      decoded = decodeReplicant(docId, content);
      this.decodings.set(content, decoded);
    }
    if (!decoded.ok) return { kind: 'invalid', reason: decoded.reason };
    return { kind: 'ok', replicant: decoded.replicant, ignored: decoded.ignored, content };
  }

  /** The replicant of `metaId`, or undefined when absent or unusable; a create answered first is waited for. */
  async get(metaId: MetaId): Promise<Replicant | undefined> {
    await this.pendingCreates.get(metaId);
    const read = await this.read(replicantDocId(metaId));
    return read.kind === 'ok' ? read.replicant : undefined;
  }

  /** The replicant of `metaId` as it was at `heads`, or undefined when absent, unusable, or without them. */
  async getAt(metaId: MetaId, heads: readonly string[]): Promise<Replicant | undefined> {
    const docId = replicantDocId(metaId);
    const content = await this.deps.documents.readAt<ReplicantDraft>(docId, heads);
    if (content === undefined) return undefined;
    const decoded = decodeReplicant(docId, content);
    return decoded.ok ? decoded.replicant : undefined;
  }

  /**
   * Removes a document this site must not keep (hostile content, or a scope without this site),
   * refuses it from then on, and says so in the log. It never reaches the application.
   */
  async drop(docId: DocumentId, reason: string): Promise<void> {
    const { documents, index, refused, logger } = this.deps;
    refused.add(docId);
    logger.warn({ docId, reason, code: ErrorCode.PeerNotAllowed }, 'replicant dropped');
    const metaId = metaIdOfDocId(docId);
    if (metaId !== undefined) await index.remove(metaId);
    await documents.delete(docId);
  }

  /**
   * A replicant another site granted this one (a share it asked for): taken from now on, though
   * dropped here before (`drop`), when its scope did not include this site yet.
   */
  expect(docId: DocumentId): void {
    this.deps.refused.delete(docId);
  }

  /** Writes what the local application accepted, in one change, and updates the index; peers hear of it once it is stored. */
  async writeLocal(write: LocalWrite): Promise<LocalWriteResult> {
    const { documents, index, clock, self } = this.deps;
    const live = index.live(write.key);
    const incarnation = live?.incarnation ?? index.nextIncarnation(write.key);
    const metaId = live?.metaId ?? metaIdOf(write.key, incarnation);
    const docId = replicantDocId(metaId);
    if (live === undefined) {
      // Before the change is written: the share policy must know where it may go the moment it does.
      index.reserve({
        metaId, key: write.key, incarnation, scope: write.scope, sites: write.sites, deleted: false,
        conflicts: [], reported: [], statuses: {},
      });
    }
    const at = write.at ?? clock.now();
    // The index learns them once the change is stored (`refresh`), as `join`'s.
    const joining = live === undefined || write.op !== 'upsert' ? [] : (write.joining ?? []).filter((site) => !live.sites.includes(site));
    let revision = '';
    let generation = 0;
    try {
      await documents.change<ReplicantDraft>(
        docId,
        (draft) => {
          initReplicant(draft, {
            key: write.key, collaboration: CollaborationKind.Replication, scope: write.scope, sites: write.sites,
            origin: self, incarnation, createdAt: at,
          });
          for (const site of joining) writeJoin(draft, { site, by: self, at });
          const written = write.op === 'delete' ? this.tombstone(draft, write, at) : this.desire(draft, write, at);
          revision = written.revision;
          generation = written.generation;
        },
        // Told to the other sites once stored (DocumentStore's `durableFirst`): a desired state or a
        // tombstone this site lost after a peer had it would come back from that peer saying this
        // site applied it, though the write was refused here and its object may have moved on.
        {
          create: true, message: changeMessage(write.op, self, write.nonce === undefined ? undefined : nonceText(write.nonce)), durableFirst: true,
          ...(write.alongside === undefined ? {} : { alongside: write.alongside }),
          ...(write.base === undefined ? {} : { at: write.base }),
        },
      );
    } catch (error) {
      if (live === undefined && write.forgetIfUnstored === true && !documents.has(docId)) await index.remove(metaId);
      throw error;
    }
    const replicant = await this.refresh(docId);
    return { replicant, revision, generation };
  }

  /**
   * Begins the create of a new replicant (no live one for its key, no document of its meta-ID
   * here): the key index holds it at once, applied here, so the next request on the key is a
   * replicated one and waits for its lock; `store()` makes and stores the change.
   */
  beginCreate(create: NewReplicant): PendingCreate {
    const { index, clock, self } = this.deps;
    const { metaId, key, incarnation, scope, sites } = create;
    const at = create.at ?? clock.now();
    index.reserve({
      metaId, key, incarnation, scope, sites, deleted: false, conflicts: [], reported: [], statuses: { [self]: ReplicaStatus.Applied },
    });
    const stored = new Deferred<void>();
    this.pendingCreates.set(metaId, stored.promise);
    return {
      store: async (alongside = []) => {
        try {
          // The index entry reserved above goes with the change: one fsync for both.
          const indexWrite = index.claimWrite(metaId);
          const operations = indexWrite === undefined ? alongside : [...alongside, indexWrite];
          return await this.writeLocal({
            key, op: 'upsert', scope, sites, body: create.body(), localId: create.localId, at, alongside: operations,
          });
        } finally {
          this.pendingCreates.delete(metaId);
          stored.resolve();
        }
      },
    };
  }

  /** Begins an update of the live replicant of `update.key`; see PendingUpdate. */
  beginUpdate(update: Omit<LocalWrite, 'op' | 'at' | 'nonce' | 'alongside' | 'body' | 'localId'>): PendingUpdate {
    const at = this.deps.clock.now();
    const nonce = this.deps.random.bytes(4);
    const stored = new Deferred<void>();
    this.pendingUpdates.add(stored.promise);
    const done = (): void => {
      this.pendingUpdates.delete(stored.promise);
      stored.resolve();
    };
    return {
      at,
      nonce,
      store: async (answered) => {
        try {
          return await this.writeLocal({ ...update, ...answered, op: 'upsert', at, nonce });
        } finally {
          done();
        }
      },
      drop: done,
    };
  }

  /** Resolves once every create and update answered so far is stored (or failed). */
  async settled(): Promise<void> {
    await Promise.all([...this.pendingCreates.values(), ...this.pendingUpdates]);
  }

  /**
   * Writes this site's replica entry; `audience`: the peers it goes to first (DocumentStore's
   * ChangeOptions). Then mirrors the document in the index while it is still loaded: the pass this
   * change schedules finds the replica current at the new heads and stops there. It used to read
   * the document again, at the back of the queue: in a heal, after ~1,000 other documents had
   * pushed it out of memory, so every replica cost a second load.
   */
  async recordReplica(docId: DocumentId, entry: ReplicaEntry, audience?: readonly PeerIdString[]): Promise<void> {
    await this.deps.documents.change<ReplicantDraft>(docId, (draft) => writeReplica(draft, this.deps.self, entry), {
      message: `replica ${this.deps.self} ${entry.status}`,
      background: true,
      ...(audience === undefined ? {} : { audience }),
    });
    await this.mirror(docId, 'always');
  }

  /**
   * Shares the replicant with `sites` as well (a `join:` entry for each it leaves out) and records
   * `dependent`, in one change: a dependency shared with one more site stays one document
   * (share.ts). The index learns the new sites once the change is stored, not before: the share
   * policy reads the index, and a site it named before the join was stored was sent the stored
   * state, without its join, dropped it as foreign and refused it from then on (swarm seed
   * 5000404: the owner's disk stalled as it stored the join). The widened entry then syncs the
   * document with the new sites afresh (`onWidened`, DocSync's `offer`). Resolves with the
   * replicant as it then is. The dependent is written anew even when recorded already (a new
   * object of the same name: its `at` changes, see reliance.ts); without one, nothing is written
   * when no site is new.
   */
  async join(docId: DocumentId, sites: readonly SiteName[], dependent?: DependentEntry): Promise<Replicant> {
    const { documents, clock, self } = this.deps;
    const read = await this.read(docId);
    if (read.kind !== 'ok') throw new Error(`replicant ${docId} cannot be shared: ${read.kind === 'invalid' ? read.reason : 'absent'}`);
    const { replicant } = read;
    const joining = sites.filter((site) => !replicant.meta.sites.includes(site));
    if (joining.length === 0 && dependent === undefined) return replicant;
    const at = clock.now();
    // Told to the joining sites once stored: were it lost here after they had it, they would
    // hold a replicant this site does not count them in, and it would refuse what they send.
    await documents.change<ReplicantDraft>(docId, (draft) => {
      for (const site of joining) writeJoin(draft, { site, by: self, at });
      if (dependent !== undefined) writeDependent(draft, { ...dependent, at });
    }, { message: `join ${joining.join(',')} by ${self}`, durableFirst: joining.length > 0 });
    return this.refresh(docId);
  }

  /** Forgets the records of `dependents` (each found gone from its site), as they were seen: one written again since stays. */
  async dropDependents(docId: DocumentId, dependents: readonly Pick<DependentEntry, 'site' | 'key' | 'at'>[]): Promise<void> {
    await this.deps.documents.change<ReplicantDraft>(docId, (draft) => {
      for (const dependent of dependents) dropDependent(draft, dependent);
    }, { message: `dependents gone ${this.deps.self}` });
  }

  /**
   * Records the name `key` this site takes in the cross container `docId` (DESIGN.md §7); false,
   * writing nothing, when this site's claim on it stands already (its time, which decides a
   * contest, stays the first).
   */
  async recordClaim(docId: DocumentId, key: ResourceKey): Promise<boolean> {
    const { self, clock } = this.deps;
    const read = await this.read(docId);
    if (read.kind === 'ok' && read.replicant.claims.some((claim) => claim.site === self && keyText(claim.key) === keyText(key))) return false;
    // Told to the peers once stored, as the release: a claim the store refused refuses the create.
    await this.deps.documents.change<ReplicantDraft>(docId, (draft) => writeClaim(draft, { site: self, key, at: clock.now() }), { message: `claim ${self}`, durableFirst: true });
    return true;
  }

  /**
   * Records `body`, an object this site's application made for the incarnation `docId` holds, as a
   * write that lost to the delete the document holds already: a create answered here whose
   * replicant could not be stored, while another site, not knowing of it, deleted the object it
   * had made under the same name (create-recovery.ts). Nothing is written when it is not deleted.
   */
  async recordLostToDelete(docId: DocumentId, body: Readonly<Record<string, unknown>>): Promise<void> {
    const { self, clock, random } = this.deps;
    await this.deps.documents.change<ReplicantDraft>(docId, (draft) => {
      if (draft.deleted !== true) return;
      writeDesired(draft, { site: self, at: clock.now(), body, nonce: random.bytes(4) });
      recordConflicts(draft);
    }, { message: `lost to delete ${self}`, durableFirst: true });
    await this.refresh(docId);
  }

  /** Forgets the name `key` this site took in `docId`: its object is gone. Nothing is written when it held none. */
  async dropClaim(docId: DocumentId, key: ResourceKey): Promise<void> {
    const read = await this.read(docId);
    if (read.kind !== 'ok' || !read.replicant.claims.some((claim) => claim.site === this.deps.self && keyText(claim.key) === keyText(key))) return;
    // Told to the peers once stored: a release the store refused, had it reached a peer, came back
    // after a create of the name here had found the claim standing, and took that create's claim
    // (swarm seed 5700094).
    await this.deps.documents.change<ReplicantDraft>(docId, (draft) => void dropClaim(draft, this.deps.self, key), { message: `unclaim ${this.deps.self}`, durableFirst: true });
  }

  /**
   * Records the losing writes Automerge kept aside (docs/REPLICATION.md §4); returns the new ones.
   * Looked for in the stored document first: a change, even an empty one, costs ~0.4 ms on every
   * reconcile pass, and there is rarely anything to record. One held in memory only is recorded by
   * the pass that follows its write. `stored`: the stored document, as the caller just read it.
   */
  async recordConflicts(docId: DocumentId, stored: ReplicantDraft): Promise<ConflictEntry[]> {
    if (unrecordedConflicts(stored).length === 0) return [];
    let written: ConflictEntry[] = [];
    await this.deps.documents.change<ReplicantDraft>(docId, (draft) => {
      written = recordConflicts(draft);
    }, { message: 'conflicts' });
    return written;
  }

  /**
   * Reads a document just written and mirrors it in the index (see `mirror`): a write through the
   * front leaves this site's replica current, so the pass the write schedules stops at once.
   */
  private async refresh(docId: DocumentId): Promise<Replicant> {
    const read = await this.mirror(docId, 'always');
    if (read.kind !== 'ok') throw new Error(`replicant ${docId} unreadable right after a write: ${read.kind === 'invalid' ? read.reason : 'absent'}`);
    return read.replicant;
  }

  /**
   * Reads `docId` and mirrors it in the index. When this site's replica is current in it, with
   * nothing a pass would still do (log ignored entries, record conflicts), the entry says so at the
   * document's heads, and a pass at those heads stops there (reconcile-pass.ts) instead of reading
   * the document again to find the same. `ifCurrent` leaves the index alone otherwise: the pass
   * the change scheduled writes it.
   */
  async mirror(docId: DocumentId, when: 'always' | 'ifCurrent'): Promise<ReplicantRead> {
    const { documents, index, self } = this.deps;
    // Heads first: a change landing during the read makes them older than what is read, never newer.
    const heads = documents.heads(docId);
    const read = await this.read(docId);
    if (read.kind !== 'ok') return read;
    const { replicant } = read;
    // A change landed during the read: no `currentAt` for heads nobody read (and, `ifCurrent`, no
    // write at all); the pass that change scheduled writes the entry as it finds it.
    const unchanged = heads !== undefined && sameHeads(heads, documents.heads(docId) ?? []);
    const current = unchanged && replicaCurrent(replicant, self) && read.ignored.length === 0 && unrecordedConflicts(read.content).length === 0;
    if (!current && when === 'ifCurrent') return read;
    const previous = index.byMetaId(replicant.metaId);
    const entry = entryOf(replicant, previous);
    for (const text of entry.contested ?? []) {
      if (previous?.contested?.includes(text) === true) continue;
      const claims = replicant.claims.filter((claim) => keyText(claim.key) === text);
      this.deps.logger.warn({ container: keyText(replicant.meta.key), key: text, claims: claims.map((claim) => claim.site) }, 'a name of a cross container is claimed on two sites: the first claim wins, the others are reported');
    }
    // Not awaited: the index is a cache of the document, which is stored already; the answer
    // must not wait for a second write.
    void index.put(current ? { ...entry, currentAt: heads } : entry);
    // Every replica current: no site has anything left to do, nor to tell, until the next write.
    // Above the cap of loaded documents it goes first, before documents still awaiting a pass.
    if (current && replicant.meta.sites.every((site) => replicaCurrent(replicant, site))) documents.cool(docId);
    return read;
  }

  private desire(draft: ReplicantDraft, write: LocalWrite, at: number): { revision: string; generation: number } {
    const desired = writeDesired(draft, { site: this.deps.self, at, body: write.body ?? {}, nonce: write.nonce ?? this.deps.random.bytes(4) });
    writeReplica(draft, this.deps.self, this.appliedEntry(desired, write.localId, at));
    return desired;
  }

  private appliedEntry(desired: DesiredState, localId: string | undefined, at: number): ReplicaEntry {
    return {
      status: ReplicaStatus.Applied,
      observedRevision: desired.revision,
      observedGeneration: desired.generation,
      ...(localId === undefined ? {} : { localId }),
      updatedAt: at,
    };
  }

  private tombstone(draft: ReplicantDraft, write: LocalWrite, at: number): { revision: string; generation: number } {
    // A replicant made by the delete itself (a scoped delete of a resource never replicated) still
    // needs a desired state: the reconcilers of the other sites find the object's path in it.
    if (draftDesired(draft) === undefined) {
      writeDesired(draft, { site: this.deps.self, at, body: write.body ?? {}, nonce: this.deps.random.bytes(4) });
    }
    const deletedBy = markDeleted(draft, { site: this.deps.self, at, propagation: write.propagation });
    const generation = draftDesired(draft)?.generation ?? 0;
    const revision = deletedBy?.revision ?? '';
    writeReplica(draft, this.deps.self, {
      status: ReplicaStatus.Deleted,
      observedRevision: revision,
      observedGeneration: generation,
      ...(write.localId === undefined ? {} : { localId: write.localId }),
      updatedAt: at,
    });
    return { revision, generation };
  }
}

/**
 * A local write's change message: with the revision's nonce when the write drew it beforehand (an
 * answered update), so that its recovery can tell it was stored (`storedUpdate`), whatever came after.
 */
function changeMessage(op: LocalWrite['op'], self: SiteName, nonce: string | undefined): string {
  return nonce === undefined ? `${op} by ${self}` : `${op} by ${self} ${nonce}`;
}

/** Whether `docId` holds, after `base`, the change of this site's update with revision nonce `nonce` (see changeMessage). */
export async function storedUpdate(documents: Pick<DocumentStore, 'messagesSince'>, docId: DocumentId, base: readonly string[], nonce: string, self: SiteName): Promise<boolean> {
  const messages = await documents.messagesSince(docId, base);
  return messages?.includes(changeMessage('upsert', self, nonce)) === true;
}
