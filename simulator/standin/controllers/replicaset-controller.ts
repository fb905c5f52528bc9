/**
 * The replica set controller: keeps spec.replicas active pods (`<replicaset>-<5 chars>`, owned by
 * the replica set, labelled from its template), deleting the least useful ones first when scaling
 * down, and reports replicas, ready and available counts in the status.
 */
import { cloneJson, numberAt, objectAt, stringAt, stringMapAt, type JsonObject } from '../json.js';
import { conditionOf, controllerOf, controllerReference, isTerminating, metadataOf, nameOf, uidOf } from '../object-meta.js';
import type { Registry } from '../registry.js';
import { resourceType } from '../resources.js';
import { deleteObject } from '../deletion.js';

function isActive(pod: JsonObject): boolean {
  const phase = stringAt(objectAt(pod, 'status'), 'phase');
  return !isTerminating(pod) && phase !== 'Succeeded' && phase !== 'Failed';
}

function isReady(pod: JsonObject): boolean {
  return conditionOf(pod, 'Ready')?.status === 'True';
}

function podFor(replicaSet: JsonObject): JsonObject {
  const template = cloneJson(objectAt(objectAt(replicaSet, 'spec'), 'template') ?? {});
  const templateMetadata = objectAt(template, 'metadata') ?? {};
  const metadata: JsonObject = {
    generateName: `${nameOf(replicaSet)}-`,
    labels: stringMapAt(templateMetadata, 'labels'),
    ownerReferences: [controllerReference(replicaSet, 'apps/v1', 'ReplicaSet')],
  };
  const annotations = objectAt(templateMetadata, 'annotations');
  if (annotations !== undefined) metadata.annotations = annotations;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec: objectAt(template, 'spec') ?? {} };
}

/** Ready pods last and older pods last: the order in which pods are given up when scaling down. */
function deletionOrder(a: JsonObject, b: JsonObject): number {
  if (isReady(a) !== isReady(b)) return isReady(a) ? 1 : -1;
  const created = (pod: JsonObject): string => stringAt(objectAt(pod, 'metadata'), 'creationTimestamp') ?? '';
  return created(a) < created(b) ? 1 : created(a) > created(b) ? -1 : nameOf(a) < nameOf(b) ? 1 : -1;
}

function ownedPods(registry: Registry, namespace: string, replicaSet: JsonObject): JsonObject[] {
  return registry.list(resourceType('pods'), namespace).filter((pod) => controllerOf(pod)?.uid === uidOf(replicaSet));
}

/** Creates or deletes pods until spec.replicas are active, then writes the status. */
export async function reconcileReplicaSet(registry: Registry, namespace: string, name: string): Promise<void> {
  const replicaSet = registry.store.get(resourceType('replicasets'), namespace, name);
  if (replicaSet === undefined || isTerminating(replicaSet)) return;
  const desired = numberAt(objectAt(replicaSet, 'spec'), 'replicas') ?? 1;
  const active = ownedPods(registry, namespace, replicaSet).filter(isActive);
  if (active.length < desired) {
    for (let count = active.length; count < desired; count++) {
      await registry.createInternal('pods', namespace, podFor(replicaSet));
    }
  } else if (active.length > desired) {
    for (const pod of [...active].sort(deletionOrder).slice(0, active.length - desired)) {
      await deleteObject(registry, resourceType('pods'), namespace, nameOf(pod)).catch(() => undefined);
    }
  }
  await writeStatus(registry, namespace, name);
}

async function writeStatus(registry: Registry, namespace: string, name: string): Promise<void> {
  const replicaSets = resourceType('replicasets');
  const current = registry.store.get(replicaSets, namespace, name);
  if (current === undefined) return;
  const active = ownedPods(registry, namespace, current).filter(isActive);
  const templateLabels = stringMapAt(objectAt(objectAt(objectAt(current, 'spec'), 'template'), 'metadata'), 'labels');
  const ready = active.filter(isReady).length;
  await registry.mutate(replicaSets, namespace, name, (replicaSet) => {
    const status: JsonObject = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((pod) => Object.entries(templateLabels).every(([key, value]) => stringMapAt(objectAt(pod, 'metadata'), 'labels')[key] === value)).length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: Number(metadataOf(replicaSet).generation ?? 1),
    };
    return { ...replicaSet, status };
  });
}
