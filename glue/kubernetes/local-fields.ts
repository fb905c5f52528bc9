/**
 * Site-local fields: what each site's API server or controllers set for themselves (uids, resource
 * versions, allocated IPs, the node a pod runs on, status), which a site must never copy to
 * another. `stripSiteLocalFields` takes them out of a body before it becomes the desired state;
 * `mergeSiteLocalFields` puts the local object's values back when a desired body is applied onto
 * it (a PUT needs the local `resourceVersion`, a service keeps its local `clusterIP`).
 * The `kubectl.kubernetes.io/last-applied-configuration` annotation is desired state and stays.
 */
import { cloneJson, isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import type { TakenScope } from '../types.js';
import { resourceForKind, splitApiVersion } from './resource-key.js';
import { keepInjectedTokenVolumes, stripInjectedTokenVolumes } from './pod-spec.js';

/** The annotation that carries a scope inside a manifest. */
export const scopeAnnotation = 'cheops.io/scope';

/** Metadata the API server sets per site. */
const localMetadataFields = [
  'uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields', 'selfLink',
  'deletionTimestamp', 'deletionGracePeriodSeconds',
] as const;

/** Annotations controllers set per site (a deployment's revision count, a claim's binding). */
const localAnnotations = [
  'deployment.kubernetes.io/revision',
  'pv.kubernetes.io/bind-completed',
  'pv.kubernetes.io/bound-by-controller',
  'volume.kubernetes.io/selected-node',
  'volume.kubernetes.io/storage-provisioner',
  'volume.beta.kubernetes.io/storage-provisioner',
] as const;

/** Fields below `spec` that each site allocates for itself, per service. */
const localSpecFields: Readonly<Record<string, readonly (readonly string[])[]>> = {
  pods: [['nodeName']],
  services: [['clusterIP'], ['clusterIPs']],
  persistentvolumeclaims: [['volumeName']],
  persistentvolumes: [['claimRef']],
};

/** Labels a job's controller puts in its selector and pod template, holding the site's job uid. */
const jobUidLabels = ['controller-uid', 'batch.kubernetes.io/controller-uid'] as const;

function child(object: JsonObject, key: string): JsonObject | undefined {
  const value = object[key];
  return isJsonObject(value) ? value : undefined;
}

function childAt(object: JsonObject, path: readonly string[]): JsonObject | undefined {
  let current: JsonObject | undefined = object;
  for (const step of path) current = current === undefined ? undefined : child(current, step);
  return current;
}

/** Sets `object[path]`, making the objects on the way. */
function setAt(object: JsonObject, path: readonly string[], value: JsonValue): void {
  let current = object;
  for (const step of path.slice(0, -1)) {
    const next = child(current, step) ?? {};
    current[step] = next;
    current = next;
  }
  const last = path[path.length - 1];
  if (last !== undefined) current[last] = value;
}

function deleteAt(object: JsonObject, path: readonly string[]): void {
  const parent = childAt(object, path.slice(0, -1));
  const last = path[path.length - 1];
  if (parent !== undefined && last !== undefined) delete parent[last];
}

/** The maps that stripping may empty. */
const emptiablePaths: readonly (readonly string[])[] = [
  ['metadata', 'annotations'],
  ['spec', 'template', 'metadata', 'labels'],
];

function isEmptyObjectAt(object: JsonObject, path: readonly string[]): boolean {
  const found = childAt(object, path);
  return found !== undefined && Object.keys(found).length === 0;
}

/** The service (resource plural) of a body, from its `apiVersion` and `kind`. */
function serviceOf(body: JsonObject): string | undefined {
  const { apiVersion, kind } = body;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  return resourceForKind(splitApiVersion(apiVersion).group, kind);
}

/** Where a site-local value lives, as paths from the object's root, for this service and body. */
function localPaths(service: string | undefined, body: JsonObject): (readonly string[])[] {
  const paths: (readonly string[])[] = [
    ...localMetadataFields.map((field) => ['metadata', field]),
    ...localAnnotations.map((annotation) => ['metadata', 'annotations', annotation]),
    ['status'],
    ...(localSpecFields[service ?? ''] ?? []).map((field) => ['spec', ...field]),
  ];
  if (service === 'jobs' && childAt(body, ['spec'])?.manualSelector !== true) {
    paths.push(['spec', 'selector']);
    for (const label of jobUidLabels) paths.push(['spec', 'template', 'metadata', 'labels', label]);
  }
  return paths;
}

function ownerReferences(object: JsonObject): JsonObject[] {
  const references = childAt(object, ['metadata'])?.ownerReferences;
  return Array.isArray(references) ? references.filter(isJsonObject) : [];
}

/**
 * A copy of `body` without its site-local fields. `service` is the resource plural; when omitted
 * it comes from the body's `apiVersion` and `kind`. A body that is not an object comes back as is.
 */
export function stripSiteLocalFields<T>(body: T, service?: string): T {
  if (!isJsonObject(body)) return body;
  const copy = cloneJson(body);
  const resolved = service ?? serviceOf(copy);
  const emptyBefore = new Set(emptiablePaths.filter((path) => isEmptyObjectAt(copy, path)));
  for (const path of localPaths(resolved, copy)) deleteAt(copy, path);
  for (const reference of ownerReferences(copy)) delete reference.uid;
  // A map emptied by the stripping goes, so that the body looks as it was written.
  for (const path of emptiablePaths) if (!emptyBefore.has(path) && isEmptyObjectAt(copy, path)) deleteAt(copy, path);
  const podSpec = resolved === 'pods' ? childAt(copy, ['spec']) : undefined;
  if (podSpec !== undefined) stripInjectedTokenVolumes(podSpec);
  return copy;
}

function keepOwnerUids(target: JsonObject, local: JsonObject): void {
  const localReferences = ownerReferences(local);
  for (const reference of ownerReferences(target)) {
    const match = localReferences.find((other) => other.kind === reference.kind && other.name === reference.name);
    if (match?.uid !== undefined) reference.uid = match.uid;
  }
}

/** A service's allocated node ports are kept when the desired body leaves them out. */
function keepNodePorts(target: JsonObject, local: JsonObject): void {
  const targetPorts = childAt(target, ['spec'])?.ports;
  const localPorts = childAt(local, ['spec'])?.ports;
  if (!Array.isArray(targetPorts) || !Array.isArray(localPorts)) return;
  for (const port of targetPorts.filter(isJsonObject)) {
    if (port.nodePort !== undefined) continue;
    const match = localPorts.filter(isJsonObject).find((other) => other.port === port.port && (other.protocol ?? 'TCP') === (port.protocol ?? 'TCP'));
    if (match?.nodePort !== undefined) port.nodePort = match.nodePort;
  }
  const health = childAt(local, ['spec'])?.healthCheckNodePort;
  const spec = childAt(target, ['spec']);
  if (spec !== undefined && spec.healthCheckNodePort === undefined && health !== undefined) spec.healthCheckNodePort = health;
}

/**
 * `desired` as it must be applied onto the `local` object: desired state everywhere, but the
 * local object's values for every site-local field (its uid, resourceVersion, status, clusterIP,
 * node, owner uids, token volumes, …). Neither input is changed. When either is not an object,
 * `desired` comes back as is.
 */
export function mergeSiteLocalFields<T>(desired: T, local: unknown, service?: string): T {
  if (!isJsonObject(desired) || !isJsonObject(local)) return desired;
  const resolved = service ?? serviceOf(desired) ?? serviceOf(local);
  const merged: JsonObject = stripSiteLocalFields(desired, resolved);
  for (const path of localPaths(resolved, local)) {
    const parent = childAt(local, path.slice(0, -1));
    const last = path[path.length - 1];
    const value = parent === undefined || last === undefined ? undefined : parent[last];
    if (value !== undefined) setAt(merged, path, cloneJson(value));
  }
  keepOwnerUids(merged, local);
  if (resolved === 'services') keepNodePorts(merged, local);
  const mergedSpec = resolved === 'pods' ? childAt(merged, ['spec']) : undefined;
  const localSpec = childAt(local, ['spec']);
  if (mergedSpec !== undefined && localSpec !== undefined) keepInjectedTokenVolumes(mergedSpec, localSpec);
  return merged as T;
}

/**
 * Reads and removes the `cheops.io/scope` annotation of a body (a manifest, or a patch of one).
 * A `null` annotation (a patch removing it) is removed too and yields no scope; a non-string
 * value is removed and ignored. The body is copied only when something was removed.
 */
export function takeScopeAnnotation<T>(body: T): TakenScope<T> {
  if (!isJsonObject(body)) return { body };
  const annotations = childAt(body, ['metadata', 'annotations']);
  if (annotations === undefined || !Object.hasOwn(annotations, scopeAnnotation)) return { body };
  const value = annotations[scopeAnnotation];
  const copy = cloneJson(body);
  deleteAt(copy, ['metadata', 'annotations', scopeAnnotation]);
  if (isEmptyObjectAt(copy, ['metadata', 'annotations'])) deleteAt(copy, ['metadata', 'annotations']);
  return typeof value === 'string' ? { scope: value, body: copy } : { body: copy };
}
