import { describe, expect, it } from 'vitest';
import { isJsonObject, objectAt, objectsAt, stringAt } from './json.js';
import { podManifest, testStandin } from './test-client.js';

const table = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

describe('stand-in API: discovery and OpenAPI', () => {
  it('serves /version and both forms of discovery', async () => {
    const { request } = await testStandin();
    expect((await request('GET', '/version')).body.gitVersion).toBe('v1.32.4');
    const aggregated = await request('GET', '/apis', undefined, {
      accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
    });
    expect(aggregated.headers.get('content-type')).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const apps = objectsAt(aggregated.body, 'items')[0];
    expect(objectAt(apps, 'metadata')?.name).toBe('apps');
    const legacy = await request('GET', '/api/v1');
    const names = objectsAt(legacy.body, 'resources').map((resource) => resource.name);
    expect(names).toEqual(expect.arrayContaining(['pods', 'pods/status', 'namespaces', 'secrets', 'configmaps', 'services', 'serviceaccounts']));
    const scale = objectsAt((await request('GET', '/apis/apps/v1')).body, 'resources').find((resource) => resource.name === 'deployments/scale');
    expect(scale).toMatchObject({ group: 'autoscaling', version: 'v1', kind: 'Scale' });
  });

  it('publishes OpenAPI v3 that tells kubectl to validate on the server and how to merge', async () => {
    const { request } = await testStandin();
    const root = await request('GET', '/openapi/v3');
    const url = stringAt(objectAt(objectAt(root.body, 'paths'), 'api/v1'), 'serverRelativeURL') ?? '';
    expect(url).toMatch(/^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]+$/);
    const document = (await request('GET', url)).body;
    const item = objectAt(objectAt(document, 'paths'), '/api/v1/namespaces/{namespace}/pods/{name}');
    const patch = objectAt(item, 'patch');
    expect(patch?.['x-kubernetes-group-version-kind']).toEqual({ group: '', version: 'v1', kind: 'Pod' });
    expect(objectsAt(patch, 'parameters').map((parameter) => parameter.name)).toContain('fieldValidation');
    expect(Object.keys(objectAt(objectAt(patch, 'requestBody'), 'content') ?? {})).toContain('application/strategic-merge-patch+json');
    const podSpec = objectAt(objectAt(objectAt(document, 'components'), 'schemas'), 'io.k8s.api.core.v1.PodSpec');
    expect(objectAt(objectAt(podSpec, 'properties'), 'containers')).toMatchObject({
      'x-kubernetes-patch-merge-key': 'name',
      'x-kubernetes-patch-strategy': 'merge',
    });
  });
});

