/**
 * Pod specs inside Kubernetes objects: where they sit (a pod's `spec`, a deployment's
 * `spec.template.spec`, …), and the service-account token volume each site's API server injects
 * into every pod (`kube-api-access-<random>`), which is site-local.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';

/** The path of the pod spec in objects of each service that carries one. */
const podSpecPaths: Readonly<Record<string, readonly string[]>> = {
  pods: ['spec'],
  podtemplates: ['template', 'spec'],
  replicationcontrollers: ['spec', 'template', 'spec'],
  deployments: ['spec', 'template', 'spec'],
  replicasets: ['spec', 'template', 'spec'],
  statefulsets: ['spec', 'template', 'spec'],
  daemonsets: ['spec', 'template', 'spec'],
  jobs: ['spec', 'template', 'spec'],
  cronjobs: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

/** Where the pod spec is in objects of `service`, or undefined when they carry none. */
export function podSpecPathOf(service: string | undefined): readonly string[] | undefined {
  return service === undefined ? undefined : podSpecPaths[service];
}

/** The container lists of a pod spec. */
export const containerFields = ['initContainers', 'containers', 'ephemeralContainers'] as const;

const tokenVolumePrefix = 'kube-api-access-';

/** True for the projected token volume the ServiceAccount admission plugin adds to a pod. */
function isInjectedTokenVolume(volume: JsonValue): volume is JsonObject {
  return isJsonObject(volume) && typeof volume.name === 'string' && volume.name.startsWith(tokenVolumePrefix) && isJsonObject(volume.projected);
}

function nameOf(value: JsonObject): string {
  return typeof value.name === 'string' ? value.name : '';
}

function objectsIn(value: JsonValue | undefined): JsonObject[] {
  return Array.isArray(value) ? value.filter(isJsonObject) : [];
}

/** Removes the injected token volumes and their mounts from a pod spec (in place). */
export function stripInjectedTokenVolumes(podSpec: JsonObject): void {
  const volumes = podSpec.volumes;
  if (!Array.isArray(volumes)) return;
  const injected = new Set(volumes.filter(isInjectedTokenVolume).map((volume) => nameOf(volume)));
  if (injected.size === 0) return;
  const kept = volumes.filter((volume) => !isInjectedTokenVolume(volume));
  // An array emptied here was made by the injection: the body as written had none.
  if (kept.length === 0) delete podSpec.volumes;
  else podSpec.volumes = kept;
  for (const field of containerFields) {
    for (const container of objectsIn(podSpec[field])) {
      const mounts = container.volumeMounts;
      if (!Array.isArray(mounts)) continue;
      const keptMounts = mounts.filter((mount) => !(isJsonObject(mount) && injected.has(nameOf(mount))));
      if (keptMounts.length === 0) delete container.volumeMounts;
      else container.volumeMounts = keptMounts;
    }
  }
}

/** Puts the local pod's injected token volumes and mounts into `target` (in place). */
export function keepInjectedTokenVolumes(target: JsonObject, local: JsonObject): void {
  const localVolumes = objectsIn(local.volumes).filter(isInjectedTokenVolume);
  if (localVolumes.length === 0) return;
  const names = new Set(localVolumes.map((volume) => nameOf(volume)));
  target.volumes = [...objectsIn(target.volumes), ...structuredClone(localVolumes)];
  for (const field of containerFields) {
    const targetContainers = objectsIn(target[field]);
    for (const localContainer of objectsIn(local[field])) {
      const mounts = objectsIn(localContainer.volumeMounts).filter((mount) => names.has(nameOf(mount)));
      const match = targetContainers.find((container) => container.name === localContainer.name);
      if (match === undefined || mounts.length === 0) continue;
      match.volumeMounts = [...objectsIn(match.volumeMounts), ...structuredClone(mounts)];
    }
  }
}
