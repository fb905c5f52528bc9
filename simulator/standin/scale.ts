/**
 * The `/scale` subresource of deployments and replica sets: an autoscaling/v1 Scale view of the
 * object (`kubectl scale` reads and patches it), and the object a written Scale produces.
 */
import { cloneJson, numberAt, objectAt, type JsonObject } from './json.js';
import { metadataOf } from './object-meta.js';
import { formatLabelSelector } from './tables.js';

/** The Scale of a workload: spec.replicas, and status.replicas with the selector as a string. */
export function toScale(object: JsonObject): JsonObject {
  const metadata = metadataOf(object);
  const scaleMetadata: JsonObject = {};
  for (const key of ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp']) {
    const value = metadata[key];
    if (value !== undefined) scaleMetadata[key] = value;
  }
  const selector = formatLabelSelector(objectAt(objectAt(object, 'spec'), 'selector'));
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: scaleMetadata,
    spec: { replicas: numberAt(objectAt(object, 'spec'), 'replicas') ?? 0 },
    status: { replicas: numberAt(objectAt(object, 'status'), 'replicas') ?? 0, selector: selector === '<none>' ? '' : selector },
  };
}

/** The workload after a Scale is written: only spec.replicas changes. */
export function fromScale(current: JsonObject, scale: JsonObject): JsonObject {
  const next = cloneJson(current);
  const spec = objectAt(next, 'spec') ?? {};
  spec.replicas = numberAt(objectAt(scale, 'spec'), 'replicas') ?? 0;
  next.spec = spec;
  return next;
}
