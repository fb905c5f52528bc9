import { describe, expect, it } from 'vitest';
import { asDocumentId, asMetaId, asSiteName } from '../../core/ids.js';
import type { Replicant } from '../../crdt/replicant.js';
import { appliedHereHeader, headerText, parseDurationMs, parseWait, relay, replicasHeader } from './http.js';

describe('Cheops headers', () => {
  it('parses X-Cheops-Wait and its timeout, refusing what it does not understand', () => {
    expect(parseWait({}, 30_000, 300_000)).toEqual({ all: false, timeoutMs: 30_000 });
    expect(parseWait({ 'x-cheops-wait': 'All' }, 30_000, 300_000)).toEqual({ all: true, timeoutMs: 30_000 });
    expect(parseWait({ 'x-cheops-wait': 'all', 'x-cheops-wait-timeout': '10s' }, 30_000, 300_000)).toEqual({ all: true, timeoutMs: 10_000 });
    expect(() => parseWait({ 'x-cheops-wait': 'one' }, 30_000, 300_000)).toThrow(/must be 'all'/);
    expect(() => parseWait({ 'x-cheops-wait': 'all', 'x-cheops-wait-timeout': '10m' }, 30_000, 300_000)).toThrow(/at most 300s/);
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('2')).toBe(2_000);
    expect(parseDurationMs('1.5m')).toBe(90_000);
    expect(parseDurationMs('soon')).toBeUndefined();
  });

  it('writes each site outcome, failures with their error quoted safely', () => {
    const replicant: Replicant = {
      docId: asDocumentId('res/x'), metaId: asMetaId('x'),
      meta: { key: { app: 'k', service: 'pods', name: 'p' }, collaboration: 'replication', scope: '{A & B & C}', sites: ['A', 'B', 'C'].map(asSiteName), origin: asSiteName('A'), incarnation: 0, createdAt: 0 },
      desired: { revision: '2-A-00000000', generation: 2, site: asSiteName('A'), at: 0, body: {} },
      deleted: false,
      dependents: [],
      claims: [],
      joined: [],
      replicas: {
        A: { status: 'applied', observedRevision: '2-A-00000000', observedGeneration: 2, updatedAt: 0 },
        B: { status: 'failed', observedRevision: '2-A-00000000', observedGeneration: 2, error: 'a "quoted"\nerror', updatedAt: 0 },
        C: { status: 'applied', observedRevision: '1-A-00000000', observedGeneration: 1, updatedAt: 0 },
      },
      conflicts: [],
    };
    expect(replicasHeader(replicant, '2-A-00000000', 2)).toBe(`A=applied, B=failed;error="a 'quoted' error", C=pending`);
    expect(headerText('x'.repeat(20), 10)).toBe('xxxxxxx...');
  });

  it('reports a create answered before its replicant is stored as the stored replicant will', () => {
    const sites = ['A', 'B', 'C'].map(asSiteName);
    const created: Replicant = {
      docId: asDocumentId('res/x'), metaId: asMetaId('x'),
      meta: { key: { app: 'k', service: 'pods', name: 'p' }, collaboration: 'replication', scope: '{A & B & C}', sites, origin: asSiteName('B'), incarnation: 1, createdAt: 0 },
      desired: { revision: '1-B-00000000', generation: 1, site: asSiteName('B'), at: 0, body: {} },
      deleted: false,
      dependents: [],
      claims: [],
      joined: [],
      replicas: { B: { status: 'applied', observedRevision: '1-B-00000000', observedGeneration: 1, updatedAt: 0 } },
      conflicts: [],
    };
    expect(appliedHereHeader(sites, asSiteName('B'))).toBe(replicasHeader(created, '1-B-00000000', 1));
    expect(appliedHereHeader(sites, asSiteName('B'))).toBe('A=pending, B=applied, C=pending');
  });

  it('relays an answer with its own length, without the headers that described the encoded body', async () => {
    const headers = new Headers({ 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': '99', connection: 'close', 'x-app': '1' });
    const response = relay({ status: 201, statusText: 'Created', headers, body: new TextEncoder().encode('{}') }, [['x-cheops-meta-id', 'm']]);
    expect(response.status).toBe(201);
    expect([...response.headers.keys()].sort()).toEqual(['content-length', 'content-type', 'x-app', 'x-cheops-meta-id']);
    expect(response.headers.get('content-length')).toBe('2');
    expect(await response.text()).toBe('{}');
    expect(relay({ status: 204, statusText: '', headers: new Headers(), body: new Uint8Array() }).body).toBeNull();
  });
});
