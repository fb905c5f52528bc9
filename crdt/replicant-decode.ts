/**
 * Decoding of replicant documents received from peers. Their content is untrusted: a peer may be
 * buggy or hostile, so every field is checked, and a document whose creator-written or desired
 * state is unusable is refused as a whole (the caller drops it and logs). A malformed replica or
 * conflict entry only loses that entry. Never throws.
 */
import * as Automerge from '@automerge/automerge';
import { asMetaId, isSiteName, type DocumentId, type ResourceKey, type SiteName } from '../core/ids.js';
import {
  CollaborationKind,
  conflictKeyPrefix,
  claimKeyPrefix,
  claimOrder,
  dependentKeyPrefix,
  joinKeyPrefix,
  keyText,
  metaIdOfDocId,
  parseRevision,
  replicaKeyPrefix,
  replicantVersion,
  ReplicaStatus,
  type ConflictEntry,
  type ClaimEntry,
  type DependentEntry,
  type DeletedBy,
  type DesiredState,
  type JoinEntry,
  type Replicant,
  type ReplicaEntry,
  type ReplicantMeta,
} from './replicant.js';

/** A decoded replicant, and the entries left out because they were malformed. */
export type ReplicantDecodeResult =
  | { readonly ok: true; readonly replicant: Replicant; readonly ignored: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/** Longest text accepted in short fields (names, scopes, errors). */
const maxTextLength = 4_096;
/** Most sites a scope may name. */
const maxSites = 256;
const statuses = new Set<string>(Object.values(ReplicaStatus));

type Fields = Readonly<Record<string, unknown>>;

function isRecord(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Automerge.isImmutableString(value);
}

/** A string value: an ImmutableString, or a plain string (a hostile peer may write text). */
function stringValue(value: unknown): string | undefined {
  if (Automerge.isImmutableString(value)) return value.val;
  return typeof value === 'string' ? value : undefined;
}

/** The JSON object stored as a string at `value`, or undefined. */
/** A stored JSON value (an ImmutableString) as a record, or undefined. */
export function jsonRecord(value: unknown): Fields | undefined {
  const text = stringValue(value);
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function text(value: unknown, options: { optional?: boolean } = {}): string | undefined {
  if (typeof value !== 'string' || value.length > maxTextLength) return undefined;
  return value === '' && options.optional !== true ? undefined : value;
}

function site(value: unknown): SiteName | undefined {
  return typeof value === 'string' && isSiteName(value) ? value : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

function time(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** A resource key from untrusted JSON, or undefined. */
export function decodeResourceKey(value: unknown): ResourceKey | undefined {
  if (!isRecord(value)) return undefined;
  const app = text(value.app);
  const service = text(value.service);
  const name = text(value.name);
  if (app === undefined || service === undefined || name === undefined) return undefined;
  if (value.namespace === undefined) return { app, service, name };
  const namespace = text(value.namespace);
  return namespace === undefined ? undefined : { app, service, namespace, name };
}

function decodeMeta(value: unknown): ReplicantMeta | string {
  const fields = jsonRecord(value);
  if (fields === undefined) return 'meta is not a JSON object';
  const key = decodeResourceKey(fields.key);
  if (key === undefined) return 'meta.key is malformed';
  if (fields.collaboration !== CollaborationKind.Replication) return 'meta.collaboration is unknown';
  const scope = text(fields.scope);
  const origin = site(fields.origin);
  const incarnation = count(fields.incarnation);
  const createdAt = time(fields.createdAt);
  const sites = Array.isArray(fields.sites) ? fields.sites.map(site) : [];
  if (sites.length === 0 || sites.length > maxSites || sites.some((name) => name === undefined)) return 'meta.sites is malformed';
  if (new Set(sites).size !== sites.length) return 'meta.sites lists a site twice';
  if (scope === undefined || origin === undefined || incarnation === undefined || createdAt === undefined) return 'meta is incomplete';
  return { key, collaboration: CollaborationKind.Replication, scope, sites: sites as SiteName[], origin, incarnation, createdAt };
}

/** The desired state stored at `value` (the `desired` field), or why it is unusable. */
export function decodeDesired(value: unknown): DesiredState | string {
  const fields = jsonRecord(value);
  if (fields === undefined) return 'desired is not a JSON object';
  const revision = text(fields.revision);
  const parsed = revision === undefined ? undefined : parseRevision(revision);
  const generation = count(fields.generation);
  const writer = site(fields.site);
  const at = time(fields.at);
  if (revision === undefined || parsed === undefined) return 'desired.revision is malformed';
  if (generation === undefined || generation < 1 || parsed.generation !== generation) return 'desired.generation is malformed';
  if (writer === undefined || parsed.site !== writer || at === undefined) return 'desired.site or desired.at is malformed';
  if (!isRecord(fields.body)) return 'desired.body is not an object';
  return { revision, generation, site: writer, at, body: fields.body };
}

/** The `deletedBy` field, or undefined when absent or malformed. */
export function decodeDeletedBy(value: unknown): DeletedBy | undefined {
  const fields = jsonRecord(value);
  const by = site(fields?.site);
  const at = time(fields?.at);
  const revision = text(fields?.revision);
  if (by === undefined || at === undefined || revision === undefined) return undefined;
  // Checked by the glue before it reaches the application; here only its shape.
  const propagation = typeof fields?.propagation === 'string' && fields.propagation.length <= 32 ? fields.propagation : undefined;
  return { site: by, at, revision, ...(propagation === undefined ? {} : { propagation }) };
}

/** A `replica:<site>` field, or undefined when malformed. */
export function decodeReplica(value: unknown): ReplicaEntry | undefined {
  const fields = jsonRecord(value);
  if (fields === undefined) return undefined;
  const status = fields.status;
  const observedGeneration = count(fields.observedGeneration);
  const updatedAt = time(fields.updatedAt);
  if (typeof status !== 'string' || !statuses.has(status) || observedGeneration === undefined || updatedAt === undefined) return undefined;
  const entry: { -readonly [K in keyof ReplicaEntry]: ReplicaEntry[K] } = {
    status: status as ReplicaStatus,
    observedGeneration,
    updatedAt,
  };
  for (const field of ['localId', 'observedRevision', 'error'] as const) {
    if (fields[field] === undefined) continue;
    const fieldText = text(fields[field], { optional: true });
    if (fieldText === undefined) return undefined;
    entry[field] = fieldText;
  }
  return entry;
}

/** A dependent entry, written by the site its key names (`dependent:<site>:…`). */
function decodeDependent(field: string, value: unknown): DependentEntry | undefined {
  const fields = jsonRecord(value);
  const writer = site(field.slice(dependentKeyPrefix.length, field.indexOf(':', dependentKeyPrefix.length)));
  const key = decodeResourceKey(fields?.key);
  const kind = text(fields?.kind);
  const via = text(fields?.via);
  const at = fields?.at === undefined ? undefined : time(fields.at);
  if (fields === undefined || writer === undefined || fields.site !== writer || key === undefined || kind === undefined || via === undefined) return undefined;
  if (fields.at !== undefined && at === undefined) return undefined;
  return { site: writer, key, kind, via, ...(at === undefined ? {} : { at }) };
}

/** A joined site (`join:<site>`). */
function decodeJoin(field: string, value: unknown): JoinEntry | undefined {
  const fields = jsonRecord(value);
  const joined = site(field.slice(joinKeyPrefix.length));
  const by = site(fields?.by);
  const at = time(fields?.at);
  if (fields === undefined || joined === undefined || fields.site !== joined || by === undefined || at === undefined) return undefined;
  return { site: joined, by, at };
}

/**
 * `meta` with the sites of any meta written concurrently with it: two creates of one meta-ID
 * with different scopes (one on each side of a partition, one of them widened, or one made by
 * the site a scope adds: node/replication/membership-claims.ts). `meta` is written once, by the
 * create, so such rivals are all the values Automerge keeps for it; it shows one of them. A
 * replicant is never narrowed: every site decodes the union, in the winner's order then by name
 * (with `scope` naming them all, as for joins). Without this, the site only the losing scope
 * named held a replicant that no longer listed it, refused by every other (swarm seed 5700253).
 */
function withRivals(meta: ReplicantMeta, content: Record<string, unknown>): ReplicantMeta {
  if (!Automerge.isAutomerge(content)) return meta;
  const values = Object.values(Automerge.getConflicts(content as Automerge.Doc<Record<string, unknown>>, 'meta') ?? {});
  if (values.length < 2) return meta;
  const extra = new Set<SiteName>();
  for (const value of values) {
    const rival = decodeMeta(value);
    if (typeof rival === 'string' || keyText(rival.key) !== keyText(meta.key) || rival.incarnation !== meta.incarnation) continue;
    for (const name of rival.sites) if (!meta.sites.includes(name)) extra.add(name);
  }
  if (extra.size === 0) return meta;
  const sites = [...meta.sites, ...[...extra].sort()].slice(0, maxSites);
  // A scope that only lists sites names them all, with its own operator (a cross namespace's `%`
  // stays cross); any other is kept as written, its sites being the list above.
  const listed = siteList.exec(meta.scope);
  return { ...meta, sites, scope: listed === null ? meta.scope : `{${sites.join(` ${listed[1] ?? '&'} `)}}` };
}

/** A scope that only lists sites (`{Site1 & Site2}`, `{Site1 % Site2}`), with its operator. */
const siteList = /^\{\s*[\w.-]+(?:\s*([&%])\s*[\w.-]+)*\s*\}$/;

/**
 * `meta` widened by the sites that joined: their names after the scope's, sorted so that every
 * site decodes the same list; past the most sites a scope may name, the rest are left out.
 */
function widened(meta: ReplicantMeta, joins: readonly JoinEntry[], ignored: string[]): { meta: ReplicantMeta; joined: JoinEntry[] } {
  const sites = [...meta.sites];
  const joined: JoinEntry[] = [];
  for (const join of [...joins].sort((a, b) => (a.site < b.site ? -1 : a.site > b.site ? 1 : 0))) {
    if (sites.includes(join.site)) continue;
    if (sites.length >= maxSites) {
      ignored.push(`${joinKeyPrefix}${join.site}`);
      continue;
    }
    sites.push(join.site);
    joined.push(join);
  }
  return joined.length === 0 ? { meta, joined } : { meta: { ...meta, sites, scope: `{${sites.join(' & ')}}` }, joined };
}

/** A claim, written by the site its key names (`claim:<site>:…`). */
function decodeClaim(field: string, value: unknown): ClaimEntry | undefined {
  const fields = jsonRecord(value);
  const writer = site(field.slice(claimKeyPrefix.length, field.indexOf(':', claimKeyPrefix.length)));
  const key = decodeResourceKey(fields?.key);
  const at = time(fields?.at);
  if (fields === undefined || writer === undefined || fields.site !== writer || key === undefined || at === undefined) return undefined;
  if (field !== `${claimKeyPrefix}${writer}:${keyText(key)}`) return undefined;
  return { site: writer, key, at };
}

function decodeConflict(revisionKey: string, value: unknown): ConflictEntry | undefined {
  const fields = jsonRecord(value);
  const parsed = parseRevision(revisionKey);
  const lostTo = text(fields?.lostTo);
  const at = time(fields?.at);
  if (fields === undefined || parsed === undefined || fields.revision !== revisionKey || lostTo === undefined || at === undefined) return undefined;
  if (fields.site !== parsed.site || fields.generation !== parsed.generation) return undefined;
  return { revision: revisionKey, site: parsed.site, at, generation: parsed.generation, lostTo };
}

/**
 * Decodes `content` (a document as `DocumentStore.read` returns it) stored under `docId`. Refuses
 * a document with a wrong id, schema version, meta or desired state.
 */
export function decodeReplicant(docId: DocumentId, content: unknown): ReplicantDecodeResult {
  const metaId = metaIdOfDocId(docId);
  if (metaId === undefined) return { ok: false, reason: `${docId} is not a replicant id` };
  if (!isRecord(content)) return { ok: false, reason: 'the document is not a map' };
  if (content.v !== replicantVersion) return { ok: false, reason: `unknown schema version ${JSON.stringify(content.v)}` };
  const meta = decodeMeta(content.meta);
  if (typeof meta === 'string') return { ok: false, reason: meta };
  const desired = decodeDesired(content.desired);
  if (typeof desired === 'string') return { ok: false, reason: desired };
  if (content.deleted !== undefined && typeof content.deleted !== 'boolean') return { ok: false, reason: 'deleted is not a boolean' };
  const ignored: string[] = [];
  const replicas: Record<string, ReplicaEntry> = {};
  const conflicts: ConflictEntry[] = [];
  const dependents: DependentEntry[] = [];
  const claims: ClaimEntry[] = [];
  const joins: JoinEntry[] = [];
  for (const [field, value] of Object.entries(content)) {
    if (field.startsWith(replicaKeyPrefix)) {
      const name = site(field.slice(replicaKeyPrefix.length));
      const entry = decodeReplica(value);
      if (name === undefined || entry === undefined) ignored.push(field);
      else replicas[name] = entry;
    } else if (field.startsWith(conflictKeyPrefix)) {
      const entry = decodeConflict(field.slice(conflictKeyPrefix.length), value);
      if (entry === undefined) ignored.push(field);
      else conflicts.push(entry);
    } else if (field.startsWith(dependentKeyPrefix)) {
      const entry = decodeDependent(field, value);
      if (entry === undefined) ignored.push(field);
      else dependents.push(entry);
    } else if (field.startsWith(claimKeyPrefix)) {
      const entry = decodeClaim(field, value);
      if (entry === undefined) ignored.push(field);
      else claims.push(entry);
    } else if (field.startsWith(joinKeyPrefix)) {
      const entry = decodeJoin(field, value);
      if (entry === undefined) ignored.push(field);
      else joins.push(entry);
    }
  }
  const sharedWith = widened(withRivals(meta, content), joins, ignored);
  claims.sort((a, b) => (keyText(a.key) < keyText(b.key) ? -1 : keyText(a.key) > keyText(b.key) ? 1 : claimOrder(a, b)));
  conflicts.sort((a, b) => (a.revision < b.revision ? -1 : a.revision > b.revision ? 1 : 0));
  const deletedBy = content.deleted === true ? decodeDeletedBy(content.deletedBy) : undefined;
  const replicant: Replicant = {
    docId,
    metaId: asMetaId(metaId),
    meta: sharedWith.meta,
    desired,
    deleted: content.deleted === true,
    ...(deletedBy === undefined ? {} : { deletedBy }),
    replicas,
    conflicts,
    dependents,
    claims,
    joined: sharedWith.joined,
  };
  return { ok: true, replicant, ignored };
}
