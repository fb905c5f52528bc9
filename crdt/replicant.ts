/**
 * The replicant document model (docs/REPLICATION.md §1): one Automerge document per replicated
 * resource, id `res/<metaId>`, holding the desired state, a tombstone flag and, per site, the state
 * of that site's replica.
 *
 * Layout: every field is a key of the document's root, and every structured value is one
 * `ImmutableString` of JSON, so that each is a single last-writer-wins value:
 *
 *   v                      1 (schema version)
 *   meta                   {key, collaboration, scope, sites, origin, incarnation, createdAt}
 *   desired                {revision, generation, site, at, body}
 *   deleted                true once deleted; never set back
 *   deletedBy              {site, at, revision}
 *   replica:<site>         {localId, observedRevision, observedGeneration, status, error, updatedAt}
 *   conflict:<revision>    {revision, site, at, generation, lostTo}
 *   dependent:<site>:<key> {site, key, kind, via}
 *   claim:<site>:<key>     {site, key, at}
 *   join:<site>            {site, by, at}
 *
 * Why flat: meta-IDs are derived from the resource's name, so two sites cut off from each other can
 * create the same document concurrently. A nested map (`replicas: {}`) created on both would be two
 * different Automerge objects at one key, and the merge would keep one and hide the other's entries;
 * root keys written by one site each never collide. Why JSON strings: a structured value written as
 * one string can never be half one writer's and half another's.
 */
import { createHash } from 'node:crypto';
import { asDocumentId, asMetaId, isSiteName, type DocumentId, type MetaId, type ResourceKey, type SiteName } from '../core/ids.js';

/** The schema version written in `v`. */
export const replicantVersion = 1;

/** Every replicant document id starts with this. */
export const replicantDocPrefix = 'res/';

/** Root key of a site's replica entry. */
export const replicaKeyPrefix = 'replica:';

/** Root key of a recorded conflict (a losing write). */
export const conflictKeyPrefix = 'conflict:';

/** Root key of a resource that relies on this one (DESIGN.md §8), `dependent:<site>:<key>`: each site writes its own. */
export const dependentKeyPrefix = 'dependent:';

/**
 * Root key of a name a site took in a container spread over sites (a cross namespace, DESIGN.md
 * §7), `claim:<site>:<key>`: each site writes its own, in the container's replicant.
 */
export const claimKeyPrefix = 'claim:';

/**
 * Root key of a site that joined the replicant after its creation, `join:<site>`: a dependency
 * shared with one more site (DESIGN.md §7, node/replication/share.ts) is widened, not made again,
 * so that every site sharing it holds one document. Any site of the replicant may write one; none
 * is ever removed.
 */
export const joinKeyPrefix = 'join:';

/** What a site's copy of the resource is doing. */
export const ReplicaStatus = {
  /** Not applied yet (or a transient failure that is being retried: see `error`). */
  Pending: 'pending',
  /** The site's application holds the desired state of `observedRevision`. */
  Applied: 'applied',
  /** The site's application refused `observedRevision`; not retried until the desired state changes. */
  Failed: 'failed',
  /** Deleted on the site (or never there). */
  Deleted: 'deleted',
} as const;
export type ReplicaStatus = (typeof ReplicaStatus)[keyof typeof ReplicaStatus];

/** The collaborations a replicant can record; only replication exists so far. */
export const CollaborationKind = { Replication: 'replication' } as const;
export type CollaborationKind = (typeof CollaborationKind)[keyof typeof CollaborationKind];

/** A JSON object, as far as the document model cares (bodies are opaque to it). */
export type JsonBody = Readonly<Record<string, unknown>>;

/** Written once by the creator. */
export interface ReplicantMeta {
  readonly key: ResourceKey;
  readonly collaboration: CollaborationKind;
  /** The scope as the user wrote it; once sites joined, the scope of every site (`{Site2 & Site1 & Site3}`). */
  readonly scope: string;
  /**
   * The resolved sites, in scope order, then the sites that joined since (`join:` entries, by
   * name): as decoded, every site the replicant is shared with. The stored `meta` keeps the first.
   */
  readonly sites: readonly SiteName[];
  readonly origin: SiteName;
  /** 0 for the first life of the key, +1 after each delete. */
  readonly incarnation: number;
  readonly createdAt: number;
}

