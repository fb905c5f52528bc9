/**
 * Writing replicants: helpers that mutate the draft inside `DocumentStore.change`, so that each
 * write of the write path or the reconciler is one Automerge change, persisted before it is
 * announced. A site writes the shared fields (`meta` once, `desired`, `deleted`) and only its own
 * `replica:<site>` entry.
 */
import * as Automerge from '@automerge/automerge';
import type { ResourceKey, SiteName } from '../core/ids.js';
import { decodeDeletedBy, decodeDesired, jsonRecord } from './replicant-decode.js';
import {
  conflictKeyPrefix,
  claimKeyPrefix,
  dependentKeyPrefix,
  joinKeyPrefix,
  keyText,
  lostToDelete,
  makeRevision,
  replicaKeyPrefix,
  replicantVersion,
  type ConflictEntry,
  type DeletedBy,
  type ClaimEntry,
  type DependentEntry,
  type DesiredState,
  type JoinEntry,
  type JsonBody,
  type ReplicaEntry,
  type ReplicantMeta,
} from './replicant.js';

/** The draft of a replicant inside a change function. */
export type ReplicantDraft = Record<string, unknown>;

function stored(value: unknown): Automerge.ImmutableString {
  return new Automerge.ImmutableString(JSON.stringify(value));
}

/**
 * Writes `v` and `meta` unless the document has them already (a peer created the same meta-ID
 * first, or concurrently: its meta stands). Returns whether this call wrote them.
 */
export function initReplicant(draft: ReplicantDraft, meta: ReplicantMeta): boolean {
  if (draft.meta !== undefined) return false;
  draft.v = replicantVersion;
  draft.meta = stored(meta);
  return true;
}

/** The desired state in the draft, when it has a valid one. */
export function draftDesired(draft: ReplicantDraft): DesiredState | undefined {
  const desired = decodeDesired(draft.desired);
  return typeof desired === 'string' ? undefined : desired;
}

/** What a write of the desired state says. */
export interface DesiredWrite {
  readonly site: SiteName;
  readonly at: number;
  readonly body: JsonBody;
  /** 4 random bytes for the revision. */
  readonly nonce: Uint8Array;
}

/**
 * Replaces the desired state with one new value. Its generation follows every value the draft
 * holds, concurrent ones included, so it is the highest anyone has written.
 */
export function writeDesired(draft: ReplicantDraft, write: DesiredWrite): DesiredState {
  const generations = [draftDesired(draft)?.generation ?? 0];
  for (const value of Object.values(Automerge.getConflicts(draft, 'desired') ?? {})) {
    const desired = decodeDesired(value);
    if (typeof desired !== 'string') generations.push(desired.generation);
  }
  const generation = Math.max(...generations) + 1;
  const desired: DesiredState = {
    revision: makeRevision(generation, write.site, write.nonce),
    generation,
    site: write.site,
    at: write.at,
    body: write.body,
  };
  draft.desired = stored(desired);
  return desired;
}

/**
 * Marks the replicant deleted, for good, recording the desired revision the deleter had seen.
 * Returns the tombstone (the earlier one when it was deleted already).
 */
export function markDeleted(draft: ReplicantDraft, by: { readonly site: SiteName; readonly at: number; readonly propagation?: string | undefined }): DeletedBy | undefined {
  if (draft.deleted === true) return decodeDeletedBy(draft.deletedBy);
  const revision = draftDesired(draft)?.revision;
  if (revision === undefined) return undefined;
  const deletedBy: DeletedBy = { site: by.site, at: by.at, revision, ...(by.propagation === undefined ? {} : { propagation: by.propagation }) };
  draft.deleted = true;
  draft.deletedBy = stored(deletedBy);
  return deletedBy;
}

