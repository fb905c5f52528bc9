/**
 * The key index (docs/REPLICATION.md §5): for each replicant this site holds, its key, scope, sites,
 * tombstone and a few facts read from the document last time, in memory for the request path (an
 * unscoped write or a read looks its key up without touching any document) and in the site store
 * under `['replicant-key', metaId]`, so start-up reads this, not every document.
 *
 * It is a cache of the documents: losing an entry (a crash between a document write and the index
 * write) costs one reconcile pass at start-up, which rebuilds it. So its writes are not synced
 * (BatchOptions.sync), but for the mark of a write through the front (`localWritePending`), which
 * must be on disk before the application sees the write: in a heal each replica made an index
 * write of its own, and every one was an fsync beside the documents' and the application's.
 * With a staging log, the mark lives there instead (`mark:<metaId>`, a synchronous append): the
 * write goes on at once, the log flushed beside the application's work (fdatasync, shared with
 * the flushes asked meanwhile: an answered update's record, answered-updates.ts), and the mark
 * settled once its clearing is stored; `load` reads back the marks a crash left in the log. Its
 * synced put in the store cost the request's thread ~0.15 ms (stop 29).
 */
import { errorMessage, type Logger } from '../../core/index.js';
import { isSiteName, type MetaId, type ResourceKey, type SiteName } from '../../core/ids.js';
import { keyText, type ClaimEntry, type Replicant, type ReplicaStatus } from '../../crdt/replicant.js';
import type { StagingLog } from '../../crdt/staging-log.js';
import type { Storage, StorageKey, StorageOperation } from '../../crdt/storage.js';
import { decodeStoredRecord, isStoredKey } from './stored-record.js';

/** What the index knows of one replicant held here. */
export interface IndexEntry {
  readonly metaId: MetaId;
  readonly key: ResourceKey;
  readonly incarnation: number;
  readonly scope: string;
  readonly sites: readonly SiteName[];
  readonly deleted: boolean;
  /** The document's heads when this site's replica was last found current; absent when it is not. */
  readonly currentAt?: readonly string[];
  /** Revisions of the losing writes recorded in the document. */
  readonly conflicts: readonly string[];
  /** Conflicts already reported by a read through this site. */
  readonly reported: readonly string[];
  /** Each site's replica status as last read here (metrics, listings). */
  readonly statuses: Readonly<Record<string, ReplicaStatus>>;
  /**
   * Set (and stored) before a write through this site's front goes to the local application,
   * cleared once its replicant change is written. Found set, the write was cut short (a crash
   * between the application's answer and the change): this site's replica entry may not describe
   * the local object, so the next pass, at start-up at the latest, re-checks the application
   * against the document instead of trusting the entry.
   */
  readonly localWritePending?: true;
  /** The resources recorded as relying on this one (`dependentText`); absent when none. */
  readonly dependents?: readonly string[];
  /** A cross container's names claimed by two sites or more (their key texts); absent when none. */
  readonly contested?: readonly string[];
}

/** The key texts claimed by two sites or more among `claims` (DESIGN.md §7, cross-claims.ts). */
export function contestedNames(claims: readonly ClaimEntry[]): string[] {
  const claimers = new Map<string, Set<string>>();
  for (const claim of claims) {
    const text = keyText(claim.key);
    claimers.set(text, (claimers.get(text) ?? new Set()).add(claim.site));
  }
  return [...claimers].filter(([, sites]) => sites.size > 1).map(([text]) => text);
}

/** How the index names a dependent: its site and key. */
export function dependentText(site: SiteName, key: ResourceKey): string {
  return `${site} ${keyText(key)}`;
}

const prefix = 'replicant-key';
const storageKey = (metaId: MetaId): StorageKey => [prefix, metaId];
/** A mark's id in the staging log. */
const markPrefix = 'mark:';

/** The index entry of what a replicant says now; `previous` keeps this site's own bookkeeping. */
export function entryOf(replicant: Replicant, previous: IndexEntry | undefined): IndexEntry {
  const statuses: Record<string, ReplicaStatus> = {};
  for (const [site, entry] of Object.entries(replicant.replicas)) statuses[site] = entry.status;
  return {
    metaId: replicant.metaId,
    key: replicant.meta.key,
    incarnation: replicant.meta.incarnation,
    scope: replicant.meta.scope,
    sites: replicant.meta.sites,
    deleted: replicant.deleted,
    ...(previous?.currentAt === undefined ? {} : { currentAt: previous.currentAt }),
    conflicts: replicant.conflicts.map((conflict) => conflict.revision),
    reported: previous?.reported ?? [],
    statuses,
    ...(previous?.localWritePending === true ? { localWritePending: true } : {}),
    ...(replicant.dependents.length === 0 ? {} : { dependents: replicant.dependents.map((dependent) => dependentText(dependent.site, dependent.key)) }),
    ...contestedField(replicant),
  };
}

