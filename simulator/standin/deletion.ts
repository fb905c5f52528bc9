/**
 * Deletion as an API server does it: preconditions, graceful deletion of scheduled pods, finalizers
 * (the object stays, with a deletionTimestamp, until they are gone), the propagation policy turned
 * into the garbage collector's `foregroundDeletion` or `orphan` finalizer, and namespaces going
 * Terminating until the namespace controller has emptied them.
 */
import { ApiError, conflict, forbidden, notFound } from './errors.js';
import { objectAt, type JsonObject } from './json.js';
import { finalizersOf, isTerminating, metadataOf, nameOf, namespaceOf, resourceVersionOf, uidOf } from './object-meta.js';
import type { Registry } from './registry.js';
import type { ResourceType } from './resources.js';
import type { Mutation } from './store.js';

export const PropagationPolicy = { Orphan: 'Orphan', Background: 'Background', Foreground: 'Foreground' } as const;
export type PropagationPolicy = (typeof PropagationPolicy)[keyof typeof PropagationPolicy];

export interface DeleteOptions {
  readonly propagationPolicy?: PropagationPolicy;
  readonly orphanDependents?: boolean;
  readonly gracePeriodSeconds?: number;
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
  readonly dryRun?: boolean;
}

export interface DeleteResult {
  /** The object as it is now (terminating) or was (deleted). */
  readonly object: JsonObject;
  /** True when the object is gone; false when it waits for finalizers or a grace period. */
  readonly deleted: boolean;
}

/** Namespaces a real cluster refuses to delete. */
const protectedNamespaces = new Set(['default', 'kube-system', 'kube-public']);

const gcFinalizers: Readonly<Record<string, string>> = {
  [PropagationPolicy.Foreground]: 'foregroundDeletion',
  [PropagationPolicy.Orphan]: 'orphan',
};

function checkPreconditions(type: ResourceType, name: string, current: JsonObject, options: DeleteOptions): void {
  const { uid, resourceVersion } = options.preconditions ?? {};
  if (uid !== undefined && uid !== '' && uid !== uidOf(current)) {
    throw conflict(type, name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${uidOf(current)}`);
  }
  if (resourceVersion !== undefined && resourceVersion !== '' && resourceVersion !== resourceVersionOf(current)) {
    throw conflict(type, name, `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${resourceVersionOf(current)}`);
  }
}

function policyOf(options: DeleteOptions): PropagationPolicy {
  if (options.propagationPolicy !== undefined) return options.propagationPolicy;
  if (options.orphanDependents === true) return PropagationPolicy.Orphan;
  return PropagationPolicy.Background;
}

/** The pod's grace period: pods on a node get one (default 30 s), as the kubelet must stop them. */
function gracePeriod(type: ResourceType, current: JsonObject, options: DeleteOptions): number {
  if (type.plural !== 'pods') return 0;
  if (objectAt(current, 'spec')?.nodeName === undefined) return 0;
  const requested = options.gracePeriodSeconds ?? Number(objectAt(current, 'spec')?.terminationGracePeriodSeconds ?? 30);
  return Math.max(0, requested);
}

/** Decides a deletion of `current`; `now` is the deletion time. */
function decide(type: ResourceType, current: JsonObject, options: DeleteOptions, now: string): Mutation {
  const policy = policyOf(options);
  const finalizers = finalizersOf(current);
  const added = gcFinalizers[policy];
  const next = structuredClone(current);
  const metadata = metadataOf(next);
  if (added !== undefined && !finalizers.includes(added) && !isTerminating(current)) finalizers.push(added);
  if (type.plural === 'namespaces') {
    if (isTerminating(current)) return { keep: true };
    metadata.deletionTimestamp = now;
    metadata.deletionGracePeriodSeconds = 0;
    metadata.finalizers = finalizers;
    if (finalizers.length === 0) delete metadata.finalizers;
    next.status = { ...(objectAt(next, 'status') ?? {}), phase: 'Terminating' };
    return { put: next };
  }
  const grace = gracePeriod(type, current, options);
  if (finalizers.length === 0 && grace === 0) return { delete: true };
  if (isTerminating(current) && finalizers.length === finalizersOf(current).length && grace >= Number(metadata.deletionGracePeriodSeconds ?? 0)) {
    return { keep: true };
  }
  metadata.deletionTimestamp = now;
  metadata.deletionGracePeriodSeconds = grace;
  if (finalizers.length > 0) metadata.finalizers = finalizers;
  return { put: next };
}

/** Deletes one object; resolves to what is left of it. */
export async function deleteObject(
  registry: Registry,
  type: ResourceType,
  namespace: string,
  name: string,
  options: DeleteOptions = {},
): Promise<DeleteResult> {
  if (type.plural === 'namespaces' && protectedNamespaces.has(name)) {
    throw forbidden(type, name, 'this namespace may not be deleted');
  }
  let deleted = false;
  let planned: JsonObject | undefined;
  const result = await registry.store.transact(type, namespace, name, (current): Mutation => {
    if (current === undefined) throw notFound(type, name);
    checkPreconditions(type, name, current, options);
    const mutation = decide(type, current, options, registry.now());
    deleted = 'delete' in mutation;
    planned = 'put' in mutation ? mutation.put : current;
    return options.dryRun === true ? { keep: true } : mutation;
  });
  const object = options.dryRun === true || result === undefined ? (planned ?? {}) : result;
  return { object, deleted };
}

/** Deletes each of `objects` (of `type`); objects already gone are skipped. */
export async function deleteAll(registry: Registry, type: ResourceType, objects: readonly JsonObject[], options: DeleteOptions = {}): Promise<JsonObject[]> {
  const results: JsonObject[] = [];
  for (const object of objects) {
    try {
      results.push((await deleteObject(registry, type, namespaceOf(object), nameOf(object), options)).object);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 404)) throw error;
    }
  }
  return results;
}
