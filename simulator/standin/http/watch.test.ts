import { describe, expect, it } from 'vitest';
import { objectAt, objectsAt, stringAt, type JsonObject } from '../json.js';
import { podManifest, testStandin, type TestStandin } from '../test-client.js';

interface Watch {
  readonly status: number;
  next(count: number): Promise<JsonObject[]>;
  ended(): Promise<boolean>;
}

async function watch(client: TestStandin, path: string, headers: Record<string, string> = {}): Promise<Watch> {
  const response = await client.standin.fetch(new Request(`http://standin.test${path}`, { headers }));
  const reader = response.body?.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    status: response.status,
    async next(count: number): Promise<JsonObject[]> {
      const events: JsonObject[] = [];
      while (events.length < count && reader !== undefined) {
        const newline = buffer.indexOf('\n');
        if (newline >= 0) {
          events.push(JSON.parse(buffer.slice(0, newline)) as JsonObject);
          buffer = buffer.slice(newline + 1);
          continue;
        }
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value as Uint8Array);
      }
      return events;
    },
    async ended(): Promise<boolean> {
      return (await reader?.read())?.done ?? true;
    },
  };
}

function summary(events: JsonObject[]): string[] {
  return events.map((event) => `${stringAt(event, 'type') ?? ''} ${stringAt(objectAt(objectAt(event, 'object'), 'metadata'), 'name') ?? ''}`);
}

describe('watch', () => {
  it('starts with the current state, then streams changes', async () => {
    const client = await testStandin();
    await client.request('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } });
    const stream = await watch(client, '/api/v1/namespaces/default/configmaps?watch=true');
    expect(stream.status).toBe(200);
    expect(summary(await stream.next(1))).toEqual(['ADDED a']);
    await client.request('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' } });
    await client.request('PATCH', '/api/v1/namespaces/default/configmaps/a', { data: { x: 'y' } }, { 'content-type': 'application/merge-patch+json' });
    await client.request('DELETE', '/api/v1/namespaces/default/configmaps/b');
    expect(summary(await stream.next(3))).toEqual(['ADDED b', 'MODIFIED a', 'DELETED b']);
    await client.standin.close();
    expect(await stream.ended()).toBe(true);
  });

  it('replays from a resource version, and refuses one too old', async () => {
    const client = await testStandin({ watchHistorySize: 3 });
    const list = (await client.request('GET', '/api/v1/namespaces/default/configmaps')).body;
    const version = stringAt(objectAt(list, 'metadata'), 'resourceVersion') ?? '';
    for (const name of ['a', 'b']) await client.request('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
    const stream = await watch(client, `/api/v1/watch/namespaces/default/configmaps?resourceVersion=${version}`);
    expect(summary(await stream.next(2))).toEqual(['ADDED a', 'ADDED b']);
    for (const name of ['c', 'd', 'e']) await client.request('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
    const old = await client.request('GET', `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${version}`);
    expect([old.status, old.body.reason]).toEqual([410, 'Expired']);
  });

  it('reports objects leaving a selector as DELETED and entering it as ADDED', async () => {
    const client = await testStandin();
    await client.request('POST', '/api/v1/namespaces/default/pods', podManifest('p', { app: 'web' }));
    const stream = await watch(client, '/api/v1/namespaces/default/pods?watch=true&labelSelector=app%3Dweb');
    expect(summary(await stream.next(1))).toEqual(['ADDED p']);
    const relabel = (app: string): Promise<unknown> =>
      client.request('PATCH', '/api/v1/namespaces/default/pods/p', { metadata: { labels: { app } } }, { 'content-type': 'application/merge-patch+json' });
    await relabel('db');
    await relabel('web');
    expect(summary(await stream.next(2))).toEqual(['DELETED p', 'ADDED p']);
  });

  it('ends initial events with a bookmark when sendInitialEvents is set', async () => {
    const client = await testStandin();
    const path = '/api/v1/namespaces?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true';
    const events = await (await watch(client, path)).next(5);
    expect(events.map((event) => event.type)).toEqual(['ADDED', 'ADDED', 'ADDED', 'ADDED', 'BOOKMARK']);
    expect(objectAt(objectAt(events[4], 'object'), 'metadata')?.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
    const refused = await client.request('GET', '/api/v1/namespaces?watch=true&sendInitialEvents=true');
    expect([refused.status, refused.body.reason]).toEqual([422, 'Invalid']);
  });

  it('sends tables with headers once, and ends at timeoutSeconds', async () => {
    const client = await testStandin();
    const stream = await watch(client, '/api/v1/namespaces?watch=true&timeoutSeconds=30', { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    const [first, second] = await stream.next(2);
    expect(objectAt(first, 'object')?.kind).toBe('Table');
    expect(objectsAt(objectAt(first, 'object'), 'columnDefinitions').map((column) => column.name)).toEqual(['Name', 'Status', 'Age']);
    expect(objectsAt(objectAt(second, 'object'), 'columnDefinitions')).toEqual([]);
    await stream.next(2);
    client.clock.advance(30_000);
    expect(await stream.ended()).toBe(true);
  });
});
