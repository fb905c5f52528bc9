import { describe, expect, it } from 'vitest';
import { objectAt, objectsAt, stringAt, type JsonObject } from '../json.js';
import { controllerOf, nameOf, uidOf } from '../object-meta.js';
import { deploymentManifest, testStandin, type TestStandin } from '../test-client.js';
import { podTemplateHash } from './deployment-controller.js';

const deployments = '/apis/apps/v1/namespaces/default/deployments';

async function items(client: TestStandin, path: string): Promise<JsonObject[]> {
  return objectsAt((await client.request('GET', path)).body, 'items');
}

async function names(client: TestStandin, path: string): Promise<string[]> {
  return (await items(client, path)).map(nameOf);
}

describe('deployment and replica set controllers', () => {
  it('create a replica set and its pods, owned, and report the deployment ready', async () => {
    const client = await testStandin();
    const deployment = (await client.request('POST', deployments, deploymentManifest('web', 2))).body;
    const [replicaSet] = await items(client, '/apis/apps/v1/namespaces/default/replicasets');
    const hash = podTemplateHash(objectAt(objectAt(deployment, 'spec'), 'template') ?? {});
    expect(nameOf(replicaSet ?? {})).toBe(`web-${hash}`);
    expect(controllerOf(replicaSet ?? {})).toMatchObject({ kind: 'Deployment', name: 'web', uid: uidOf(deployment), blockOwnerDeletion: true });
    const pods = await items(client, '/api/v1/namespaces/default/pods');
    expect(pods.map(nameOf)).toEqual([expect.stringMatching(new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`)), expect.any(String)]);
    expect(pods.every((pod) => controllerOf(pod)?.uid === uidOf(replicaSet ?? {}))).toBe(true);
    expect(objectAt(pods[0], 'metadata')?.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    const status = objectAt((await client.request('GET', `${deployments}/web`)).body, 'status');
    expect(status).toMatchObject({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 });
    const table = (await client.request('GET', deployments, undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' })).body;
    expect(objectsAt(table, 'rows')[0]?.cells).toEqual(['web', '2/2', 2, 2, '0s', 'app', 'nginx:1.27', 'app=web']);
  });

  it('scale through the scale subresource', async () => {
    const client = await testStandin();
    await client.request('POST', deployments, deploymentManifest('web', 1));
    const scale = (await client.request('GET', `${deployments}/web/scale`)).body;
    expect(scale).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 1 }, status: { replicas: 1, selector: 'app=web' } });
    await client.request('PATCH', `${deployments}/web/scale`, { spec: { replicas: 3 } }, { 'content-type': 'application/merge-patch+json' });
    expect(await names(client, '/api/v1/namespaces/default/pods')).toHaveLength(3);
    const stale = await client.request('PUT', `${deployments}/web/scale`, { ...scale, spec: { replicas: 2 } });
    expect([stale.status, stale.body.reason]).toEqual([409, 'Conflict']);
    const fresh = (await client.request('GET', `${deployments}/web/scale`)).body;
    expect((await client.request('PUT', `${deployments}/web/scale`, { ...fresh, spec: { replicas: 0 } })).status).toBe(200);
    expect(await names(client, '/api/v1/namespaces/default/pods')).toHaveLength(0);
  });

  it('roll a new template out to a new replica set and scale the old one down', async () => {
    const client = await testStandin();
    await client.request('POST', deployments, deploymentManifest('web', 2, 'nginx:1'));
    await client.request('PUT', `${deployments}/web`, deploymentManifest('web', 2, 'nginx:2'));
    const replicaSets = await items(client, '/apis/apps/v1/namespaces/default/replicasets');
    const replicas = replicaSets.map((set) => [stringAt(objectAt(objectAt(set, 'metadata'), 'annotations'), 'deployment.kubernetes.io/revision'), objectAt(set, 'spec')?.replicas]);
    expect(replicas.sort()).toEqual([
      ['1', 0],
      ['2', 2],
    ]);
    const pods = await items(client, '/api/v1/namespaces/default/pods');
    expect(pods.map((pod) => objectsAt(objectAt(pod, 'spec'), 'containers')[0]?.image)).toEqual(['nginx:2', 'nginx:2']);
    const deployment = (await client.request('GET', `${deployments}/web`)).body;
    expect(objectAt(deployment, 'metadata')).toMatchObject({ generation: 2 });
    expect(objectAt(deployment, 'status')).toMatchObject({ observedGeneration: 2, updatedReplicas: 2, availableReplicas: 2 });
  });
});

describe('endpoints controller', () => {
  it('lists the ready pods of a service, and goes with it', async () => {
    const client = await testStandin();
    await client.request('POST', deployments, deploymentManifest('web', 2));
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } };
    await client.request('POST', '/api/v1/namespaces/default/services', service);
    const endpoints = (await client.request('GET', '/api/v1/namespaces/default/endpoints/web')).body;
    const [subset] = objectsAt(endpoints, 'subsets');
    expect(objectsAt(subset, 'addresses').map((address) => objectAt(address, 'targetRef')?.kind)).toEqual(['Pod', 'Pod']);
    expect(objectsAt(subset, 'ports')).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    await client.request('DELETE', '/api/v1/namespaces/default/services/web');
    expect((await client.request('GET', '/api/v1/namespaces/default/endpoints/web')).status).toBe(404);
    expect(await names(client, '/api/v1/namespaces/default/endpoints')).toEqual(['kubernetes']);
  });
});

describe('garbage collection', () => {
  async function withDeployment(): Promise<TestStandin> {
    const client = await testStandin();
    await client.request('POST', deployments, deploymentManifest('web', 2));
    return client;
  }

  it('deletes dependents after their owner (Background)', async () => {
    const client = await withDeployment();
    await client.request('DELETE', `${deployments}/web`, { propagationPolicy: 'Background' });
    expect(await names(client, '/apis/apps/v1/namespaces/default/replicasets')).toEqual([]);
    expect(await names(client, '/api/v1/namespaces/default/pods')).toEqual([]);
  });

  it('keeps the owner until its dependents are gone (Foreground)', async () => {
    const client = await withDeployment();
    const answer = await client.request('DELETE', `${deployments}/web`, { propagationPolicy: 'Foreground' });
    expect(objectAt(answer.body, 'metadata')).toMatchObject({ finalizers: ['foregroundDeletion'], deletionTimestamp: expect.any(String) as unknown });
    expect((await client.request('GET', `${deployments}/web`)).status).toBe(404);
    expect(await names(client, '/api/v1/namespaces/default/pods')).toEqual([]);
  });

  it('releases dependents (Orphan)', async () => {
    const client = await withDeployment();
    await client.request('DELETE', `${deployments}/web`, { propagationPolicy: 'Orphan' });
    const [replicaSet] = await items(client, '/apis/apps/v1/namespaces/default/replicasets');
    expect(objectAt(replicaSet, 'metadata')?.ownerReferences).toBeUndefined();
    expect(await names(client, '/api/v1/namespaces/default/pods')).toHaveLength(2);
  });
});

describe('determinism', () => {
  it('makes the same uids from the same seed and different ones per site', async () => {
    const uidsOf = async (seed: number): Promise<string[]> => {
      const client = await testStandin({ seed });
      await client.request('POST', deployments, deploymentManifest('web', 2));
      return (await items(client, '/api/v1/namespaces/default/pods')).map((pod) => `${nameOf(pod)} ${uidOf(pod)}`);
    };
    expect(await uidsOf(7)).toEqual(await uidsOf(7));
    expect(await uidsOf(7)).not.toEqual(await uidsOf(8));
  });
});
