/**
 * The deployment controller, reduced to its end states: one replica set per pod template
 * (`<deployment>-<pod-template-hash>`, owned by the deployment), the current one scaled to
 * spec.replicas and the older ones to zero, history trimmed to revisionHistoryLimit, and a status
 * (replicas, updated, ready, available, conditions) that `kubectl get` and `kubectl rollout status`
 * read.
 */
import { cloneJson, numberAt, objectAt, stringAt, stringMapAt, type JsonObject } from '../json.js';
import { controllerOf, controllerReference, isTerminating, metadataOf, nameOf, uidOf } from '../object-meta.js';
import type { Registry } from '../registry.js';
import { resourceType } from '../resources.js';
import { deleteObject } from '../deletion.js';

const revisionAnnotation = 'deployment.kubernetes.io/revision';
const hashLabel = 'pod-template-hash';
const alphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** JSON with sorted keys, so equal templates hash equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The pod-template-hash: FNV-32a of the template, encoded as rand.SafeEncodeString does. */
export function podTemplateHash(template: JsonObject, collisionCount = 0): string {
  let hash = 0x811c9dc5;
  const bytes = new TextEncoder().encode(canonical(template) + (collisionCount > 0 ? String(collisionCount) : ''));
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return [...String(hash)].map((char) => alphabet[char.charCodeAt(0) % alphabet.length] ?? 'b').join('');
}

function revisionOf(object: JsonObject): number {
  return Number(stringMapAt(objectAt(object, 'metadata'), 'annotations')[revisionAnnotation] ?? 0) || 0;
}