/** Records a resource on `dependent.site` that depends on the replicant (written anew at each use: its `at` changes). */
export function writeDependent(draft: ReplicantDraft, dependent: DependentEntry): void {
  const { site, key, kind, via, at } = dependent;
  draft[`${dependentKeyPrefix}${site}:${keyText(key)}`] = stored({ site, key, kind, via, ...(at === undefined ? {} : { at }) });
}

/**
 * Forgets the record of a dependent found gone from its site; whether there was one. Only the
 * record as it was seen (`at`): one written again since, for a new object of the same name, stays.
 */
export function dropDependent(draft: ReplicantDraft, seen: Pick<DependentEntry, 'site' | 'key' | 'at'>): boolean {
  const field = `${dependentKeyPrefix}${seen.site}:${keyText(seen.key)}`;
  if (draft[field] === undefined) return false;
  const at = jsonRecord(draft[field])?.at;
  if ((typeof at === 'number' ? at : undefined) !== seen.at) return false;
  delete draft[field];
  return true;
}

/** Adds `join.site` to the replicant's sites (any site of it may); written once, never removed. */
export function writeJoin(draft: ReplicantDraft, join: JoinEntry): void {
  const field = `${joinKeyPrefix}${join.site}`;
  if (draft[field] === undefined) draft[field] = stored({ site: join.site, by: join.by, at: join.at });
}

/** Records a name `claim.site` took in the container (only that site calls this). */
export function writeClaim(draft: ReplicantDraft, claim: ClaimEntry): void {
  draft[`${claimKeyPrefix}${claim.site}:${keyText(claim.key)}`] = stored({ site: claim.site, key: claim.key, at: claim.at });
}

/** Forgets the name `site` took (the object there is gone); whether there was one. */
export function dropClaim(draft: ReplicantDraft, site: SiteName, key: ResourceKey): boolean {
  const field = `${claimKeyPrefix}${site}:${keyText(key)}`;
  if (draft[field] === undefined) return false;
  delete draft[field];
  return true;
}

/** Writes `site`'s replica entry (only `site` itself calls this). */
export function writeReplica(draft: ReplicantDraft, site: SiteName, entry: ReplicaEntry): void {
  const clean = Object.fromEntries(Object.entries(entry).filter(([, value]) => value !== undefined));
  draft[`${replicaKeyPrefix}${site}`] = stored(clean);
}

/**
 * Records each write that lost and is not recorded yet: the values Automerge kept aside for
 * `desired` (concurrent writes; every site sees the same winner), and a desired state the
 * tombstone did not know of (an update concurrent with the delete, which the delete beats).
 * Idempotent: a conflict's key is the losing revision. Returns what it wrote.
 */
export function recordConflicts(draft: ReplicantDraft): ConflictEntry[] {
  const written = unrecordedConflicts(draft);
  for (const entry of written) draft[`${conflictKeyPrefix}${entry.revision}`] = stored(entry);
  return written;
}

/**
 * What `recordConflicts` would write now, read from a draft or from the document itself: nearly
 * always nothing, which needs no change at all.
 */
export function unrecordedConflicts(doc: ReplicantDraft): ConflictEntry[] {
  const winner = draftDesired(doc);
  if (winner === undefined) return [];
  const found: ConflictEntry[] = [];
  const record = (loser: DesiredState, lostTo: string): void => {
    if (doc[`${conflictKeyPrefix}${loser.revision}`] !== undefined || found.some((entry) => entry.revision === loser.revision)) return;
    found.push({ revision: loser.revision, site: loser.site, at: loser.at, generation: loser.generation, lostTo });
  };
  for (const value of Object.values(Automerge.getConflicts(doc, 'desired') ?? {})) {
    const desired = decodeDesired(value);
    if (typeof desired !== 'string' && desired.revision !== winner.revision) record(desired, winner.revision);
  }
  if (doc.deleted === true) {
    const deletedBy = decodeDeletedBy(doc.deletedBy);
    if (deletedBy !== undefined && deletedBy.revision !== winner.revision) record(winner, lostToDelete);
  }
  return found;
}
