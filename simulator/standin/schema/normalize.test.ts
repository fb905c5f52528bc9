import { describe, expect, it } from 'vitest';
import { normalizeObject } from './normalize.js';
import { allStructNames, structInfo } from './model.js';

describe('normalizeObject: the Go round trip', () => {
  it('fills what Go always writes and drops what it omits, in Go field order', () => {
    const { value } = normalizeObject('io.k8s.api.core.v1.Pod', {
      spec: { containers: [{ image: 'nginx', name: 'web', ports: [{ containerPort: 80, hostPort: 0 }] }], hostNetwork: false },
      metadata: { name: 'p', labels: {} },
    });
    expect(value).toEqual({
      metadata: { name: 'p', creationTimestamp: null },
      spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }], resources: {} }] },
      status: {},
    });
    expect(Object.keys(value)).toEqual(['metadata', 'spec', 'status']);
  });

  it('keeps pointer fields that are set, even to zero', () => {
    const { value } = normalizeObject('io.k8s.api.apps.v1.Deployment', { spec: { replicas: 0, template: {}, selector: null } });
    expect(value.spec).toMatchObject({ replicas: 0 });
    expect(value.spec).toMatchObject({ selector: null });
  });

  it('reports unknown fields with their paths', () => {
    const { unknownFields } = normalizeObject('io.k8s.api.core.v1.Pod', {
      spec: { containers: [{ name: 'a', imagee: 'x' }], foo: 1 },
      bar: true,
    });
    expect(unknownFields).toEqual(['spec.containers[0].imagee', 'spec.foo', 'bar']);
  });

  it('words type errors as encoding/json does', () => {
    expect(normalizeObject('io.k8s.api.core.v1.Pod', { spec: { containers: 'x' } }).typeError).toBe(
      'json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []Container',
    );
    expect(normalizeObject('io.k8s.api.apps.v1.Deployment', { spec: { replicas: 1.5 } }).typeError).toBe(
      'json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32',
    );
    expect(normalizeObject('io.k8s.api.core.v1.Secret', { data: { a: '***' } }).typeError).toBe('illegal base64 data at input byte 0');
    expect(normalizeObject('io.k8s.api.core.v1.Pod', { spec: { containers: [{ name: 'a', resources: { limits: { cpu: 'lots' } } }] } }).typeError).toContain(
      'quantities must match the regular expression',
    );
  });

  it('writes times at second precision and accepts numbers and strings where Go does', () => {
    const { value } = normalizeObject('io.k8s.api.core.v1.Service', {
      metadata: { creationTimestamp: '2026-03-04T05:06:07.891+01:00' },
      spec: { ports: [{ port: 80, targetPort: 'http' }] },
    });
    expect(value.metadata).toEqual({ creationTimestamp: '2026-03-04T04:06:07Z' });
    expect(value.spec).toMatchObject({ ports: [{ port: 80, targetPort: 'http' }] });
  });

  it('describes every struct the served kinds reach', () => {
    for (const name of allStructNames()) expect(structInfo(name)?.fields.length).toBeGreaterThanOrEqual(0);
    expect(structInfo('io.k8s.api.core.v1.Volume')?.jsonFields.has('configMap')).toBe(true);
  });
});