/** Resolves a maxUnavailable / maxSurge value (`25%` or 1) against `total`. */
function scaledValue(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const match = typeof value === 'string' ? /^(\d+)%$/.exec(value) : null;
  if (match === null) return 0;
  const exact = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

function newReplicaSet(deployment: JsonObject, hash: string, revision: number, replicas: number): JsonObject {
  const spec = objectAt(deployment, 'spec') ?? {};
  const template = cloneJson(objectAt(spec, 'template') ?? {});
  const templateMetadata = metadataOf(template);
  templateMetadata.labels = { ...stringMapAt(templateMetadata, 'labels'), [hashLabel]: hash };
  const selector = cloneJson(objectAt(spec, 'selector') ?? {});
  selector.matchLabels = { ...stringMapAt(selector, 'matchLabels'), [hashLabel]: hash };
  const surge = scaledValue(objectAt(objectAt(spec, 'strategy'), 'rollingUpdate')?.maxSurge, replicas, true);
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${nameOf(deployment)}-${hash}`,
      labels: stringMapAt(templateMetadata, 'labels'),
      annotations: {
        'deployment.kubernetes.io/desired-replicas': String(replicas),
        'deployment.kubernetes.io/max-replicas': String(replicas + surge),
        [revisionAnnotation]: String(revision),
      },
      ownerReferences: [controllerReference(deployment, 'apps/v1', 'Deployment')],
    },
    spec: { replicas, minReadySeconds: numberAt(spec, 'minReadySeconds') ?? 0, selector, template },
  };
}

/** Brings the replica sets of one deployment to its spec, then writes its status. */
export async function reconcileDeployment(registry: Registry, namespace: string, name: string): Promise<void> {
  const deployments = resourceType('deployments');
  const replicaSets = resourceType('replicasets');
  const deployment = registry.store.get(deployments, namespace, name);
  if (deployment === undefined || isTerminating(deployment)) return;
  const spec = objectAt(deployment, 'spec') ?? {};
  const replicas = numberAt(spec, 'replicas') ?? 1;
  const hash = podTemplateHash(objectAt(spec, 'template') ?? {}, numberAt(objectAt(deployment, 'status'), 'collisionCount') ?? 0);
  const owned = registry.list(replicaSets, namespace).filter((set) => controllerOf(set)?.uid === uidOf(deployment));
  const maxRevision = Math.max(0, ...owned.map(revisionOf));
  let current = owned.find((set) => stringMapAt(objectAt(set, 'metadata'), 'labels')[hashLabel] === hash);
  if (current === undefined) {
    current = await registry.createInternal('replicasets', namespace, newReplicaSet(deployment, hash, maxRevision + 1, replicas));
  } else {
    const revision = revisionOf(current) === maxRevision ? maxRevision : maxRevision + 1;
    current = (await registry.mutate(replicaSets, namespace, nameOf(current), (set) => {
      objectAt(set, 'spec')!.replicas = replicas;
      const annotations = stringMapAt(metadataOf(set), 'annotations');
      metadataOf(set).annotations = { ...annotations, [revisionAnnotation]: String(revision), 'deployment.kubernetes.io/desired-replicas': String(replicas) };
      return set;
    })) ?? current;
  }
  const newest = current;
  const old = owned.filter((set) => nameOf(set) !== nameOf(newest));
  for (const set of old) {
    if (numberAt(objectAt(set, 'spec'), 'replicas') !== 0) {
      await registry.mutate(replicaSets, namespace, nameOf(set), (copy) => ({ ...copy, spec: { ...(objectAt(copy, 'spec') ?? {}), replicas: 0 } }));
    }
  }
  await trimHistory(registry, namespace, old, numberAt(spec, 'revisionHistoryLimit') ?? 10);
  await writeStatus(registry, namespace, name, newest, revisionOf(newest));
}

async function trimHistory(registry: Registry, namespace: string, old: JsonObject[], limit: number): Promise<void> {
  const idle = old
    .filter((set) => numberAt(objectAt(set, 'spec'), 'replicas') === 0 && (numberAt(objectAt(set, 'status'), 'replicas') ?? 0) === 0)
    .sort((a, b) => revisionOf(a) - revisionOf(b));
  for (const set of idle.slice(0, Math.max(0, idle.length - limit))) {
    await deleteObject(registry, resourceType('replicasets'), namespace, nameOf(set)).catch(() => undefined);
  }
}

function condition(previous: JsonObject[], type: string, status: string, reason: string, message: string, now: string): JsonObject {
  const before = previous.find((item) => item.type === type);
  const unchanged = before !== undefined && before.status === status && before.reason === reason;
  const transition = unchanged ? (stringAt(before, 'lastTransitionTime') ?? now) : now;
  const update = unchanged && before.message === message ? (stringAt(before, 'lastUpdateTime') ?? now) : now;
  return { type, status, lastUpdateTime: update, lastTransitionTime: transition, reason, message };
}

async function writeStatus(registry: Registry, namespace: string, name: string, newest: JsonObject, revision: number): Promise<void> {
  const replicaSets = registry.list(resourceType('replicasets'), namespace);
  await registry.mutate(resourceType('deployments'), namespace, name, (deployment) => {
    const owned = replicaSets.filter((set) => controllerOf(set)?.uid === uidOf(deployment));
    const sum = (field: string): number => owned.reduce((total, set) => total + (numberAt(objectAt(set, 'status'), field) ?? 0), 0);
    const spec = objectAt(deployment, 'spec') ?? {};
    const desired = numberAt(spec, 'replicas') ?? 1;
    const newestNow = owned.find((set) => nameOf(set) === nameOf(newest)) ?? newest;
    const updated = numberAt(objectAt(newestNow, 'status'), 'replicas') ?? 0;
    const available = sum('availableReplicas');
    const total = sum('replicas');
    const maxUnavailable = scaledValue(objectAt(objectAt(spec, 'strategy'), 'rollingUpdate')?.maxUnavailable, desired, false);
    const previous = (Array.isArray(objectAt(deployment, 'status')?.conditions) ? objectAt(deployment, 'status')?.conditions : []) as JsonObject[];
    const now = registry.now();
    const minimum = available >= desired - maxUnavailable;
    const complete = updated === desired && total === desired && available === desired;
    const rsName = nameOf(newest);
    const status: JsonObject = {
      observedGeneration: Number(metadataOf(deployment).generation ?? 1),
      replicas: total,
      updatedReplicas: updated,
      readyReplicas: sum('readyReplicas'),
      availableReplicas: available,
      conditions: [
        minimum
          ? condition(previous, 'Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', now)
          : condition(previous, 'Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', now),
        complete
          ? condition(previous, 'Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rsName}" has successfully progressed.`, now)
          : condition(previous, 'Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${rsName}" is progressing.`, now),
      ],
    };
    if (total - available > 0) status.unavailableReplicas = total - available;
    const collisions = numberAt(objectAt(deployment, 'status'), 'collisionCount');
    if (collisions !== undefined) status.collisionCount = collisions;
    const annotations = stringMapAt(metadataOf(deployment), 'annotations');
    metadataOf(deployment).annotations = { ...annotations, [revisionAnnotation]: String(revision) };
    return { ...deployment, status };
  });
}
