/**
 * Pod status as a kubelet reports it: Pending with a QoS class at creation, then Running with
 * ready containers once the stand-in's simulated node has "started" them.
 */
import { objectAt, objectsAt, stringAt, type JsonObject } from './json.js';

function resourceNames(container: JsonObject, kind: 'requests' | 'limits'): Record<string, string> {
  const values = objectAt(objectAt(container, 'resources'), kind) ?? {};
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]));
}

/** The pod's QoS class: Guaranteed, Burstable or BestEffort, as kubelet's qos package computes it. */
export function qosClass(pod: JsonObject): string {
  const spec = objectAt(pod, 'spec');
  const containers = [...objectsAt(spec, 'containers'), ...objectsAt(spec, 'initContainers')];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const container of containers) {
    const requests = resourceNames(container, 'requests');
    const limits = resourceNames(container, 'limits');
    if (Object.keys(requests).length > 0 || Object.keys(limits).length > 0) any = true;
    for (const resource of ['cpu', 'memory']) {
      const limit = limits[resource];
      const request = requests[resource] ?? limit;
      if (limit === undefined || request !== limit) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** The status of a pod the API server has just accepted. */
export function initialStatus(pod: JsonObject): JsonObject {
  return { phase: 'Pending', qosClass: qosClass(pod) };
}

export interface NodeFacts {
  readonly nodeName: string;
  readonly hostIp: string;
  readonly podIp: string;
  readonly now: string;
  /** Hex digits for container ids. */
  readonly containerIdHex: (index: number) => string;
}

function condition(type: string, now: string): JsonObject {
  return { type, status: 'True', lastProbeTime: null, lastTransitionTime: now };
}

/** An image reference as the container runtime reports it (`nginx` is docker.io/library/nginx:latest). */
function fullImageName(image: string): string {
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const tagged = lastPart.includes(':') || image.includes('@') ? image : `${image}:latest`;
  const first = image.split('/')[0] ?? '';
  if (!image.includes('/')) return `docker.io/library/${tagged}`;
  return first.includes('.') || first.includes(':') || first === 'localhost' ? tagged : `docker.io/${tagged}`;
}

/** The status of a pod whose containers all run and are ready. */
export function runningStatus(pod: JsonObject, facts: NodeFacts): JsonObject {
  const spec = objectAt(pod, 'spec');
  const containerStatuses = objectsAt(spec, 'containers').map((container, index) => {
    const image = fullImageName(stringAt(container, 'image') ?? '');
    return {
      name: stringAt(container, 'name') ?? '',
      state: { running: { startedAt: facts.now } },
      lastState: {},
      ready: true,
      restartCount: 0,
      image,
      imageID: `${image.replace(/:[^:/@]+$/, '')}@sha256:${facts.containerIdHex(index + 100)}`,
      containerID: `containerd://${facts.containerIdHex(index)}`,
      started: true,
    };
  });
  return {
    phase: 'Running',
    conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => condition(type, facts.now)),
    hostIP: facts.hostIp,
    hostIPs: [{ ip: facts.hostIp }],
    podIP: facts.podIp,
    podIPs: [{ ip: facts.podIp }],
    startTime: facts.now,
    containerStatuses,
    qosClass: qosClass(pod),
  };
}