/** One write of the desired state. */
export interface DesiredState {
  /** Unique per write: `<generation>-<site>-<8 hex>`. */
  readonly revision: string;
  readonly generation: number;
  /** The site that wrote it. */
  readonly site: SiteName;
  /** The writer's clock, milliseconds since the epoch. */
  readonly at: number;
  /** The whole desired object, site-local fields removed. */
  readonly body: JsonBody;
}

/** Who deleted the resource, and which desired revision they had seen. */
export interface DeletedBy {
  readonly site: SiteName;
  readonly at: number;
  readonly revision: string;
  /** What the delete asked done with what the object owns (glue's `deletePropagation`), when it asked. */
  readonly propagation?: string;
}

/** One site's replica, written by that site only. */
export interface ReplicaEntry {
  /** The application's own id of the local copy (Kubernetes: its uid). */
  readonly localId?: string;
  /** The desired revision this entry describes. */
  readonly observedRevision?: string;
  readonly observedGeneration: number;
  readonly status: ReplicaStatus;
  /** The application's error for `failed`, or the transient failure being retried for `pending`. */
  readonly error?: string;
  readonly updatedAt: number;
}

/** A write that lost: to a concurrent write (`lostTo` its revision) or to a delete (`lostTo: 'delete'`). */
export interface ConflictEntry {
  readonly revision: string;
  readonly site: SiteName;
  readonly at: number;
  readonly generation: number;
  readonly lostTo: string;
}

/** A replicant, decoded and validated. */
export interface Replicant {
  readonly docId: DocumentId;
  readonly metaId: MetaId;
  readonly meta: ReplicantMeta;
  readonly desired: DesiredState;
  readonly deleted: boolean;
  readonly deletedBy?: DeletedBy;
  readonly replicas: Readonly<Record<string, ReplicaEntry>>;
  /** Sorted by revision, so that every site lists them in the same order. */
  readonly conflicts: readonly ConflictEntry[];
  /** Resources on the sites that rely on this one or require it (a pod using a shared secret). */
  readonly dependents: readonly DependentEntry[];
  /** Names taken by the sites in this container (a cross namespace), sorted by key then winner first. */
  readonly claims: readonly ClaimEntry[];
  /** The sites that joined after its creation, by name (already in `meta.sites`). */
  readonly joined: readonly JoinEntry[];
}

/** A site that joined the replicant: which site added it, when (its clock). */
export interface JoinEntry {
  readonly site: SiteName;
  readonly by: SiteName;
  readonly at: number;
}

/** A name a site took in a cross container: the object lives there (DESIGN.md §7). */
export interface ClaimEntry {
  readonly site: SiteName;
  readonly key: ResourceKey;
  /** When the site made the object, ms since the epoch (its clock). */
  readonly at: number;
}

/**
 * The order in which claims of one name win: the earliest first, then by site name, so that every
 * site picks the same winner from the same claims.
 */
export function claimOrder(a: ClaimEntry, b: ClaimEntry): number {
  return a.at - b.at || (a.site < b.site ? -1 : a.site > b.site ? 1 : 0);
}

/** A resource that depends on a replicant: where it lives, which it is, how (DESIGN.md §8). */
export interface DependentEntry {
  readonly site: SiteName;
  readonly key: ResourceKey;
  /** `reliance` or `requirement`. */
  readonly kind: string;
  /** Where in its body the reference sits, for messages. */
  readonly via: string;
  /**
   * When it was recorded (the recording site's clock, ms): each use writes it again, so a record
   * of a new object of the same name is told apart from the one a delete found gone (reliance.ts).
   */
  readonly at?: number;
}

/** The `lostTo` of a write that lost to a delete. */
export const lostToDelete = 'delete';

const base32Alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
const metaIdLength = 26;
const metaIdPattern = /^[a-z2-7]{26}$/;
const revisionPattern = /^(\d{1,15})-([A-Za-z][A-Za-z0-9_-]{0,62})-([0-9a-f]{8})$/;

