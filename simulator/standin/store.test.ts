import { describe, expect, it } from 'vitest';
import { MemoryLogger } from '../../core/logger.js';
import { MemoryStorage, MemoryStorageData } from '../../crdt/memory-storage.js';
import type { Storage } from '../../crdt/storage.js';
import { ApiError } from './errors.js';
import type { JsonObject } from './json.js';
import { resourceType } from './resources.js';
import { ObjectStore, type StoreEvent } from './store.js';
import { podManifest, testStandin } from './test-client.js';

const configMaps = resourceType('configmaps');

function configMap(name: string, value: string): JsonObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { value } };
}

async function put(store: ObjectStore, name: string, value: string): Promise<JsonObject | undefined> {
  return store.transact(configMaps, 'default', name, () => ({ put: configMap(name, value) }));
}

describe('object store', () => {
  it('gives every write the next resource version and tells subscribers', async () => {
    const store = new ObjectStore({ logger: new MemoryLogger() });
    const events: StoreEvent[] = [];
    store.subscribe((event) => events.push(event));
    await put(store, 'a', '1');
    await put(store, 'a', '2');
    await store.transact(configMaps, 'default', 'a', () => ({ delete: true }));
    expect(events.map((event) => [event.type, event.resourceVersion])).toEqual([
      ['ADDED', 1],
      ['MODIFIED', 2],
      ['DELETED', 3],
    ]);
    expect(events[1]?.previous?.data).toEqual({ value: '1' });
    expect(store.resourceVersion).toBe(3);
    expect(store.changesSince(1).map((event) => event.type)).toEqual(['MODIFIED', 'DELETED']);
  });

  it('runs transactions one at a time, so read-modify-write never loses an update', async () => {
    const store = new ObjectStore({ logger: new MemoryLogger() });
    await put(store, 'counter', '0');
    await Promise.all(
      Array.from({ length: 20 }, () =>
        store.transact(configMaps, 'default', 'counter', (current) => {
          const value = Number((current?.data as JsonObject).value);
          return { put: configMap('counter', String(value + 1)) };
        }),
      ),
    );
    expect(store.get(configMaps, 'default', 'counter')?.data).toEqual({ value: '20' });
  });

  it('answers 410 Expired for versions older than its history', async () => {
    const store = new ObjectStore({ logger: new MemoryLogger(), historySize: 2 });
    for (const value of ['1', '2', '3', '4']) await put(store, 'a', value);
    expect(store.changesSince(2)).toHaveLength(2);
    expect(() => store.changesSince(1)).toThrow('too old resource version: 1 (2)');
  });

  it('persists objects and the version, and reloads them after a restart', async () => {
    const data = new MemoryStorageData();
    const first = new ObjectStore({ logger: new MemoryLogger(), storage: new MemoryStorage(data) });
    await first.load();
    await put(first, 'a', '1');
    await put(first, 'b', '2');
    await first.transact(configMaps, 'default', 'b', () => ({ delete: true }));
    const second = new ObjectStore({ logger: new MemoryLogger(), storage: new MemoryStorage(data) });
    await second.load();
    expect(second.resourceVersion).toBe(3);
    expect(second.list(configMaps).map((object) => (object.metadata as JsonObject).name)).toEqual(['a']);
    expect(() => second.changesSince(2)).toThrow(ApiError);
    expect((await put(second, 'c', '3'))?.metadata).toMatchObject({ resourceVersion: '4' });
  });

  it('keeps its state when the storage fails, and answers 500', async () => {
    const broken: Storage = Object.assign(new MemoryStorage(), { batch: () => Promise.reject(new Error('disk full')) });
    const logger = new MemoryLogger();
    const store = new ObjectStore({ logger, storage: broken });
    await expect(put(store, 'a', '1')).rejects.toMatchObject({ code: 500, reason: 'InternalError' });
    expect(store.get(configMaps, 'default', 'a')).toBeUndefined();
    expect(store.resourceVersion).toBe(0);
    expect(logger.find('storage write failed')).toHaveLength(1);
  });
});

describe('stand-in state across restarts', () => {
  it('comes back with its objects, uids and resource versions', async () => {
    const data = new MemoryStorageData();
    const before = await testStandin({ storage: new MemoryStorage(data) });
    const created = await before.request('POST', '/api/v1/namespaces/default/pods', podManifest('p'));
    const list = await before.request('GET', '/api/v1/pods');
    const version = Number((list.body.metadata as JsonObject).resourceVersion);
    await before.standin.close();
    const after = await testStandin({ storage: new MemoryStorage(data), seed: 2 });
    const pod = await after.request('GET', '/api/v1/namespaces/default/pods/p');
    expect((pod.body.metadata as JsonObject).uid).toBe((created.body.metadata as JsonObject).uid);
    const namespaces = (await after.request('GET', '/api/v1/namespaces')).body;
    expect((namespaces.items as JsonObject[]).map((item) => (item.metadata as JsonObject).name)).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system']);
    const next = await after.request('POST', '/api/v1/namespaces/default/configmaps', configMap('c', 'x'));
    expect(Number((next.body.metadata as JsonObject).resourceVersion)).toBeGreaterThan(version);
  });
});