function contestedField(replicant: Replicant): { contested?: string[] } {
  const contested = contestedNames(replicant.claims);
  return contested.length === 0 ? {} : { contested };
}

/** The key index: replicants by meta-ID and by key, in memory and in the site store. */
export class KeyIndex {
  private readonly byMeta = new Map<MetaId, IndexEntry>();
  private readonly widenedListeners = new Set<(metaId: MetaId) => void>();
  /** Key text → every incarnation held, by meta-ID. */
  private readonly byKey = new Map<string, Set<MetaId>>();
  /** Entries with conflicts not reported here yet: a read elsewhere costs nothing while empty. */
  private readonly unreported = new Set<MetaId>();
  /** Entries recorded in memory only so far. */
  private readonly reserved = new Set<MetaId>();
  /** Entries to store in the next batch, in their state when it is written. */
  private readonly queued = new Set<MetaId>();
  /** Entries of the batch being written. */
  private readonly writing = new Set<MetaId>();
  /**
   * The next batch, once one is waiting: entries stored meanwhile join it. Batches are written
   * one at a time, so an older version of an entry never lands after a newer one.
   */
  private nextBatch: Promise<void> | undefined;
  /** The last batch started. */
  private lastBatch: Promise<void> = Promise.resolve();

  /** Entries of containers (glue's `spansSites`: namespaces), live or not: reads look for cross ones only while there are any. */
  private readonly containers = new Set<MetaId>();
  /** Dependent (`dependentText`) → the entries it relies on: reads look for them only while there are any. */
  private readonly reliedUpon = new Map<string, Set<MetaId>>();
  /** Deleted entries whose replicant lists dependents: names an owner may make again (reshare.ts). */
  private readonly deletedRelied = new Set<MetaId>();

  constructor(
    private readonly storage: Storage,
    private readonly logger: Logger,
    private readonly isContainer: (key: ResourceKey) => boolean = () => false,
    /** False while the store is known to refuse writes: its StorageHealth said so once, this need not say it per write. */
    private readonly storeWritable: () => boolean = () => true,
    /** Where marks are staged (see the file comment); the mark's synced put is awaited without one. */
    private readonly staging?: StagingLog,
  ) {}

  /** Whether any container (a namespace) has an entry: else no request can be in a cross one. */
  hasContainers(): boolean {
    return this.containers.size > 0;
  }

  /** Reads the stored entries; a malformed one is skipped (the document rebuilds it). */
  async load(): Promise<void> {
    for (const { key, value } of await this.storage.list([prefix])) {
      const entry = parseEntry(key[1], value);
      if (entry === undefined) {
        this.logger.warn({ key }, 'malformed replicant index entry skipped');
        continue;
      }
      this.remember(entry);
    }
    await this.loadStagedMarks();
  }

  /** The marks a crash left staged: on their entries, in memory and (synced) in the store. */
  private async loadStagedMarks(): Promise<void> {
    const staged = (this.staging?.leftovers() ?? []).filter(({ id }) => id.startsWith(markPrefix));
    if (staged.length === 0) return;
    const operations: StorageOperation[] = [];
    for (const { id } of staged) {
      const entry = this.byMeta.get(id.slice(markPrefix.length) as MetaId);
      if (entry === undefined || entry.localWritePending === true) continue;
      const marked: IndexEntry = { ...entry, localWritePending: true };
      this.remember(marked);
      operations.push({ type: 'put', key: storageKey(marked.metaId), value: encodeEntry(marked) });
    }
    try {
      await this.storage.batch(operations);
      this.staging?.forgetLeftovers(staged.map(({ id }) => id));
    } catch (error) {
      // Marked in memory all the same: this run's passes verify them; the next start reads them again.
      this.logger.warn({ marks: operations.length, error: errorMessage(error) }, 'staged marks not stored; kept in the staging log');
    }
  }

  get size(): number {
    return this.byMeta.size;
  }

  /** Whether any entry records a dependent. */
  hasDependents(): boolean {
    return this.reliedUpon.size > 0;
  }

