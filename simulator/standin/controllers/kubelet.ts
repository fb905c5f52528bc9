/**
 * The scheduler and kubelet of the stand-in's one simulated node: a new pod is bound to the node and
 * its containers "start" at once (status Running, all ready, a pod IP from 10.244.0.0/16); a pod
 * being deleted gracefully is stopped and removed.
 */
import type { Random } from '../../../core/random.js';
import { objectAt, stringAt, type JsonObject } from '../json.js';
import { isTerminating, metadataOf } from '../object-meta.js';
import { runningStatus } from '../pod-status.js';
import type { Registry } from '../registry.js';
import { resourceType } from '../resources.js';

export interface NodeIdentity {
  readonly nodeName: string;
  readonly hostIp: string;
}

/** The node name of a site: its name in DNS-label form, as `kind` names its node. */
export function nodeIdentityOf(site: string): NodeIdentity {
  const label = site.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'site';
  return { nodeName: `${label}-control-plane`, hostIp: '172.18.0.2' };
}

function hex(random: Random, bytes: number): string {
  return Array.from(random.bytes(bytes), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function podIp(random: Random): string {
  return `10.244.${random.int(256)}.${2 + random.int(252)}`;
}

/** Schedules and starts a pending pod, or finishes the graceful deletion of a terminating one. */
export async function reconcilePod(registry: Registry, random: Random, node: NodeIdentity, namespace: string, name: string): Promise<void> {
  const pods = resourceType('pods');
  const pod = registry.store.get(pods, namespace, name);
  if (pod === undefined) return;
  if (isTerminating(pod)) {
    if (Number(metadataOf(pod).deletionGracePeriodSeconds ?? 0) === 0) return;
    await registry.mutate(pods, namespace, name, (copy) => {
      metadataOf(copy).deletionGracePeriodSeconds = 0;
      return copy;
    });
    return;
  }
  if (stringAt(objectAt(pod, 'status'), 'phase') !== 'Pending') return;
  const ip = podIp(random);
  await registry.mutate(pods, namespace, name, (copy: JsonObject) => {
    const spec = objectAt(copy, 'spec') ?? {};
    if (stringAt(spec, 'nodeName') === undefined) spec.nodeName = node.nodeName;
    copy.status = runningStatus(copy, {
      nodeName: node.nodeName,
      hostIp: node.hostIp,
      podIp: ip,
      now: registry.now(),
      containerIdHex: () => hex(random, 32),
    });
    return copy;
  });
}
