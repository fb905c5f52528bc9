import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyKubernetesRequest, deleteOptionsDryRun, type KubernetesCall, type KubernetesRequest } from './classify.js';
import { parseFieldSelector, requiredFieldValue } from './field-selector.js';

function classify(method: string, path: string, extra: Partial<KubernetesRequest> = {}): KubernetesCall {
  return classifyKubernetesRequest({ method, path, ...extra });
}

function resource(method: string, path: string, extra: Partial<KubernetesRequest> = {}) {
  const call = classify(method, path, extra);
  if (call.kind !== 'resource') throw new Error(`expected a resource call for ${method} ${path}, got ${JSON.stringify(call)}`);
  return call;
}

describe('classifyKubernetesRequest: verbs', () => {
  it.each([
    ['GET', '/api/v1/namespaces/default/pods/x', 'get'],
    ['HEAD', '/api/v1/namespaces/default/pods/x', 'get'],
    ['GET', '/api/v1/namespaces/default/pods', 'list'],
    ['POST', '/api/v1/namespaces/default/pods', 'create'],
    ['PUT', '/api/v1/namespaces/default/pods/x', 'update'],
    ['PATCH', '/api/v1/namespaces/default/pods/x', 'patch'],
    ['DELETE', '/api/v1/namespaces/default/pods/x', 'delete'],
    ['DELETE', '/api/v1/namespaces/default/pods', 'deletecollection'],
    ['get', '/api/v1/namespaces/default/pods/x', 'get'],
  ])('%s %s is %s', (method, path, verb) => {
    expect(resource(method, path).verb).toBe(verb);
  });

  it.each([
    ['watch=true', 'watch'], ['watch=1', 'watch'], ['watch=TRUE', 'watch'], ['watch=', 'watch'], ['watch=yes', 'watch'],
    ['watch=false', 'list'], ['watch=False', 'list'], ['watch=0', 'list'], ['limit=500', 'list'],
  ])('a collection GET with ?%s is %s (Go reads any value but 0 and false as true)', (query, verb) => {
    const call = resource('GET', '/api/v1/namespaces/default/pods', { query });
    expect(call.verb).toBe(verb);
    expect(call.watch).toBe(verb === 'watch');
    expect(call.longRunning).toBe(verb === 'watch');
  });

  it('keeps get for a named GET even with ?watch=true, as the API server does', () => {
    expect(resource('GET', '/api/v1/namespaces/default/pods/x', { query: 'watch=true' }).verb).toBe('get');
  });

  it('reads legacy /watch/ paths, collection and named', () => {
    expect(resource('GET', '/api/v1/watch/pods')).toMatchObject({ verb: 'watch', resource: 'pods', legacyWatchPath: true, watch: true });
    expect(resource('GET', '/api/v1/watch/namespaces/ns1/pods/p')).toMatchObject({ verb: 'watch', namespace: 'ns1', name: 'p' });
    expect(resource('GET', '/apis/apps/v1/watch/namespaces/ns1/deployments')).toMatchObject({ verb: 'watch', group: 'apps', namespace: 'ns1' });
    expect(resource('GET', '/api/v1/watch/namespaces/foo')).toMatchObject({ verb: 'watch', resource: 'namespaces', name: 'foo' });
    expect(resource('GET', '/api/v1/watch/namespaces/foo')).not.toHaveProperty('namespace');
  });

  it('takes the name of a list or watch from a metadata.name field selector', () => {
    expect(resource('GET', '/api/v1/namespaces/y/pods', { query: 'fieldSelector=metadata.name%3Dx&watch=true' }).name).toBe('x');
    expect(resource('GET', '/api/v1/namespaces/y/pods', { query: 'fieldSelector=metadata.name%3D%3Dx' }).name).toBe('x');
    expect(resource('GET', '/api/v1/namespaces/y/pods', { query: 'fieldSelector=metadata.name!%3Dx' }).name).toBeUndefined();
    expect(resource('GET', '/api/v1/namespaces/y/pods', { query: 'fieldSelector=status.phase%3DRunning' }).name).toBeUndefined();
    expect(resource('GET', '/api/v1/namespaces/y/pods', { query: 'fieldSelector=metadata.name%3D..' }).name).toBeUndefined();
  });

  it('keeps deletecollection for a DELETE narrowed by a field selector (only reads resolve the name)', () => {
    const call = resource('DELETE', '/api/v1/namespaces/y/pods', { query: 'fieldSelector=metadata.name%3Dx&labelSelector=a%3Db' });
    expect(call).toMatchObject({ verb: 'deletecollection', labelSelector: 'a=b', fieldSelector: 'metadata.name=x' });
    expect(call.name).toBeUndefined();
  });

  it('reads the deprecated proxy path verb, with no subresource', () => {
    const call = resource('GET', '/api/v1/proxy/namespaces/ns/pods/p/some/path');
    expect(call).toMatchObject({ verb: 'proxy', resource: 'pods', name: 'p', subpath: ['some', 'path'], longRunning: true });
    expect(call.subresource).toBeUndefined();
  });
});

