import { describe, expect, it } from 'vitest';
import { formatResourceKey } from '../../core/ids.js';
import { classifyKubernetesRequest, type KubernetesResourceCall } from './classify.js';
import {
  kubernetesServiceName, normalizeKubernetesService, resourceForKind, resourceKeyOfCall, resourceKeyOfObject,
} from './resource-key.js';

function call(method: string, path: string): KubernetesResourceCall {
  const classified = classifyKubernetesRequest({ method, path });
  if (classified.kind !== 'resource') throw new Error(`not a resource call: ${path}`);
  return classified;
}

describe('kubernetesServiceName', () => {
  it('is the plural for built-in groups, plural.group for custom resources', () => {
    expect(kubernetesServiceName('', 'pods')).toBe('pods');
    expect(kubernetesServiceName('apps', 'deployments')).toBe('deployments');
    expect(kubernetesServiceName('extensions', 'deployments')).toBe('deployments');
    expect(kubernetesServiceName('networking.k8s.io', 'ingresses')).toBe('ingresses');
    expect(kubernetesServiceName('cert-manager.io', 'certificates')).toBe('certificates.cert-manager.io');
    // A group under k8s.io that is not built in (a CRD from a SIG) is still a custom resource.
    expect(kubernetesServiceName('gateway.networking.k8s.io', 'gateways')).toBe('gateways.gateway.networking.k8s.io');
  });
});

describe('resourceKeyOfCall', () => {
  it('names namespaced, cluster-scoped and namespace objects', () => {
    expect(resourceKeyOfCall(call('GET', '/api/v1/namespaces/default/pods/purple'))).toEqual({ app: 'kubernetes', service: 'pods', namespace: 'default', name: 'purple' });
    expect(resourceKeyOfCall(call('GET', '/api/v1/nodes/n1'))).toEqual({ app: 'kubernetes', service: 'nodes', name: 'n1' });
    expect(resourceKeyOfCall(call('DELETE', '/api/v1/namespaces/foo'))).toEqual({ app: 'kubernetes', service: 'namespaces', name: 'foo' });
  });

  it('gives the same key whatever the group version or subresource', () => {
    const keys = [
      call('GET', '/apis/apps/v1/namespaces/a/deployments/d'),
      call('GET', '/apis/apps/v1beta2/namespaces/a/deployments/d'),
      call('GET', '/apis/extensions/v1beta1/namespaces/a/deployments/d'),
      call('PATCH', '/apis/apps/v1/namespaces/a/deployments/d/scale'),
    ].map((c) => formatResourceKey(resourceKeyOfCall(c) ?? { app: '', service: '', name: '' }));
    expect(new Set(keys)).toEqual(new Set(['kubernetes:deployments/a/d']));
  });

  it('takes a create\'s name from the body, and has no key for lists or generated names', () => {
    const create = call('POST', '/api/v1/namespaces/a/secrets');
    expect(resourceKeyOfCall(create, 's1')).toEqual({ app: 'kubernetes', service: 'secrets', namespace: 'a', name: 's1' });
    expect(resourceKeyOfCall(create)).toBeUndefined();
    expect(resourceKeyOfCall(call('GET', '/api/v1/namespaces/a/pods'), 'ignored')).toBeUndefined();
  });

  it('names the one object a name-selected watch follows', () => {
    const watch = classifyKubernetesRequest({ method: 'GET', path: '/api/v1/namespaces/a/pods', query: 'fieldSelector=metadata.name%3Dp&watch=1' });
    expect(watch.kind === 'resource' && resourceKeyOfCall(watch)).toEqual({ app: 'kubernetes', service: 'pods', namespace: 'a', name: 'p' });
  });
});

describe('resourceKeyOfObject', () => {
  it('reads apiVersion, kind and metadata, with the request namespace as fallback', () => {
    expect(resourceKeyOfObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } }, 'ns1'))
      .toEqual({ app: 'kubernetes', service: 'deployments', namespace: 'ns1', name: 'd' });
    expect(resourceKeyOfObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'mine' } }, 'ns1'))
      .toEqual({ app: 'kubernetes', service: 'pods', namespace: 'mine', name: 'p' });
    expect(resourceKeyOfObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'foo' } }, 'ns1'))
      .toEqual({ app: 'kubernetes', service: 'namespaces', name: 'foo' });
    expect(resourceKeyOfObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }, 'ns1'))
      .toEqual({ app: 'kubernetes', service: 'widgets.example.com', namespace: 'ns1', name: 'w' });
    expect(resourceKeyOfObject({ kind: 'Pod' })).toBeUndefined();
    expect(resourceKeyOfObject(null)).toBeUndefined();
  });

  it('guesses custom plurals as apimachinery does, but for a vowel before y', () => {
    expect(resourceForKind('example.com', 'Policy')).toBe('policies');
    expect(resourceForKind('example.com', 'Gateway')).toBe('gateways');
    expect(resourceForKind('example.com', 'Ingress')).toBe('ingresses');
    expect(resourceForKind('', 'Endpoints')).toBe('endpoints');
    expect(resourceForKind('example.com', 'MyEndpoints')).toBe('myendpoints');
    expect(resourceForKind('example.com', 'Widget')).toBe('widgets');
  });
});

describe('normalizeKubernetesService', () => {
  it('maps what users write in a scope to service names', () => {
    expect(['po', 'pod', 'pods', 'Pods'].map(normalizeKubernetesService)).toEqual(['pods', 'pods', 'pods', 'pods']);
    expect(['deploy', 'deployment', 'deployments.apps'].map(normalizeKubernetesService)).toEqual(['deployments', 'deployments', 'deployments']);
    expect(normalizeKubernetesService('ns')).toBe('namespaces');
    expect(normalizeKubernetesService('certificates.cert-manager.io')).toBe('certificates.cert-manager.io');
  });
});