function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += base32Alphabet[(buffer >>> (bits - 5)) & 31] ?? '';
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += base32Alphabet[(buffer << (5 - bits)) & 31] ?? '';
  return out;
}

/**
 * The meta-ID of the `incarnation`-th life of `key`: derived, not drawn, so every site computes the
 * same one and two sites creating one name concurrently write one document (docs/REPLICATION.md §1).
 */
export function metaIdOf(key: ResourceKey, incarnation: number): MetaId {
  const text = `${key.app}/${key.service}/${key.namespace ?? ''}/${key.name}#${incarnation}`;
  const digest = createHash('sha256').update(text, 'utf8').digest();
  return asMetaId(base32(digest).slice(0, metaIdLength));
}

/** True for a string shaped like a meta-ID (26 lower-case base32 characters). */
export function isMetaId(text: string): text is MetaId {
  return metaIdPattern.test(text);
}

/** The document id of a replicant. */
export function replicantDocId(metaId: MetaId): DocumentId {
  return asDocumentId(`${replicantDocPrefix}${metaId}`);
}

/** The meta-ID of a replicant document id, or undefined when `docId` is not one. */
export function metaIdOfDocId(docId: DocumentId | string): MetaId | undefined {
  if (!docId.startsWith(replicantDocPrefix)) return undefined;
  const metaId = docId.slice(replicantDocPrefix.length);
  return isMetaId(metaId) ? metaId : undefined;
}

/** A revision for the `generation`-th write, by `site`; `nonce` is 4 random bytes. */
export function makeRevision(generation: number, site: SiteName, nonce: Uint8Array): string {
  return `${generation}-${site}-${nonceText(nonce)}`;
}

/** How a revision writes its `nonce`: 8 hex digits. */
export function nonceText(nonce: Uint8Array): string {
  const hex = Array.from(nonce.subarray(0, 4), (byte) => byte.toString(16).padStart(2, '0')).join('');
  return hex.padEnd(8, '0');
}

/** The generation, site and nonce (`nonceText`) a revision names, or undefined when it is not one. */
export function parseRevision(revision: string): { generation: number; site: SiteName; nonce: string } | undefined {
  const match = revisionPattern.exec(revision);
  const site = match?.[2];
  const nonce = match?.[3];
  if (match === null || site === undefined || nonce === undefined || !isSiteName(site)) return undefined;
  return { generation: Number(match[1]), site, nonce };
}

/** The text of a key, for index maps and messages: `kubernetes:pods/default/purple`. */
export function keyText(key: ResourceKey): string {
  return `${key.app}:${key.service}/${key.namespace ?? ''}/${key.name}`;
}

/** Whether two keys name the same resource. */
export function sameKey(a: ResourceKey, b: ResourceKey): boolean {
  return a.app === b.app && a.service === b.service && a.namespace === b.namespace && a.name === b.name;
}

/**
 * Whether `site`'s replica has settled `revision`: applied or failed it (or a later generation), or,
 * for a deleted replicant, deleted it.
 */
export function replicaSettled(replicant: Replicant, site: SiteName, revision: string, generation: number): boolean {
  const entry = replicant.replicas[site];
  if (entry === undefined) return false;
  if (replicant.deleted) return entry.status === ReplicaStatus.Deleted || (entry.status === ReplicaStatus.Failed && entry.observedRevision === revision);
  if (entry.status === ReplicaStatus.Pending) return false;
  return entry.observedRevision === revision || entry.observedGeneration > generation;
}

/** Whether `site`'s replica is current: nothing left for its reconciler to do. */
export function replicaCurrent(replicant: Replicant, site: SiteName): boolean {
  const entry = replicant.replicas[site];
  if (entry === undefined) return false;
  if (replicant.deleted) {
    // A refused delete is settled too, until something changes.
    const closed = replicant.deletedBy?.revision ?? replicant.desired.revision;
    return entry.status === ReplicaStatus.Deleted || (entry.status === ReplicaStatus.Failed && entry.observedRevision === closed);
  }
  return entry.observedRevision === replicant.desired.revision && (entry.status === ReplicaStatus.Applied || entry.status === ReplicaStatus.Failed);
}
