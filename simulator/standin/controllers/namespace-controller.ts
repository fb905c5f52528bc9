/**
 * Namespace lifecycle: every active namespace has its `default` service account (what the service
 * account controller keeps); a terminating namespace has its contents deleted, and once it is empty
 * its `kubernetes` finalizer is removed and it disappears.
 */
import { ApiError } from '../errors.js';
import { objectAt } from '../json.js';
import { finalizersOf, isTerminating, nameOf } from '../object-meta.js';
import { deleteAll, PropagationPolicy } from '../deletion.js';
import type { Registry } from '../registry.js';
import { resourceType, resourceTypes } from '../resources.js';

/** Creates the `default` service account of an active namespace when it is missing. */
export async function ensureDefaultServiceAccount(registry: Registry, namespace: string): Promise<void> {
  const owner = registry.store.get(resourceType('namespaces'), '', namespace);
  if (owner === undefined || isTerminating(owner)) return;
  if (registry.store.get(resourceType('serviceaccounts'), namespace, 'default') !== undefined) return;
  try {
    await registry.createInternal('serviceaccounts', namespace, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
  } catch (error) {
    if (!(error instanceof ApiError && (error.code === 409 || error.code === 404 || error.code === 403))) throw error;
  }
}

/** Empties a terminating namespace, then lets it go. */
export async function finalizeNamespace(registry: Registry, name: string): Promise<void> {
  const namespaces = resourceType('namespaces');
  const namespace = registry.store.get(namespaces, '', name);
  if (namespace === undefined || !isTerminating(namespace)) return;
  let remaining = 0;
  for (const type of resourceTypes) {
    if (!type.namespaced) continue;
    const objects = registry.store.list(type, name);
    remaining += objects.length;
    const live = objects.filter((object) => !isTerminating(object));
    await deleteAll(registry, type, live, { propagationPolicy: PropagationPolicy.Background, gracePeriodSeconds: 0 });
  }
  if (remaining > 0 && resourceTypes.some((type) => type.namespaced && registry.store.list(type, name).length > 0)) return;
  await registry.mutate(namespaces, '', name, (copy) => {
    const spec = objectAt(copy, 'spec') ?? {};
    spec.finalizers = [];
    copy.spec = spec;
    return copy;
  });
  const emptied = registry.store.get(namespaces, '', name);
  if (emptied !== undefined && finalizersOf(emptied).length === 0) {
    await registry.store.transact(namespaces, '', nameOf(emptied), () => ({ delete: true }));
  }
}
