/**
 * The endpoints controller: a service with a selector has an Endpoints object of the same name
 * listing its ready pods' IPs and the service's target ports (what `kubectl describe service`
 * shows as Endpoints); it goes when the service goes.
 */
import { ApiError } from '../errors.js';
import { numberAt, objectAt, objectsAt, stringAt, stringMapAt, type JsonObject, type JsonValue } from '../json.js';
import { conditionOf, isTerminating, labelsOf, nameOf, uidOf } from '../object-meta.js';
import { deleteObject } from '../deletion.js';
import type { Registry } from '../registry.js';
import { resourceType } from '../resources.js';

/** The pod port a service port's targetPort names (a number, or a container port's name). */
function targetPort(pod: JsonObject, target: JsonValue | undefined, fallback: number): number | undefined {
  if (typeof target === 'number') return target === 0 ? fallback : target;
  if (typeof target !== 'string' || target === '') return fallback;
  for (const container of objectsAt(objectAt(pod, 'spec'), 'containers')) {
    const port = objectsAt(container, 'ports').find((candidate) => candidate.name === target);
    if (port !== undefined) return numberAt(port, 'containerPort');
  }
  return undefined;
}

function subsetsOf(service: JsonObject, pods: JsonObject[]): JsonObject[] {
  const groups = new Map<string, { addresses: JsonObject[]; ports: JsonObject[] }>();
  for (const pod of pods) {
    const ip = stringAt(objectAt(pod, 'status'), 'podIP');
    if (ip === undefined || conditionOf(pod, 'Ready')?.status !== 'True') continue;
    const ports = objectsAt(objectAt(service, 'spec'), 'ports').flatMap((port) => {
      const number = targetPort(pod, port.targetPort, numberAt(port, 'port') ?? 0);
      if (number === undefined) return [];
      const entry: JsonObject = { port: number, protocol: stringAt(port, 'protocol') ?? 'TCP' };
      const name = stringAt(port, 'name');
      return [name === undefined || name === '' ? entry : { name, ...entry }];
    });
    const key = JSON.stringify(ports);
    const group = groups.get(key) ?? { addresses: [], ports };
    group.addresses.push({
      ip,
      nodeName: stringAt(objectAt(pod, 'spec'), 'nodeName') ?? '',
      targetRef: { kind: 'Pod', namespace: stringAt(objectAt(pod, 'metadata'), 'namespace') ?? '', name: nameOf(pod), uid: uidOf(pod) },
    });
    groups.set(key, group);
  }
  return [...groups.values()].map((group) => ({ addresses: group.addresses, ports: group.ports }));
}

/** Brings the Endpoints of one service up to date (or removes them with the service). */
export async function reconcileEndpoints(registry: Registry, namespace: string, name: string): Promise<void> {
  const endpointsType = resourceType('endpoints');
  const service = registry.store.get(resourceType('services'), namespace, name);
  const existing = registry.store.get(endpointsType, namespace, name);
  const selector = stringMapAt(objectAt(service, 'spec'), 'selector');
  if (service === undefined || isTerminating(service) || Object.keys(selector).length === 0) {
    const managed = existing !== undefined && service === undefined;
    if (managed) await deleteObject(registry, endpointsType, namespace, name).catch(ignoreNotFound);
    return;
  }
  const pods = registry
    .list(resourceType('pods'), namespace)
    .filter((pod) => !isTerminating(pod) && Object.entries(selector).every(([key, value]) => labelsOf(pod)[key] === value));
  const subsets = subsetsOf(service, pods);
  const labels = labelsOf(service);
  if (existing === undefined) {
    const metadata: JsonObject = { name };
    if (Object.keys(labels).length > 0) metadata.labels = labels;
    await registry.createInternal('endpoints', namespace, { apiVersion: 'v1', kind: 'Endpoints', metadata, subsets }).catch(ignoreConflict);
    return;
  }
  await registry.mutate(endpointsType, namespace, name, (endpoints) => ({ ...endpoints, subsets }));
}

function ignoreNotFound(error: unknown): void {
  if (!(error instanceof ApiError && error.code === 404)) throw error;
}

function ignoreConflict(error: unknown): void {
  if (!(error instanceof ApiError && (error.code === 409 || error.code === 404 || error.code === 403))) throw error;
}