describe('classifyKubernetesRequest: resources, groups, scopes', () => {
  it('reads core and named groups', () => {
    expect(resource('GET', '/api/v1/namespaces/a/secrets/s')).toMatchObject({ group: '', version: 'v1', resource: 'secrets', namespace: 'a', name: 's' });
    expect(resource('GET', '/apis/apps/v1/namespaces/a/deployments/d')).toMatchObject({ group: 'apps', version: 'v1', resource: 'deployments' });
    expect(resource('GET', '/apis/cert-manager.io/v1/namespaces/a/certificates')).toMatchObject({ group: 'cert-manager.io', verb: 'list' });
  });

  it('reads cluster-scoped resources and lists across all namespaces with no namespace', () => {
    expect(resource('GET', '/api/v1/nodes/n1')).toMatchObject({ resource: 'nodes', name: 'n1' });
    expect(resource('GET', '/api/v1/nodes/n1')).not.toHaveProperty('namespace');
    expect(resource('GET', '/api/v1/pods')).not.toHaveProperty('namespace');
    expect(resource('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/admin')).toMatchObject({ name: 'admin' });
  });

  it('treats /api/v1/namespaces/foo as the cluster-scoped namespace object, and its subresources', () => {
    expect(resource('DELETE', '/api/v1/namespaces/foo')).toMatchObject({ verb: 'delete', resource: 'namespaces', name: 'foo' });
    expect(resource('DELETE', '/api/v1/namespaces/foo')).not.toHaveProperty('namespace');
    expect(resource('PUT', '/api/v1/namespaces/foo/finalize')).toMatchObject({ resource: 'namespaces', name: 'foo', subresource: 'finalize' });
    expect(resource('GET', '/api/v1/namespaces/foo/status')).toMatchObject({ resource: 'namespaces', name: 'foo', subresource: 'status' });
    expect(resource('GET', '/api/v1/namespaces/foo/pods')).toMatchObject({ resource: 'pods', namespace: 'foo', verb: 'list' });
  });

  it('reads subresources and marks the long-running ones', () => {
    expect(resource('PUT', '/apis/apps/v1/namespaces/a/deployments/d/scale')).toMatchObject({ subresource: 'scale', longRunning: false });
    expect(resource('GET', '/api/v1/namespaces/a/pods/p/log', { query: 'follow=true' })).toMatchObject({ subresource: 'log', longRunning: true });
    for (const sub of ['exec', 'attach', 'portforward']) expect(resource('POST', `/api/v1/namespaces/a/pods/p/${sub}`).longRunning).toBe(true);
    expect(resource('POST', '/api/v1/namespaces/a/pods/p/eviction')).toMatchObject({ verb: 'create', subresource: 'eviction', longRunning: false });
    expect(resource('GET', '/api/v1/namespaces/a/services/s/proxy/x/y')).toMatchObject({ subresource: 'proxy', subpath: ['x', 'y'] });
  });

  it('reads the patch format from the content type', () => {
    const patch = (contentType: string) => resource('PATCH', '/api/v1/namespaces/a/pods/p', { contentType }).patchType;
    expect(patch('application/json-patch+json')).toBe('json');
    expect(patch('application/merge-patch+json; charset=utf-8')).toBe('merge');
    expect(patch('application/strategic-merge-patch+json')).toBe('strategic-merge');
    expect(patch('application/apply-patch+yaml')).toBe('apply');
    expect(patch('text/plain')).toBe('unknown');
    expect(resource('PUT', '/api/v1/namespaces/a/pods/p', { contentType: 'application/json' })).not.toHaveProperty('patchType');
  });

  it('sees a dry run in the query, and in a DELETE body', () => {
    expect(resource('POST', '/api/v1/namespaces', { query: 'dryRun=All' }).dryRun).toBe(true);
    expect(resource('POST', '/api/v1/namespaces').dryRun).toBe(false);
    expect(deleteOptionsDryRun({ propagationPolicy: 'Background', dryRun: ['All'] })).toBe(true);
    expect(deleteOptionsDryRun({ propagationPolicy: 'Background' })).toBe(false);
    expect(deleteOptionsDryRun('nonsense')).toBe(false);
  });

  it('accepts the query in the path, as a string or as URLSearchParams', () => {
    expect(resource('GET', '/api/v1/pods?watch=1').verb).toBe('watch');
    expect(resource('GET', '/api/v1/pods', { query: new URLSearchParams({ watch: 'true' }) }).verb).toBe('watch');
    expect(resource('GET', '/api/v1/pods?watch=1', { query: '' }).verb).toBe('list');
  });

  it('decodes percent-encoded segments and ignores a trailing slash', () => {
    expect(resource('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Aadmin').name).toBe('system:admin');
    expect(resource('GET', '/api/v1/namespaces/a/pods/').verb).toBe('list');
  });
});