  /** Whether some deleted replicant held here lists dependents (a create whose name only its answer tells may make it again). */
  hasDeletedRelied(): boolean {
    return this.deletedRelied.size > 0;
  }

  /** The keys of `service` in `namespace` deleted while something relied on them, and not made again since. */
  deletedReliedIn(service: string, namespace: string | undefined): ResourceKey[] {
    const keys = new Map<string, ResourceKey>();
    for (const metaId of this.deletedRelied) {
      const entry = this.byMeta.get(metaId);
      if (entry === undefined || entry.key.service !== service || entry.key.namespace !== namespace) continue;
      if (this.latest(entry.key)?.deleted === true) keys.set(keyText(entry.key), entry.key);
    }
    return [...keys.values()];
  }

  /** The live entries `key` on `site` is recorded as relying on. */
  dependenciesOf(site: SiteName, key: ResourceKey): IndexEntry[] {
    const metaIds = this.reliedUpon.get(dependentText(site, key));
    if (metaIds === undefined) return [];
    return [...metaIds].map((metaId) => this.byMeta.get(metaId)).filter((entry): entry is IndexEntry => entry !== undefined && !entry.deleted);
  }

  /**
   * The entries `key` on `site` is recorded as relying on that were deleted and not made again
   * here (the key's latest incarnation is deleted too), one per key: a delete that did not know of
   * the dependent (concurrent with its create, or forced) took them.
   */
  lostDependenciesOf(site: SiteName, key: ResourceKey): IndexEntry[] {
    const lost = new Map<string, IndexEntry>();
    for (const metaId of this.reliedUpon.get(dependentText(site, key)) ?? []) {
      const entry = this.byMeta.get(metaId);
      if (entry?.deleted === true && this.latest(entry.key)?.deleted === true) lost.set(keyText(entry.key), entry);
    }
    return [...lost.values()];
  }

  /** Whether any entry has conflicts not reported here yet. */
  hasUnreported(): boolean {
    return this.unreported.size > 0;
  }

  entries(): IndexEntry[] {
    return [...this.byMeta.values()];
  }

  byMetaId(metaId: MetaId): IndexEntry | undefined {
    return this.byMeta.get(metaId);
  }

  /** The highest incarnation of `key` held here. */
  latest(key: ResourceKey): IndexEntry | undefined {
    let best: IndexEntry | undefined;
    for (const metaId of this.byKey.get(keyText(key)) ?? []) {
      const entry = this.byMeta.get(metaId);
      if (entry !== undefined && (best === undefined || entry.incarnation > best.incarnation)) best = entry;
    }
    return best;
  }

  /** The live (not deleted) replicant of `key`, if any. */
  live(key: ResourceKey): IndexEntry | undefined {
    const latest = this.latest(key);
    return latest === undefined || latest.deleted ? undefined : latest;
  }

  /** The incarnation a new replicant of `key` gets: the next one after a deleted life. */
  nextIncarnation(key: ResourceKey): number {
    const latest = this.latest(key);
    if (latest === undefined) return 0;
    return latest.deleted ? latest.incarnation + 1 : latest.incarnation;
  }

  /** Whether a later incarnation of `entry`'s key is held here (it supersedes `entry`). */
  superseded(entry: Pick<IndexEntry, 'key' | 'incarnation'>): boolean {
    const latest = this.latest(entry.key);
    return latest !== undefined && latest.incarnation > entry.incarnation;
  }

  /** Records `entry` in memory only: a document about to be written must be known to the share policy first. */
  reserve(entry: IndexEntry): void {
    this.remember(entry);
    this.reserved.add(entry.metaId);
  }

  /**
   * The write of `metaId`'s entry as it is now, for the caller to put in its own storage batch
   * (with the document it caches: one fsync for both); its reservation ends, so a later `put` of
   * the same entry writes nothing. Only for an entry no other write of this index is under way for.
   */
  claimWrite(metaId: MetaId): StorageOperation | undefined {
    const entry = this.byMeta.get(metaId);
    if (entry === undefined || this.queued.has(metaId) || this.writing.has(metaId)) return undefined;
    this.reserved.delete(metaId);
    return { type: 'put', key: storageKey(metaId), value: encodeEntry(entry) };
  }

  /** Records `entry` and stores it (failures are logged: the index is a cache). */
  put(entry: IndexEntry): Promise<void> {
    const previous = this.byMeta.get(entry.metaId);
    this.remember(entry);
    // Most passes find what they found last time: nothing to write.
    if (previous !== undefined && JSON.stringify(previous) === JSON.stringify(entry) && !this.reserved.has(entry.metaId)) return Promise.resolve();
    this.reserved.delete(entry.metaId);
    return this.persist(entry.metaId);
  }

