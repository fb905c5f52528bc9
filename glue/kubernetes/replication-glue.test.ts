import { describe, expect, it } from 'vitest';
import { asSiteName } from '../../core/ids.js';
import { kubernetesReplicationGlue as glue } from './replication-glue.js';

const key = { app: 'kubernetes', service: 'pods', namespace: 'default', name: 'purple' };
const request = (method: string, path: string, query = '', contentType?: string) => glue.classify({ method, path, query, contentType });

describe('the Kubernetes replication glue', () => {
  it('classifies writes, reads and what replication leaves alone', () => {
    expect(request('POST', '/api/v1/namespaces/default/pods')).toEqual({ kind: 'write', op: 'create', service: 'pods', namespace: 'default' });
    expect(request('PATCH', '/api/v1/namespaces/default/pods/purple', '', 'application/merge-patch+json')).toEqual({ kind: 'write', op: 'patch', service: 'pods', namespace: 'default', key });
    expect(request('PUT', '/apis/apps/v1/namespaces/foo/deployments/web')).toMatchObject({ kind: 'write', op: 'update', key: { service: 'deployments', namespace: 'foo', name: 'web' } });
    expect(request('DELETE', '/api/v1/namespaces/foo')).toEqual({ kind: 'write', op: 'delete', service: 'namespaces', key: { app: 'kubernetes', service: 'namespaces', name: 'foo' } });
    expect(request('GET', '/api/v1/namespaces/default/pods/purple')).toEqual({ kind: 'read', service: 'pods', key });
    for (const [method, path, query] of [
      ['GET', '/api/v1/namespaces/default/pods', ''],
      ['GET', '/api/v1/namespaces/default/pods', 'watch=true'],
      ['PATCH', '/apis/apps/v1/namespaces/default/deployments/web/scale', 'dryRun=All'],
      ['GET', '/apis/apps/v1/namespaces/default/deployments/web/scale', ''],
      ['PUT', '/api/v1/namespaces/default/pods/purple/status', ''],
      ['POST', '/api/v1/namespaces/default/pods', 'dryRun=All'],
      ['DELETE', '/api/v1/namespaces/default/pods', ''],
      ['GET', '/version', ''],
    ] as const) {
      expect(request(method, path, query).kind, `${method} ${path}?${query}`).toBe('other');
    }
    // A scale changes the object's spec: a write of the object, read back whole after it.
    expect(request('PATCH', '/apis/apps/v1/namespaces/default/deployments/web/scale', '', 'application/merge-patch+json')).toEqual({
      kind: 'write', op: 'patch', service: 'deployments', namespace: 'default', key: { app: 'kubernetes', service: 'deployments', namespace: 'default', name: 'web' },
      readBack: '/apis/apps/v1/namespaces/default/deployments/web',
    });
    expect(request('PUT', '/apis/apps/v1/namespaces/default/deployments/web/scale')).toMatchObject({ kind: 'write', op: 'update', readBack: '/apis/apps/v1/namespaces/default/deployments/web' });
    expect(glue.isDryRunBody({ dryRun: ['All'] })).toBe(true);
    // What it leaves alone still names its service, for a read's scope to bind: lists, watches, subresources.
    expect(request('GET', '/api/v1/namespaces/default/secrets', 'watch=true')).toEqual({ kind: 'other', service: 'secrets', namespace: 'default', watch: true });
    expect(request('GET', '/api/v1/namespaces/default/pods/purple/log')).toEqual({ kind: 'other', service: 'pods', namespace: 'default' });
    expect(request('GET', '/apis/cert-manager.io/v1/certificates')).toEqual({ kind: 'other', service: 'certificates.cert-manager.io', list: true });
    expect(request('GET', '/version')).toEqual({ kind: 'other' });
  });

  it('merges the lists and watches of several sites: a SITE column in tables, items one after the other, one version for all', () => {
    const site1 = asSiteName('Site1');
    const site2 = asSiteName('Site2');
    expect(request('GET', '/api/v1/namespaces/default/pods', 'limit=500')).toEqual({ kind: 'other', service: 'pods', namespace: 'default', list: true });
    expect(request('GET', '/api/v1/namespaces/default/pods', 'watch=1')).toEqual({ kind: 'other', service: 'pods', namespace: 'default', watch: true });
    // Whole lists: the sites' pages cannot be merged.
    expect(glue.memberTarget('/api/v1/pods?limit=500&labelSelector=a%3Db&continue=x', site1)).toBe('/api/v1/pods?labelSelector=a%3Db');
    expect(glue.memberTarget('/api/v1/pods?limit=500', site1)).toBe('/api/v1/pods');
    const table = (names: string[], version: string, columns = [{ name: 'Name' }]): unknown => ({
      kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: version, continue: 'c' }, columnDefinitions: columns, rows: names.map((name) => ({ cells: [name] })),
    });
    const merged = glue.mergeLists([{ site: site1, body: table(['a'], '7') }, { site: site2, body: table(['b', 'c'], '40') }]);
    expect(merged).toMatchObject({
      kind: 'Table', columnDefinitions: [{ name: 'Site' }, { name: 'Name' }], rows: [{ cells: ['Site1', 'a'] }, { cells: ['Site2', 'b'] }, { cells: ['Site2', 'c'] }],
    });
    // One version naming each site's: a watch from it asks each site from its own.
    const version = String((merged?.metadata as { resourceVersion: string }).resourceVersion);
    expect(glue.memberTarget(`/api/v1/pods?watch=1&resourceVersion=${version}`, site1)).toBe('/api/v1/pods?watch=1&resourceVersion=7');
    expect(glue.memberTarget(`/api/v1/pods?watch=1&resourceVersion=${version}`, site2)).toBe('/api/v1/pods?watch=1&resourceVersion=40');
    // A version the merge did not make is no site's; 0 (any) stays.
    expect(glue.memberTarget('/api/v1/pods?watch=1&resourceVersion=7', site1)).toBe('/api/v1/pods?watch=1');
    expect(glue.memberTarget('/api/v1/pods?resourceVersion=0', site1)).toBe('/api/v1/pods?resourceVersion=0');
    const list = (names: string[], version = ''): unknown => ({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: version }, items: names.map((name) => ({ metadata: { name } })) });
    expect(glue.mergeLists([{ site: site1, body: list(['a']) }, { site: site2, body: list(['b']) }])).toEqual({
      kind: 'PodList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }],
    });
    // Different kinds, or not lists: not merged.
    expect(glue.mergeLists([{ site: site1, body: list(['a']) }, { site: site2, body: table(['b'], '1') }])).toBeUndefined();
    expect(glue.mergeLists([{ site: site1, body: { kind: 'Pod', apiVersion: 'v1' } }])).toBeUndefined();
    expect(glue.mergeLists([{ site: site1, body: 'garbage' }])).toBeUndefined();
    // A watch: the site's cell in every row, the columns on the first event the client gets only, no bookmarks.
    const event = (columns: unknown[]): unknown => ({ type: 'ADDED', object: { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: {}, columnDefinitions: columns, rows: [{ cells: ['a'] }] } });
    expect(glue.watchEvent(site2, event([{ name: 'Name' }]), false)).toMatchObject({
      headers: true, event: { type: 'ADDED', object: { columnDefinitions: [{ name: 'Site' }, { name: 'Name' }], rows: [{ cells: ['Site2', 'a'] }] } },
    });
    expect(glue.watchEvent(site1, event([{ name: 'Name' }]), true)).toMatchObject({ headers: false, event: { object: { columnDefinitions: [], rows: [{ cells: ['Site1', 'a'] }] } } });
    expect(glue.watchEvent(site1, { type: 'BOOKMARK', object: { kind: 'Pod', metadata: { resourceVersion: '9' } } }, true)).toBeUndefined();
    const plain = { type: 'MODIFIED', object: { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'a' } } };
    expect(glue.watchEvent(site1, plain, false)).toEqual({ event: plain, headers: false });
    expect(glue.watchEvent(site1, undefined, false)).toBeUndefined();
  });

  it('names a created object by the path it was created on', () => {
    const call = { kind: 'write', op: 'create', service: 'pods', namespace: 'default' } as const;
    expect(glue.keyOfObject({ metadata: { name: 'purple', namespace: 'default' } }, call)).toEqual(key);
    expect(glue.keyOfObject({ metadata: { generateName: 'x-' } }, call)).toBeUndefined();
  });

  it('builds the requests of the reconciler, and refuses desired states that point elsewhere', () => {
    const body = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'purple' } };
    expect(glue.objectRequest('get', key, body)).toEqual({ method: 'GET', path: '/api/v1/namespaces/default/pods/purple' });
    expect(glue.objectRequest('create', key, body)).toEqual({ method: 'POST', path: '/api/v1/namespaces/default/pods', body });
    expect(glue.objectRequest('delete', key, body)?.body).toMatchObject({ propagationPolicy: 'Background' });
    expect(glue.objectRequest('delete', key, body)?.body).not.toHaveProperty('preconditions');
    // What the user's delete asked done with what the object owns, as every site must do it; a peer's nonsense is not sent.
    expect(glue.objectRequest('delete', key, body, 'Orphan')?.body).toMatchObject({ propagationPolicy: 'Orphan' });
    expect(glue.objectRequest('delete', key, body, 'Everything')?.body).toMatchObject({ propagationPolicy: 'Background' });
    expect(glue.deletePropagation('', { kind: 'DeleteOptions', propagationPolicy: 'Orphan' })).toBe('Orphan');
    expect(glue.deletePropagation('propagationPolicy=Foreground', undefined)).toBe('Foreground');
    expect(glue.deletePropagation('', { orphanDependents: true })).toBe('Orphan');
    expect(glue.deletePropagation('', { propagationPolicy: 'Sideways' })).toBeUndefined();
    expect(glue.deletePropagation('', undefined)).toBeUndefined();
    // An object as the application answered it: that very object, not one made since under the name.
    expect(glue.objectRequest('delete', key, { ...body, metadata: { name: 'purple', uid: 'u-1' } })?.body).toMatchObject({ preconditions: { uid: 'u-1' } });
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } };
    expect(glue.objectRequest('replace', { ...key, service: 'deployments', name: 'web' }, deployment)?.path).toBe('/apis/apps/v1/namespaces/default/deployments/web');
    expect(glue.objectRequest('get', { app: 'kubernetes', service: 'namespaces', name: 'foo' }, { apiVersion: 'v1', kind: 'Namespace' })?.path).toBe('/api/v1/namespaces/foo');
    expect(glue.objectRequest('get', key, { ...body, apiVersion: '../../x/v1' })).toBeUndefined();
    expect(glue.objectRequest('get', { ...key, name: '../secrets/s' }, { apiVersion: 'v1' })).toBeUndefined();
    expect(glue.objectRequest('get', key, { ...body, metadata: { name: 'other' } })).toBeUndefined();
    expect(glue.objectRequest('get', key, { kind: 'Pod' })).toBeUndefined();
  });

  it('keeps site-local fields out of the desired state, and puts the local ones back', () => {
    const local = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'purple', uid: 'u1', resourceVersion: '7', labels: { a: '1' } }, spec: { nodeName: 'n1', containers: [] }, status: { phase: 'Running' } };
    const canonical = glue.canonical(local, key);
    expect(canonical).toEqual({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'purple', labels: { a: '1' } }, spec: { containers: [] } });
    const desired = { ...canonical, metadata: { name: 'purple', labels: { a: '2' } } };
    expect(glue.merge(desired, local, key)).toMatchObject({ metadata: { uid: 'u1', resourceVersion: '7', labels: { a: '2' } }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } });
    expect(glue.localId(local)).toBe('u1');
    expect(glue.isTerminating(local)).toBe(false);
    expect(glue.isTerminating({ ...local, metadata: { ...local.metadata, deletionTimestamp: '2026-11-22T10:05:00Z' } })).toBe(true);
    expect(glue.errorMessage(422, { kind: 'Status', message: 'bad' })).toBe('bad');
    expect(glue.errorMessage(500, 'oops')).toBe('the application answered HTTP 500');
  });
});