describe('classifyKubernetesRequest: non-resource paths', () => {
  it.each([
    ['/version', { kind: 'version' }],
    ['/api', { kind: 'discovery', legacy: true }],
    ['/api/v1', { kind: 'discovery', legacy: true, group: '', version: 'v1' }],
    ['/apis', { kind: 'discovery', legacy: false }],
    ['/apis/apps', { kind: 'discovery', group: 'apps' }],
    ['/apis/apps/v1/', { kind: 'discovery', group: 'apps', version: 'v1' }],
    ['/openapi/v2', { kind: 'openapi', openApiVersion: 'v2' }],
    ['/openapi/v3', { kind: 'openapi', openApiVersion: 'v3' }],
    ['/openapi/v3/apis/apps/v1', { kind: 'openapi', openApiVersion: 'v3', documentPath: 'apis/apps/v1' }],
    ['/swagger.json', { kind: 'openapi', openApiVersion: 'v2' }],
    ['/healthz', { kind: 'health', endpoint: 'healthz' }],
    ['/readyz/etcd', { kind: 'health', endpoint: 'readyz', check: 'etcd' }],
    ['/livez', { kind: 'health', endpoint: 'livez' }],
    ['/metrics', { kind: 'other' }],
    ['/', { kind: 'other' }],
    ['/version/extra', { kind: 'other' }],
    ['/metrics%zz', { kind: 'other' }],
    ['/apiserver', { kind: 'other' }],
  ])('%s', (path, expected) => {
    expect(classify('GET', path)).toMatchObject({ method: 'GET', path, ...expected });
  });
});

describe('classifyKubernetesRequest: malformed requests are typed, not thrown', () => {
  it.each([
    ['GET', '/api/v1/watch', 'malformed-path'],
    ['GET', '/api/v1/namespaces//pods', 'malformed-path'],
    ['GET', '/api/v1/namespaces/a/Pods', 'malformed-path'],
    ['GET', '/apis/Apps/v1/deployments', 'malformed-path'],
    ['GET', '/api/v1/namespaces/a/pods/%zz', 'malformed-path'],
    ['GET', '/api/v1/namespaces/Bad_NS/pods', 'invalid-namespace'],
    ['GET', '/api/v1/namespaces/a/pods/a%2Fb', 'invalid-name'],
    ['GET', '/api/v1/namespaces/a/pods/..', 'invalid-name'],
    ['GET', '/api/v1/namespaces/a/pods/a%25b', 'invalid-name'],
    ['OPTIONS', '/api/v1/namespaces/a/pods', 'unsupported-method'],
    ['GET', '/api/V1', 'malformed-path'],
  ])('%s %s is invalid (%s)', (method, path, reason) => {
    expect(classify(method, path)).toMatchObject({ kind: 'invalid', reason });
  });

  it('never throws, whatever the method, path and query', () => {
    const segment = fc.oneof(fc.constantFrom('api', 'apis', 'v1', 'namespaces', 'watch', 'proxy', 'pods', 'status', '', '..', '%', '%2F'), fc.string());
    fc.assert(fc.property(
      fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'BREW', ''),
      fc.array(segment, { maxLength: 8 }),
      fc.string(),
      (method, segments, query) => {
        const call = classifyKubernetesRequest({ method, path: `/${segments.join('/')}`, query });
        expect(['resource', 'discovery', 'version', 'openapi', 'health', 'other', 'invalid']).toContain(call.kind);
      },
    ), { numRuns: 2000 });
  });
});

describe('field selectors', () => {
  it('parses terms and operators as apimachinery does', () => {
    const parsed = parseFieldSelector('metadata.name=a,status.phase!=Running,spec.x==y');
    expect(parsed).toEqual({ ok: true, terms: expect.arrayContaining([
      { field: 'metadata.name', operator: '=', value: 'a' },
      { field: 'status.phase', operator: '!=', value: 'Running' },
      { field: 'spec.x', operator: '==', value: 'y' },
    ]) as unknown });
  });

  it('unescapes values and refuses bad escapes and bare separators', () => {
    const parsed = parseFieldSelector('metadata.name=a\\,b\\=c\\\\d');
    expect(parsed.ok && requiredFieldValue(parsed.terms, 'metadata.name')).toBe('a,b=c\\d');
    expect(parseFieldSelector('metadata.name=a\\b').ok).toBe(false);
    expect(parseFieldSelector('metadata.name=a=b').ok).toBe(false);
    expect(parseFieldSelector('nonsense').ok).toBe(false);
    expect(parseFieldSelector('')).toEqual({ ok: true, terms: [] });
  });
});