  /** Changes an entry's fields and stores it; nothing happens when it is absent. */
  update(metaId: MetaId, patch: Partial<Omit<IndexEntry, 'metaId' | 'key' | 'currentAt'>> & { currentAt?: readonly string[] | undefined }): Promise<void> {
    const entry = this.byMeta.get(metaId);
    if (entry === undefined) return Promise.resolve();
    const { currentAt, ...rest } = patch;
    const next: IndexEntry = { ...entry, ...rest };
    const withCurrent = 'currentAt' in patch ? withCurrentAt(next, currentAt) : next;
    return this.put(withCurrent);
  }

  /**
   * Marks (`pending`) or clears the write under way through this site's front on `metaId` (see
   * `localWritePending`). The mark is no cache: it is staged in the log (resolving at once, the
   * log flushed beside the application's work) or, without one, written alone, synced; either
   * rejects when refused (a full disk), its memory undone, so that no write reaches the
   * application unmarked. Clearing goes with the other entries' batch.
   */
  async markLocalWrite(metaId: MetaId, pending: boolean): Promise<void> {
    const entry = this.byMeta.get(metaId);
    if (entry === undefined || (entry.localWritePending === true) === pending) return;
    const { localWritePending: _old, ...rest } = entry;
    const id = `${markPrefix}${metaId}`;
    if (!pending) {
      await this.put(rest);
      this.settleMark(metaId);
      return;
    }
    const marked: IndexEntry = { ...rest, localWritePending: true };
    if (this.staging !== undefined) {
      // Throws, before anything changed, when the log refuses it: the write then never reaches the application.
      this.staging.stage(id, new Uint8Array(0));
      this.remember(marked);
      this.reserved.delete(metaId);
      this.staging.flush().catch((error: unknown) => this.logger.debug({ metaId, error: errorMessage(error) }, 'staging log not flushed after a mark'));
      return;
    }
    this.remember(marked);
    this.reserved.delete(metaId);
    try {
      // After any batch already issued (the store applies writes in order); a later one carries the mark too.
      await this.storage.put(storageKey(metaId), encodeEntry(marked));
    } catch (error) {
      if (this.byMeta.get(metaId) === marked) this.remember(rest);
      throw error;
    }
  }

  /** Forgets an entry, in memory and in the store. */
  remove(metaId: MetaId): Promise<void> {
    const entry = this.byMeta.get(metaId);
    if (entry !== undefined) {
      this.byMeta.delete(metaId);
      this.byKey.get(keyText(entry.key))?.delete(metaId);
      this.unreported.delete(metaId);
      this.containers.delete(metaId);
      this.deletedRelied.delete(metaId);
      this.forgetDependents(entry);
    }
    this.reserved.delete(metaId);
    const persisted = this.persist(metaId);
    if (entry?.localWritePending === true) persisted.then(() => this.settleMark(metaId), () => undefined);
    return persisted;
  }

  /**
   * Closes `metaId`'s mark in the staging log, once what replaced it is stored (a crash before
   * reads the mark back, which costs one check). Not when a later write has marked the entry
   * again meanwhile (a clearing is not awaited under the key's lock): that mark is open under
   * the same id.
   */
  private settleMark(metaId: MetaId): void {
    if (this.byMeta.get(metaId)?.localWritePending !== true) this.staging?.settle(`${markPrefix}${metaId}`);
  }

  /** Resolves once every store write started so far has finished. */
  async settled(): Promise<void> {
    await this.lastBatch;
  }

  /** Calls `listener` with the meta-ID of every entry whose sites grow (a replicant widened: `join:` entries); returns how to stop. */
  onWidened(listener: (metaId: MetaId) => void): () => void {
    this.widenedListeners.add(listener);
    return () => this.widenedListeners.delete(listener);
  }

