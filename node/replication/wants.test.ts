import { describe, expect, it } from 'vitest';
import { asSiteName } from '../../core/ids.js';
import { silentLogger } from '../../core/logger.js';
import { MemoryStorage } from '../../crdt/memory-storage.js';
import { metaIdOf } from '../../crdt/replicant.js';
import { kubernetesReplicationGlue } from '../../glue/kubernetes/index.js';
import { dependentText, KeyIndex, type IndexEntry } from './key-index.js';
import type { SitesPort } from './sites.js';
import { replicationWants } from './wants.js';

const testSites: SitesPort = {
  self: asSiteName('A'),
  names: () => [asSiteName('A'), asSiteName('B')],
  peerIdOf: () => undefined,
  httpOf: () => undefined,
  isUp: () => true,
  rttMs: () => undefined,
};

describe('the front filter of unscoped requests', () => {
  it('lets reads, lists, opaque creates and collection deletes on unreplicated resources keep the raw passthrough', async () => {
    const index = new KeyIndex(new MemoryStorage(), silentLogger);
    const wants = replicationWants({ glue: kubernetesReplicationGlue, index, sites: testSites });
    const headers = (type?: string) => new Headers(type === undefined ? {} : { 'content-type': type });
    const pod = '/api/v1/namespaces/default/pods/purple';
    expect(wants('GET', pod, headers())).toBe(false);
    expect(wants('POST', '/api/v1/namespaces', headers('application/vnd.kubernetes.protobuf'))).toBe(false);
    expect(wants('DELETE', '/api/v1/namespaces/default/pods', headers())).toBe(false);
    // A write of a named object takes its key's lock: a share may be reading the object.
    expect(wants('DELETE', pod, headers())).toBe(true);
    expect(wants('PUT', pod, headers('application/vnd.kubernetes.protobuf'))).toBe(true);
    // A JSON body may carry the scope annotation.
    expect(wants('POST', '/api/v1/namespaces/default/pods', headers('application/json'))).toBe(true);
    const key = { app: 'kubernetes', service: 'pods', namespace: 'default', name: 'purple' };
    await index.put({ metaId: metaIdOf(key, 0), key, incarnation: 0, scope: '{A & B}', sites: [asSiteName('A'), asSiteName('B')], deleted: false, conflicts: ['2-B-00000000'], reported: [], statuses: {} });
    expect(wants('DELETE', pod, headers())).toBe(true);
    expect(wants('PATCH', pod, headers('application/vnd.kubernetes.protobuf'))).toBe(true);
    expect(wants('GET', pod, headers())).toBe(true);
    expect(wants('GET', '/api/v1/namespaces/default/pods', headers())).toBe(false);
    expect(wants('OPTIONS', pod, headers())).toBe(false);
  });

  it("offers every request in a cross namespace, which takes the namespace's scope", async () => {
    const index = new KeyIndex(new MemoryStorage(), silentLogger, (key) => kubernetesReplicationGlue.spansSites(key.service));
    const wants = replicationWants({ glue: kubernetesReplicationGlue, index, sites: testSites });
    const headers = new Headers();
    const container = (name: string, scope: string): IndexEntry => {
      const key = kubernetesReplicationGlue.containerKey(name);
      return { metaId: metaIdOf(key, 0), key, incarnation: 0, scope, sites: [asSiteName('A'), asSiteName('B')], deleted: false, conflicts: [], reported: [], statuses: {} };
    };
    await index.put(container('replicated', '{A & B}'));
    expect(wants('GET', '/api/v1/namespaces/replicated/pods', headers)).toBe(false);
    await index.put(container('spread', '{A % B}'));
    expect(wants('GET', '/api/v1/namespaces/spread/pods', headers)).toBe(true);
    expect(wants('GET', '/api/v1/namespaces/spread/pods/blue/log', headers)).toBe(true);
    expect(wants('DELETE', '/api/v1/namespaces/spread/pods/blue', headers)).toBe(true);
    expect(wants('GET', '/api/v1/namespaces/default/pods', headers)).toBe(false);
    await index.put({ ...container('spread', '{A % B}'), deleted: true });
    expect(wants('GET', '/api/v1/namespaces/spread/pods', headers)).toBe(false);
  });

  it('offers the reads of a resource that relies on a shared one (it may be at risk, or lack it), and only those', async () => {
    const index = new KeyIndex(new MemoryStorage(), silentLogger);
    const wants = replicationWants({ glue: kubernetesReplicationGlue, index, sites: testSites });
    const headers = new Headers();
    const secret = { app: 'kubernetes', service: 'secrets', namespace: 'default', name: 'token' };
    const user = { app: 'kubernetes', service: 'pods', namespace: 'default', name: 'user' };
    await index.put({
      metaId: metaIdOf(secret, 0), key: secret, incarnation: 0, scope: '{B & A}', sites: [asSiteName('B'), asSiteName('A')], deleted: false, conflicts: [], reported: [],
      statuses: {}, dependents: [dependentText(asSiteName('A'), user)],
    });
    expect(wants('GET', '/api/v1/namespaces/default/pods/user', headers)).toBe(true);
    expect(wants('GET', '/api/v1/namespaces/default/pods/other', headers)).toBe(false);
    expect(wants('GET', '/api/v1/namespaces/default/pods', headers)).toBe(false);
    const protobuf = new Headers({ 'content-type': 'application/vnd.kubernetes.protobuf' });
    expect(wants('POST', '/api/v1/namespaces/default/secrets', protobuf)).toBe(false);
    // Deleted under it and not made again: the pod may lack it, and a create named only by its
    // answer (kubectl create secret) may make it again, which the pod's site is told.
    await index.put({ ...(index.byMetaId(metaIdOf(secret, 0)) as IndexEntry), deleted: true });
    expect(wants('GET', '/api/v1/namespaces/default/pods/user', headers)).toBe(true);
    expect(wants('GET', '/api/v1/namespaces/default/pods/other', headers)).toBe(false);
    expect(wants('POST', '/api/v1/namespaces/default/secrets', protobuf)).toBe(true);
    expect(index.deletedReliedIn('secrets', 'default')).toEqual([secret]);
    expect(index.deletedReliedIn('secrets', 'other')).toEqual([]);
    // Made again (a live incarnation): nothing to look for.
    const again = metaIdOf(secret, 1);
    await index.put({ metaId: again, key: secret, incarnation: 1, scope: '{B & A}', sites: [asSiteName('B'), asSiteName('A')], deleted: false, conflicts: [], reported: [], statuses: {} });
    expect(index.deletedReliedIn('secrets', 'default')).toEqual([]);
  });
});
