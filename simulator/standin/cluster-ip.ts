/** Cluster IP allocation for services, from the service CIDR 10.96.0.0/12 as kubeadm sets it up. */
import type { Random } from '../../core/random.js';
import { badRequest } from './errors.js';
import { objectAt, stringAt, type JsonObject } from './json.js';
import { resourceType } from './resources.js';
import type { ObjectStore } from './store.js';

/** 10.96.0.1 is the `kubernetes` service's; the rest of the /12 is handed out at random. */
export const kubernetesServiceIp = '10.96.0.1';

function ipOf(offset: number): string {
  const base = (10 << 24) | (96 << 16);
  const value = (base + offset) >>> 0;
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}

function inServiceRange(ip: string): boolean {
  const parts = ip.split('.').map(Number);
  return parts.length === 4 && parts[0] === 10 && (parts[1] ?? 0) >= 96 && (parts[1] ?? 0) < 112 && parts.every((part) => part >= 0 && part < 256);
}

/**
 * Gives a service without a cluster IP a free one (a requested one is checked), and fills
 * `clusterIPs`. Headless services (`None`) and ExternalName services get none.
 */
export function allocateClusterIp(service: JsonObject, store: ObjectStore, random: Random): void {
  const spec = objectAt(service, 'spec');
  if (spec === undefined || spec.type === 'ExternalName') return;
  const used = new Set(store.list(resourceType('services')).map((other) => stringAt(objectAt(other, 'spec'), 'clusterIP') ?? ''));
  let ip = stringAt(spec, 'clusterIP') ?? '';
  if (ip === 'None') {
    spec.clusterIPs = ['None'];
    return;
  }
  if (ip !== '') {
    if (!inServiceRange(ip)) throw badRequest(`spec.clusterIPs: Invalid value: ["${ip}"]: failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is 10.96.0.0/12`);
    if (used.has(ip)) throw badRequest(`spec.clusterIPs: Invalid value: ["${ip}"]: failed to allocate IP ${ip}: provided IP is already allocated`);
  } else {
    do ip = ipOf(2 + random.int((1 << 20) - 3));
    while (used.has(ip));
  }
  spec.clusterIP = ip;
  spec.clusterIPs = [ip];
  if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer') && Array.isArray(spec.ports)) {
    for (const port of spec.ports) {
      if (typeof port === 'object' && port !== null && !Array.isArray(port) && !(Number(port.nodePort) > 0)) {
        port.nodePort = 30000 + random.int(2768);
      }
    }
  }
}
