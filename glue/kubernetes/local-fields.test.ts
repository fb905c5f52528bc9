import { describe, expect, it } from 'vitest';
import { mergeSiteLocalFields, stripSiteLocalFields, takeScopeAnnotation } from './local-fields.js';

const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';

/** A pod as a site's API server returns it: server-made metadata, node, token volume, status. */
function sitePod(site: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'purple', namespace: 'default', uid: `uid-${site}`, resourceVersion: `rv-${site}`, generation: 1,
      creationTimestamp: '2026-11-22T10:00:00Z', selfLink: '/api/v1/namespaces/default/pods/purple',
      managedFields: [{ manager: 'kubectl', operation: 'Update' }],
      labels: { app: 'purple' },
      annotations: { [lastApplied]: '{"kind":"Pod"}', note: 'desired' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs1', uid: `rs-uid-${site}`, controller: true }],
    },
    spec: {
      nodeName: `node-${site}`,
      containers: [{ name: 'main', image: 'nginx', volumeMounts: [
        { name: 'creds', mountPath: '/creds' },
        { name: `kube-api-access-${site}`, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
      ] }],
      volumes: [
        { name: 'creds', secret: { secretName: 's1' } },
        { name: `kube-api-access-${site}`, projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
      ],
    },
    status: { phase: 'Running', podIP: `10.0.0.${site.length}` },
  };
}

describe('stripSiteLocalFields', () => {
  it('takes out what a site sets for itself and keeps the desired state', () => {
    const stripped = stripSiteLocalFields(sitePod('one'));
    expect(stripped).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'purple', namespace: 'default', labels: { app: 'purple' },
        annotations: { [lastApplied]: '{"kind":"Pod"}', note: 'desired' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs1', controller: true }],
      },
      spec: {
        containers: [{ name: 'main', image: 'nginx', volumeMounts: [{ name: 'creds', mountPath: '/creds' }] }],
        volumes: [{ name: 'creds', secret: { secretName: 's1' } }],
      },
    });
  });

  it('gives the same desired state from two sites\' copies of one object', () => {
    expect(stripSiteLocalFields(sitePod('one'))).toEqual(stripSiteLocalFields(sitePod('two')));
  });

  it('does not change its input, and returns non-objects as they are', () => {
    const pod = sitePod('one');
    const before = structuredClone(pod);
    stripSiteLocalFields(pod);
    expect(pod).toEqual(before);
    expect(stripSiteLocalFields('text')).toBe('text');
    expect(stripSiteLocalFields(null)).toBeNull();
  });

  it('strips a service\'s cluster IPs, a claim\'s volume, a job\'s generated selector', () => {
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ports: [{ port: 80 }] } };
    expect(stripSiteLocalFields(service).spec).toEqual({ ports: [{ port: 80 }] });
    const claim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c', annotations: { 'pv.kubernetes.io/bind-completed': 'yes' } }, spec: { volumeName: 'pv-1', resources: {} } };
    expect(stripSiteLocalFields(claim)).toEqual({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c' }, spec: { resources: {} } });
    const job = {
      apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' },
      spec: { selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u1' } }, template: { metadata: { labels: { 'batch.kubernetes.io/controller-uid': 'u1', 'job-name': 'j' } }, spec: {} } },
    };
    expect(stripSiteLocalFields(job).spec).toEqual({ template: { metadata: { labels: { 'job-name': 'j' } }, spec: {} } });
    const manualJob = { ...job, spec: { ...job.spec, manualSelector: true } };
    expect(stripSiteLocalFields(manualJob).spec.selector).toEqual(job.spec.selector);
  });

  it('uses the service given over the body\'s kind', () => {
    const body = { metadata: { name: 'x' }, spec: { nodeName: 'n1' } };
    expect(stripSiteLocalFields(body, 'pods')).toEqual({ metadata: { name: 'x' }, spec: {} });
    expect(stripSiteLocalFields(body)).toEqual(body);
  });
});

describe('mergeSiteLocalFields', () => {
  it('applies the desired state but keeps the local values of site-local fields', () => {
    const stripped = stripSiteLocalFields(sitePod('one'));
    const desired = { ...stripped, metadata: { ...stripped.metadata, labels: { app: 'purple', version: '2' } } };
    const local = sitePod('two');
    const merged = mergeSiteLocalFields(desired, local);
    expect(merged.metadata).toMatchObject({ uid: 'uid-two', resourceVersion: 'rv-two', labels: { app: 'purple', version: '2' } });
    expect(merged.metadata.ownerReferences[0]?.uid).toBe('rs-uid-two');
    expect(merged.spec.nodeName).toBe('node-two');
    expect(merged.spec.volumes.map((v) => v.name)).toEqual(['creds', 'kube-api-access-two']);
    expect(merged.spec.containers[0]?.volumeMounts.map((m) => m.name)).toEqual(['creds', 'kube-api-access-two']);
    expect(merged.status).toEqual(local.status);
  });

  it('never lets a site-local value of the desired body through', () => {
    const merged = mergeSiteLocalFields(sitePod('one'), sitePod('two'));
    expect(JSON.stringify(merged)).not.toMatch(/-one\b/);
  });

  it('keeps a service\'s local cluster IP and allocated node ports unless the desired body sets them', () => {
    const desired = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { type: 'NodePort', ports: [{ port: 80 }, { port: 81, nodePort: 30081 }] } };
    const local = {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 's', resourceVersion: '7' },
      spec: { type: 'NodePort', clusterIP: '10.96.0.9', clusterIPs: ['10.96.0.9'], ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 81, nodePort: 31111 }] },
    };
    expect(mergeSiteLocalFields(desired, local).spec).toEqual({
      type: 'NodePort', clusterIP: '10.96.0.9', clusterIPs: ['10.96.0.9'], ports: [{ port: 80, nodePort: 30080 }, { port: 81, nodePort: 30081 }],
    });
  });

  it('returns the desired body as is when either side is not an object', () => {
    expect(mergeSiteLocalFields('x', {})).toBe('x');
    const desired = { metadata: { name: 'a' } };
    expect(mergeSiteLocalFields(desired, undefined)).toBe(desired);
  });
});

describe('takeScopeAnnotation', () => {
  it('reads the scope and removes it, leaving the other annotations', () => {
    const body = { metadata: { name: 'p', annotations: { 'cheops.io/scope': '{Site1 & Site2}', [lastApplied]: '{}' } } };
    const taken = takeScopeAnnotation(body);
    expect(taken).toEqual({ scope: '{Site1 & Site2}', body: { metadata: { name: 'p', annotations: { [lastApplied]: '{}' } } } });
    expect(body.metadata.annotations['cheops.io/scope']).toBe('{Site1 & Site2}');
  });

  it('drops annotations emptied by the removal', () => {
    expect(takeScopeAnnotation({ metadata: { annotations: { 'cheops.io/scope': '{Site1}' } } }).body).toEqual({ metadata: {} });
  });

  it('gives no scope for a body without one, a null (a patch removing it) or a non-string', () => {
    const plain = { metadata: { name: 'p' } };
    expect(takeScopeAnnotation(plain)).toEqual({ body: plain });
    expect(takeScopeAnnotation(plain).body).toBe(plain);
    expect(takeScopeAnnotation({ metadata: { annotations: { 'cheops.io/scope': null } } })).toEqual({ body: { metadata: {} } });
    expect(takeScopeAnnotation({ metadata: { annotations: { 'cheops.io/scope': 3 } } })).toEqual({ body: { metadata: {} } });
    expect(takeScopeAnnotation([1, 2])).toEqual({ body: [1, 2] });
  });
});