describe('stand-in API: objects', () => {
  it('creates, reads and lists pods as a real server does', async () => {
    const { request } = await testStandin();
    const created = await request('POST', '/api/v1/namespaces/default/pods', podManifest('web', { app: 'web' }));
    expect(created.status).toBe(201);
    expect(objectAt(created.body, 'metadata')).toMatchObject({ name: 'web', namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z' });
    const pod = (await request('GET', '/api/v1/namespaces/default/pods/web')).body;
    expect(objectAt(pod, 'status')).toMatchObject({ phase: 'Running', podIP: expect.stringMatching(/^10\.244\./) as unknown });
    expect(objectAt(pod, 'spec')).toMatchObject({ nodeName: 'site1-control-plane', restartPolicy: 'Always', dnsPolicy: 'ClusterFirst' });
    const list = (await request('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).body;
    expect(list.kind).toBe('PodList');
    expect(objectsAt(list, 'items')).toHaveLength(1);
    expect(objectsAt(list, 'items')[0]?.kind).toBeUndefined();
    expect(objectsAt((await request('GET', '/api/v1/pods?labelSelector=app!%3Dweb')).body, 'items')).toHaveLength(0);
  });

  it('pages lists with limit and continue', async () => {
    const { request } = await testStandin();
    for (const name of ['a', 'b', 'c']) await request('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
    const first = (await request('GET', '/api/v1/namespaces/default/configmaps?limit=2')).body;
    expect(objectsAt(first, 'items').map((item) => objectAt(item, 'metadata')?.name)).toEqual(['a', 'b']);
    expect(objectAt(first, 'metadata')).toMatchObject({ remainingItemCount: 1, continue: expect.any(String) as unknown });
    const token = encodeURIComponent(stringAt(objectAt(first, 'metadata'), 'continue') ?? '');
    const second = (await request('GET', `/api/v1/namespaces/default/configmaps?limit=2&continue=${token}`)).body;
    expect(objectsAt(second, 'items').map((item) => objectAt(item, 'metadata')?.name)).toEqual(['c']);
    expect(objectAt(second, 'metadata')?.continue).toBeUndefined();
    expect((await request('GET', '/api/v1/namespaces/default/configmaps?limit=2&continue=garbage')).status).toBe(400);
  });

  it('answers tables with the columns kubectl prints', async () => {
    const { request, clock } = await testStandin();
    await request('POST', '/api/v1/namespaces/default/pods', podManifest('web'));
    clock.advance(90_000);
    const answer = (await request('GET', '/api/v1/namespaces/default/pods', undefined, { accept: table })).body;
    expect(answer.kind).toBe('Table');
    expect(objectsAt(answer, 'columnDefinitions').slice(0, 5).map((column) => column.name)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age']);
    expect(objectsAt(answer, 'rows')[0]?.cells).toEqual(['web', '1/1', 'Running', 0, '90s', expect.any(String), 'site1-control-plane', '<none>', '<none>']);
  });

  it('refuses what a real server refuses, with Status objects', async () => {
    const { request } = await testStandin();
    const missing = await request('GET', '/api/v1/namespaces/default/pods/x');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'pods "x" not found', details: { name: 'x', kind: 'pods' } });
    expect((await request('POST', '/api/v1/namespaces/nowhere/pods', podManifest('a'))).body.message).toBe('namespaces "nowhere" not found');
    await request('POST', '/api/v1/namespaces/default/pods', podManifest('a'));
    const duplicate = await request('POST', '/api/v1/namespaces/default/pods', podManifest('a'));
    expect([duplicate.status, duplicate.body.reason]).toEqual([409, 'AlreadyExists']);
    const invalid = await request('POST', '/api/v1/namespaces/default/pods', { ...podManifest('Bad_Name'), spec: { containers: [] } });
    expect(invalid.status).toBe(422);
    expect(objectsAt(objectAt(invalid.body, 'details'), 'causes').map((cause) => cause.field)).toEqual(['metadata.name', 'spec.containers']);
    const stale = await request('PUT', '/api/v1/namespaces/default/pods/a', { ...podManifest('a'), metadata: { name: 'a', resourceVersion: '1' } });
    expect([stale.status, stale.body.reason]).toEqual([409, 'Conflict']);
    const unknownResource = await request('GET', '/api/v1/namespaces/default/widgets');
    expect([unknownResource.status, unknownResource.body.reason]).toEqual([404, 'NotFound']);
    expect((await request('POST', '/api/v1/namespaces/default/pods/a', podManifest('a'))).status).toBe(405);
    expect((await request('DELETE', '/api/v1/namespaces')).status).toBe(405);
  });

  it('validates fields as asked: Strict fails, Warn warns, Ignore drops', async () => {
    const { request } = await testStandin();
    const body = { ...podManifest('p'), spec: { containers: [{ name: 'a', image: 'x', imagePullPolicyX: 'Always' }] } };
    const strict = await request('POST', '/api/v1/namespaces/default/pods?fieldValidation=Strict', body);
    expect(strict.status).toBe(400);
    expect(strict.body.message).toBe('Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].imagePullPolicyX"');
    const warned = await request('POST', '/api/v1/namespaces/default/pods', body);
    expect(warned.status).toBe(201);
    expect(warned.headers.get('warning')).toBe('299 - "unknown field \\"spec.containers[0].imagePullPolicyX\\""');
    const typed = await request('POST', '/api/v1/namespaces/default/pods', { ...podManifest('q'), spec: { containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 'eighty' }] }] } });
    expect(typed.body.message).toContain('cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32');
  });

  it('patches with merge, strategic merge and JSON patches, and server-side apply', async () => {
    const { request } = await testStandin();
    await request('POST', '/api/v1/namespaces/default/pods', podManifest('p', { a: '1' }));
    const merge = await request('PATCH', '/api/v1/namespaces/default/pods/p', { metadata: { labels: { b: '2', a: null } } }, { 'content-type': 'application/merge-patch+json' });
    expect(objectAt(objectAt(merge.body, 'metadata'), 'labels')).toEqual({ b: '2' });
    const strategic = await request(
      'PATCH',
      '/api/v1/namespaces/default/pods/p',
      { spec: { containers: [{ name: 'app', image: 'nginx:1.28' }] } },
      { 'content-type': 'application/strategic-merge-patch+json' },
    );
    expect(objectsAt(objectAt(strategic.body, 'spec'), 'containers')).toMatchObject([{ name: 'app', image: 'nginx:1.28', imagePullPolicy: 'IfNotPresent' }]);
    const json = await request('PATCH', '/api/v1/namespaces/default/pods/p', [{ op: 'add', path: '/metadata/annotations', value: { x: 'y' } }], {
      'content-type': 'application/json-patch+json',
    });
    expect(objectAt(objectAt(json.body, 'metadata'), 'annotations')).toEqual({ x: 'y' });
    // Server-side apply, without field ownership (patch/apply-patch.ts): merged into the object, or makes it.
    const applyType = { 'content-type': 'application/apply-patch+yaml' };
    const applied = (name: string, labels: string): string => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  labels:\n    ${labels}\nspec:\n  containers:\n  - name: app\n    image: nginx:1.28\n`;
    const unmanaged = await request('PATCH', '/api/v1/namespaces/default/pods/p', applied('p', 'c: "3"'), applyType);
    expect([unmanaged.status, unmanaged.body.reason, unmanaged.body.message]).toEqual([422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch']);
    const apply = await request('PATCH', '/api/v1/namespaces/default/pods/p?fieldManager=kubectl', applied('p', 'c: "3"'), applyType);
    expect(apply.status).toBe(200);
    expect(objectAt(objectAt(apply.body, 'metadata'), 'labels')).toEqual({ b: '2', c: '3' });
    const made = await request('PATCH', '/api/v1/namespaces/default/pods/q?fieldManager=kubectl&force=true', applied('q', 'd: "4"'), applyType);
    expect(made.status).toBe(201);
    expect(objectAt(objectAt(made.body, 'metadata'), 'labels')).toEqual({ d: '4' });
    const misnamed = await request('PATCH', '/api/v1/namespaces/default/pods/r?fieldManager=kubectl', applied('q', 'd: "4"'), applyType);
    expect([misnamed.status, misnamed.body.message]).toEqual([400, 'the name of the object (q) does not match the name on the URL (r)']);
    const malformed = await request('PATCH', '/api/v1/namespaces/default/pods/p?fieldManager=kubectl', 'metadata: [', applyType);
    expect(malformed.status).toBe(400);
    const immutable = await request('PATCH', '/api/v1/namespaces/default/pods/p', { spec: { restartPolicy: 'Never' } }, { 'content-type': 'application/merge-patch+json' });
    expect([immutable.status, immutable.body.reason]).toEqual([422, 'Invalid']);
  });

  it('deletes pods gracefully and namespaces through Terminating', async () => {
    const { request } = await testStandin();
    await request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    await request('POST', '/api/v1/namespaces/team/pods', podManifest('p'));
    const deleted = await request('DELETE', '/api/v1/namespaces/team/pods/p', { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' });
    expect(deleted.status).toBe(200);
    expect(objectAt(deleted.body, 'metadata')?.deletionTimestamp).toBeDefined();
    expect((await request('GET', '/api/v1/namespaces/team/pods/p')).status).toBe(404);
    await request('POST', '/api/v1/namespaces/team/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } });
    const namespace = await request('DELETE', '/api/v1/namespaces/team');
    expect(objectAt(namespace.body, 'status')?.phase).toBe('Terminating');
    expect((await request('GET', '/api/v1/namespaces/team')).status).toBe(404);
    expect((await request('GET', '/api/v1/namespaces/team/configmaps/c')).status).toBe(404);
    expect((await request('DELETE', '/api/v1/namespaces/default')).status).toBe(403);
  });

  it('keeps secrets write-only stringData as data', async () => {
    const { request } = await testStandin();
    const secret = await request('POST', '/api/v1/namespaces/default/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { user: 'admin' } });
    expect(secret.body).toMatchObject({ type: 'Opaque', data: { user: 'YWRtaW4=' } });
    expect(secret.body.stringData).toBeUndefined();
  });
});

describe('stand-in API: bad input never crashes it', () => {
  it('answers malformed bodies with 400 and unknown formats with 415', async () => {
    const { request, logger } = await testStandin();
    const json = await request('POST', '/api/v1/namespaces/default/pods', '{"kind": "Pod", ', { 'content-type': 'application/json' });
    expect([json.status, json.body.reason]).toEqual([400, 'BadRequest']);
    const yaml = await request('POST', '/api/v1/namespaces/default/pods', 'a: [b', { 'content-type': 'application/yaml' });
    expect(yaml.status).toBe(400);
    const protobuf = await request('POST', '/api/v1/namespaces/default/pods', Uint8Array.of(0x6b, 0x38, 0x73, 0x00, 0x0a, 0xff), {
      'content-type': 'application/vnd.kubernetes.protobuf',
    });
    expect(protobuf.status).toBe(400);
    const notAnObject = await request('POST', '/api/v1/namespaces/default/pods', '[1,2]', { 'content-type': 'application/json' });
    expect(notAnObject.status).toBe(400);
    const other = await request('POST', '/api/v1/namespaces/default/pods', 'x', { 'content-type': 'text/csv' });
    expect([other.status, other.body.reason]).toEqual([415, 'UnsupportedMediaType']);
    const selector = await request('GET', '/api/v1/pods?labelSelector=a%20b');
    expect([selector.status, selector.body.message]).toEqual([400, "found 'b', expected: in, notin, =, ==, !=, gt, lt"]);
    const field = await request('GET', '/api/v1/pods?fieldSelector=spec.foo%3Dbar');
    expect(field.body.message).toBe('field label not supported: spec.foo');
    expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
  });

  it('survives random bodies on every verb', async () => {
    const { request, logger } = await testStandin();
    let seed = 11;
    const byte = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff;
    const types = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json'];
    for (let round = 0; round < 60; round++) {
      const body = Uint8Array.from({ length: 4 + (round % 40) }, byte);
      if (round % 3 === 0) body.set([0x6b, 0x38, 0x73, 0x00]);
      const contentType = types[round % types.length] ?? 'application/json';
      for (const [method, path] of [
        ['POST', '/api/v1/namespaces/default/pods'],
        ['PUT', '/api/v1/namespaces/default/pods/p'],
        ['PATCH', '/api/v1/namespaces/default/services/kubernetes'],
        ['DELETE', '/api/v1/namespaces/default/services/nothing'],
      ] as const) {
        const answer = await request(method, path, body, { 'content-type': contentType });
        expect(answer.status).toBeGreaterThanOrEqual(400);
        expect(answer.status).toBeLessThan(500);
        expect(isJsonObject(answer.body) && answer.body.kind).toBe('Status');
      }
    }
    expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
  });
});
