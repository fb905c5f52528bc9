/**
 * The garbage collector: dependents (objects whose ownerReferences name an owner) follow their
 * owner. When an owner is gone, dependents with no other live owner are deleted (Background);
 * an owner with the `foregroundDeletion` finalizer waits until its dependents are deleted; one with
 * the `orphan` finalizer has its dependents released (their owner references removed) first.
 */
import { ApiError } from '../errors.js';
import { stringAt, type JsonObject } from '../json.js';
import { finalizersOf, isOwnedBy, isTerminating, metadataOf, nameOf, namespaceOf, ownerReferencesOf, uidOf } from '../object-meta.js';
import { deleteObject, PropagationPolicy } from '../deletion.js';
import type { Registry } from '../registry.js';
import { resourceTypes, type ResourceType } from '../resources.js';

interface Dependent {
  readonly type: ResourceType;
  readonly object: JsonObject;
}

/** Objects in `namespace` (all namespaces for a cluster-scoped owner) that name `uid` as owner. */
function dependentsOf(registry: Registry, namespace: string, uid: string): Dependent[] {
  return resourceTypes.flatMap((type) => {
    if (type.plural === 'namespaces') return [];
    const objects = registry.store.list(type, type.namespaced && namespace !== '' ? namespace : undefined);
    return objects.filter((object) => isOwnedBy(object, uid)).map((object) => ({ type, object }));
  });
}

function ignoreNotFound(error: unknown): void {
  if (!(error instanceof ApiError && error.code === 404)) throw error;
}

/** True when some owner of `object` other than `goneUid` still exists. */
function hasLiveOwner(registry: Registry, object: JsonObject, goneUid: string): boolean {
  return ownerReferencesOf(object).some((reference) => {
    if (reference.uid === goneUid) return false;
    const type = resourceTypes.find((candidate) => candidate.kind === reference.kind);
    if (type === undefined) return false;
    const owner = registry.store.get(type, type.namespaced ? namespaceOf(object) : '', stringAt(reference, 'name') ?? '');
    return owner !== undefined && uidOf(owner) === reference.uid;
  });
}

async function removeOwnerReference(registry: Registry, dependent: Dependent, uid: string): Promise<void> {
  await registry.mutate(dependent.type, namespaceOf(dependent.object), nameOf(dependent.object), (copy) => {
    const kept = ownerReferencesOf(copy).filter((reference) => reference.uid !== uid);
    const metadata = metadataOf(copy);
    if (kept.length === 0) delete metadata.ownerReferences;
    else metadata.ownerReferences = kept;
    return copy;
  });
}

/** After an owner with `uid` was deleted: deletes its orphaned dependents. */
export async function collectDependents(registry: Registry, namespace: string, uid: string): Promise<void> {
  for (const dependent of dependentsOf(registry, namespace, uid)) {
    if (hasLiveOwner(registry, dependent.object, uid)) {
      await removeOwnerReference(registry, dependent, uid);
    } else if (!isTerminating(dependent.object)) {
      const options = { propagationPolicy: PropagationPolicy.Background };
      await deleteObject(registry, dependent.type, namespaceOf(dependent.object), nameOf(dependent.object), options).catch(ignoreNotFound);
    }
  }
}

async function removeFinalizer(registry: Registry, type: ResourceType, object: JsonObject, finalizer: string): Promise<void> {
  await registry.mutate(type, namespaceOf(object), nameOf(object), (copy) => {
    const kept = finalizersOf(copy).filter((item) => item !== finalizer);
    const metadata = metadataOf(copy);
    if (kept.length === 0) delete metadata.finalizers;
    else metadata.finalizers = kept;
    return copy;
  });
}

/** Handles an owner that is being deleted with the foregroundDeletion or orphan finalizer. */
export async function processDeletingOwner(registry: Registry, type: ResourceType, namespace: string, name: string): Promise<void> {
  const owner = registry.store.get(type, namespace, name);
  if (owner === undefined || !isTerminating(owner)) return;
  const finalizers = finalizersOf(owner);
  const dependents = dependentsOf(registry, namespace, uidOf(owner));
  if (finalizers.includes('orphan')) {
    for (const dependent of dependents) await removeOwnerReference(registry, dependent, uidOf(owner));
    await removeFinalizer(registry, type, owner, 'orphan');
    return;
  }
  if (!finalizers.includes('foregroundDeletion')) return;
  const blocking = dependents.filter((dependent) => !hasLiveOwner(registry, dependent.object, uidOf(owner)));
  for (const dependent of blocking) {
    if (isTerminating(dependent.object)) continue;
    const options = { propagationPolicy: PropagationPolicy.Foreground };
    await deleteObject(registry, dependent.type, namespaceOf(dependent.object), nameOf(dependent.object), options).catch(ignoreNotFound);
  }
  for (const dependent of dependents.filter((item) => !blocking.includes(item))) await removeOwnerReference(registry, dependent, uidOf(owner));
  if (dependentsOf(registry, namespace, uidOf(owner)).length === 0) await removeFinalizer(registry, type, owner, 'foregroundDeletion');
}