  private remember(entry: IndexEntry): void {
    const previous = this.byMeta.get(entry.metaId);
    const widened = previous !== undefined && entry.sites.some((site) => !previous.sites.includes(site));
    if (previous?.dependents !== undefined) this.forgetDependents(previous);
    for (const dependent of entry.dependents ?? []) {
      const metaIds = this.reliedUpon.get(dependent) ?? new Set<MetaId>();
      metaIds.add(entry.metaId);
      this.reliedUpon.set(dependent, metaIds);
    }
    this.byMeta.set(entry.metaId, entry);
    if (entry.deleted && (entry.dependents?.length ?? 0) > 0) this.deletedRelied.add(entry.metaId);
    else this.deletedRelied.delete(entry.metaId);
    if (this.isContainer(entry.key)) this.containers.add(entry.metaId);
    if (entry.conflicts.some((revision) => !entry.reported.includes(revision))) this.unreported.add(entry.metaId);
    else this.unreported.delete(entry.metaId);
    const text = keyText(entry.key);
    let metaIds = this.byKey.get(text);
    if (metaIds === undefined) {
      metaIds = new Set();
      this.byKey.set(text, metaIds);
    }
    metaIds.add(entry.metaId);
    // After the entry is in: a listener asks the share policy, which reads it.
    if (widened) for (const listener of this.widenedListeners) listener(entry.metaId);
  }

  private forgetDependents(entry: IndexEntry): void {
    for (const dependent of entry.dependents ?? []) {
      const metaIds = this.reliedUpon.get(dependent);
      metaIds?.delete(entry.metaId);
      if (metaIds?.size === 0) this.reliedUpon.delete(dependent);
    }
  }

  /**
   * Stores `metaId`'s entry (or its absence) with every other entry stored meanwhile, in one batch:
   * a heal or a burst of writes makes many at once, and each used to be a synced write of its own.
   */
  private persist(metaId: MetaId): Promise<void> {
    this.queued.add(metaId);
    if (this.nextBatch === undefined) {
      this.nextBatch = this.lastBatch.then(() => this.writeBatch());
      this.lastBatch = this.nextBatch;
    }
    return this.nextBatch;
  }

  private async writeBatch(): Promise<void> {
    this.nextBatch = undefined;
    const operations: StorageOperation[] = [];
    let marksWrite = false;
    for (const metaId of this.queued) {
      this.writing.add(metaId);
      // The latest state when the batch is written: intermediate versions are skipped.
      const entry = this.byMeta.get(metaId);
      // A mark must be durable once written, unless the staging log holds it until it is cleared.
      if (entry?.localWritePending === true && this.staging === undefined) marksWrite = true;
      operations.push(entry === undefined ? { type: 'del', key: storageKey(metaId) } : { type: 'put', key: storageKey(metaId), value: encodeEntry(entry) });
    }
    this.queued.clear();
    try {
      await this.storage.batch(operations, { sync: marksWrite });
    } catch (error) {
      this.logger[this.storeWritable() ? 'warn' : 'debug']({ entries: operations.length, error: errorMessage(error) }, 'replicant index write failed');
    } finally {
      this.writing.clear();
    }
  }
}

function encodeEntry(entry: IndexEntry): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(entry));
}

function withCurrentAt(entry: IndexEntry, currentAt: readonly string[] | undefined): IndexEntry {
  const { currentAt: _old, ...rest } = entry;
  return currentAt === undefined ? rest : { ...rest, currentAt };
}

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined;
}

/** A stored entry, checked: the store is ours, but a bad entry must not break start-up. */
function parseEntry(id: string | undefined, bytes: Uint8Array): IndexEntry | undefined {
  const record = decodeStoredRecord(id, bytes);
  if (record === undefined) return undefined;
  const { metaId, fields } = record;
  const key = fields.key;
  const sites = strings(fields.sites);
  const conflicts = strings(fields.conflicts) ?? [];
  const reported = strings(fields.reported) ?? [];
  const currentAt = strings(fields.currentAt);
  const dependents = strings(fields.dependents);
  const contested = strings(fields.contested);
  const valid =
    isStoredKey(key) &&
    typeof fields.incarnation === 'number' && typeof fields.scope === 'string' && typeof fields.deleted === 'boolean' &&
    sites !== undefined && sites.every(isSiteName);
  if (!valid) return undefined;
  const statuses = typeof fields.statuses === 'object' && fields.statuses !== null ? (fields.statuses as Record<string, ReplicaStatus>) : {};
  return {
    metaId,
    key,
    incarnation: fields.incarnation as number,
    scope: fields.scope as string,
    sites: sites,
    deleted: fields.deleted as boolean,
    ...(currentAt === undefined ? {} : { currentAt }),
    conflicts,
    reported,
    statuses,
    ...(fields.localWritePending === true ? { localWritePending: true } : {}),
    ...(dependents === undefined || dependents.length === 0 ? {} : { dependents }),
    ...(contested === undefined || contested.length === 0 ? {} : { contested }),
  };
}
