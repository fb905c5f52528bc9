import { describe, expect, it } from 'vitest';
import { formatResourceKey } from '../../core/ids.js';
import type { Dependency } from '../types.js';
import { isOwnedChild, listKubernetesDependencies } from './dependencies.js';

function summary(dependencies: readonly Dependency[]): string[] {
  return dependencies.map((d) => `${d.kind} ${formatResourceKey(d.key)}${d.optional ? ' optional' : ''}`).sort();
}

const podSpec = {
  serviceAccountName: 'robot',
  imagePullSecrets: [{ name: 'registry' }],
  containers: [{
    name: 'main', image: 'nginx',
    env: [
      { name: 'A', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'a' } } },
      { name: 'B', valueFrom: { configMapKeyRef: { name: 'env-map', key: 'b', optional: true } } },
      { name: 'C', value: 'plain' },
    ],
    envFrom: [{ secretRef: { name: 'bulk-secret' } }, { configMapRef: { name: 'bulk-map' } }],
  }],
  initContainers: [{ name: 'init', image: 'busybox', envFrom: [{ configMapRef: { name: 'init-map' } }] }],
  volumes: [
    { name: 'v1', secret: { secretName: 'vol-secret' } },
    { name: 'v2', configMap: { name: 'vol-map' } },
    { name: 'v3', persistentVolumeClaim: { claimName: 'data' } },
    { name: 'v4', projected: { sources: [{ secret: { name: 'proj-secret' } }, { configMap: { name: 'kube-root-ca.crt' } }] } },
    { name: 'v5', csi: { driver: 'x', nodePublishSecretRef: { name: 'csi-secret' } } },
    { name: 'v6', emptyDir: {} },
  ],
};

const expectedPodDependencies = [
  'composition kubernetes:namespaces/shop',
  'reliance kubernetes:configmaps/shop/bulk-map',
  'reliance kubernetes:configmaps/shop/env-map optional',
  'reliance kubernetes:configmaps/shop/init-map',
  'reliance kubernetes:configmaps/shop/vol-map',
  'reliance kubernetes:persistentvolumeclaims/shop/data',
  'reliance kubernetes:secrets/shop/bulk-secret',
  'reliance kubernetes:secrets/shop/csi-secret',
  'reliance kubernetes:secrets/shop/env-secret',
  'reliance kubernetes:secrets/shop/proj-secret',
  'reliance kubernetes:secrets/shop/vol-secret',
  'reliance kubernetes:serviceaccounts/shop/robot',
  'requirement kubernetes:secrets/shop/registry',
];

describe('listKubernetesDependencies', () => {
  it('lists a pod\'s requirement, reliances and namespace', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' }, spec: podSpec };
    expect(summary(listKubernetesDependencies(pod))).toEqual(expectedPodDependencies);
  });

  it('lists the same for the pod template of every workload', () => {
    const template = { metadata: { labels: { app: 'a' } }, spec: podSpec };
    const workloads = [
      { apiVersion: 'apps/v1', kind: 'Deployment', spec: { template } },
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', spec: { template } },
      { apiVersion: 'apps/v1', kind: 'StatefulSet', spec: { template } },
      { apiVersion: 'apps/v1', kind: 'DaemonSet', spec: { template } },
      { apiVersion: 'batch/v1', kind: 'Job', spec: { template } },
      { apiVersion: 'batch/v1', kind: 'CronJob', spec: { jobTemplate: { spec: { template } } } },
    ];
    for (const workload of workloads) {
      const body = { ...workload, metadata: { name: 'w', namespace: 'shop' } };
      expect(summary(listKubernetesDependencies(body)), workload.kind).toEqual(expectedPodDependencies);
    }
  });

  it('says where each reference sits', () => {
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'shop' }, spec: { template: { spec: podSpec } } };
    const vias = listKubernetesDependencies(deployment).map((d) => d.via);
    expect(vias).toContain('spec.template.spec.imagePullSecrets[0]');
    expect(vias).toContain('spec.template.spec.volumes[0].secret');
    expect(vias).toContain('spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef');
  });

  it('uses the request namespace when the body has none, else default', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { volumes: [{ name: 'v', secret: { secretName: 's' } }] } };
    expect(summary(listKubernetesDependencies(pod, { namespace: 'ns1' }))).toEqual(['composition kubernetes:namespaces/ns1', 'reliance kubernetes:secrets/ns1/s']);
    expect(summary(listKubernetesDependencies(pod))).toEqual(['composition kubernetes:namespaces/default', 'reliance kubernetes:secrets/default/s']);
  });

  it('lists owners as composition, and keeps one entry per dependency', () => {
    const pod = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'web-abc', namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8', uid: 'u', controller: true }] },
      spec: {
        imagePullSecrets: [{ name: 'same' }],
        volumes: [{ name: 'a', secret: { secretName: 'same', optional: true } }, { name: 'b', secret: { secretName: 'same' } }],
      },
    };
    expect(summary(listKubernetesDependencies(pod))).toEqual([
      'composition kubernetes:namespaces/shop',
      'composition kubernetes:replicasets/shop/web-5d8',
      'reliance kubernetes:secrets/shop/same',
    ]);
    expect(isOwnedChild(pod)).toBe(true);
    expect(isOwnedChild({ metadata: { name: 'x', namespace: 'shop' } })).toBe(false);
  });

  it('skips what every site makes for itself: the default service account, kube-root-ca.crt', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a' }, spec: { serviceAccountName: 'default', volumes: [{ name: 'v', configMap: { name: 'kube-root-ca.crt' } }] } };
    expect(summary(listKubernetesDependencies(pod))).toEqual(['composition kubernetes:namespaces/a']);
  });

  it('lists ingress secrets and services, and a binding\'s role', () => {
    const ingress = {
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'i', namespace: 'a' },
      spec: { tls: [{ secretName: 'tls' }], rules: [{ http: { paths: [{ backend: { service: { name: 'web' } } }] } }] },
    };
    expect(summary(listKubernetesDependencies(ingress))).toEqual([
      'composition kubernetes:namespaces/a', 'reliance kubernetes:secrets/a/tls', 'reliance kubernetes:services/a/web',
    ]);
    const binding = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'b', namespace: 'a' }, roleRef: { kind: 'ClusterRole', name: 'view' } };
    expect(summary(listKubernetesDependencies(binding))).toEqual(['composition kubernetes:namespaces/a', 'reliance kubernetes:clusterroles/view']);
    const clusterBinding = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'b' }, roleRef: { kind: 'ClusterRole', name: 'admin' } };
    expect(summary(listKubernetesDependencies(clusterBinding, { namespace: 'ignored' }))).toEqual(['reliance kubernetes:clusterroles/admin']);
  });

  it('gives a namespace and cluster-scoped objects no namespace dependency', () => {
    expect(listKubernetesDependencies({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'foo' } }, { namespace: 'foo' })).toEqual([]);
    expect(listKubernetesDependencies({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' } })).toEqual([]);
  });

  it('never throws on bodies of the wrong shape', () => {
    for (const body of [null, 3, 'x', [], {}, { spec: 'nonsense' }, { apiVersion: 'v1', kind: 'Pod', spec: { volumes: 'x', containers: [null, 3] } }]) {
      expect(() => listKubernetesDependencies(body)).not.toThrow();
    }
  });
});
