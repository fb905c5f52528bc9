import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../json.js';
import { applyJsonPatch, applyMergePatch, JsonPatchError } from './json-patches.js';
import { applyStrategicMergePatch, StrategicPatchError } from './strategic-merge.js';

const pod = 'io.k8s.api.core.v1.Pod';
const deployment = 'io.k8s.api.apps.v1.Deployment';

function podWith(containers: JsonObject[], metadata: JsonObject = { name: 'p' }): JsonObject {
  return { metadata, spec: { containers } };
}

function containersOf(object: JsonObject): unknown {
  return (object.spec as JsonObject).containers;
}

describe('JSON merge patch (RFC 7386)', () => {
  it('merges objects, deletes with null and replaces everything else', () => {
    expect(applyMergePatch({ a: 'b', c: { d: 'e', f: 'g' } }, { a: 'z', c: { f: null } })).toEqual({ a: 'z', c: { d: 'e' } });
    expect(applyMergePatch({ a: [1, 2] }, { a: [3] })).toEqual({ a: [3] });
    expect(applyMergePatch({ a: 'b' }, { b: { c: null } })).toEqual({ a: 'b', b: {} });
    expect(applyMergePatch([1], { a: 1 })).toEqual({ a: 1 });
  });
});

describe('JSON patch (RFC 6902)', () => {
  const document = { metadata: { labels: { a: '1' } }, list: [1, 2, 3] };

  it('applies add, remove, replace, move, copy and test', () => {
    expect(
      applyJsonPatch(document, [
        { op: 'add', path: '/metadata/labels/b', value: '2' },
        { op: 'remove', path: '/list/0' },
        { op: 'replace', path: '/list/0', value: 9 },
        { op: 'add', path: '/list/-', value: 4 },
        { op: 'copy', from: '/metadata/labels/a', path: '/copied' },
        { op: 'move', from: '/copied', path: '/moved' },
        { op: 'test', path: '/moved', value: '1' },
      ]),
    ).toEqual({ metadata: { labels: { a: '1', b: '2' } }, list: [9, 3, 4], moved: '1' });
    expect(document.list).toEqual([1, 2, 3]);
  });

  it('fails as evanphx/json-patch does', () => {
    expect(() => applyJsonPatch(document, [{ op: 'test', path: '/list/0', value: 5 }])).toThrow('testing value /list/0 failed: test failed');
    expect(() => applyJsonPatch(document, [{ op: 'remove', path: '/nothing' }])).toThrow(JsonPatchError);
    expect(() => applyJsonPatch(document, [{ op: 'replace', path: '/a/b', value: 1 }])).toThrow('replace operation does not apply: doc is missing path: "/a/b": missing value');
    expect(() => applyJsonPatch(document, [{ op: 'jump', path: '/a' }])).toThrow('Unexpected kind: jump');
    expect(() => applyJsonPatch(document, { op: 'add' })).toThrow(JsonPatchError);
  });
});

describe('strategic merge patch', () => {
  const two = podWith([
    { name: 'a', image: 'one', env: [{ name: 'X', value: '1' }] },
    { name: 'b', image: 'one' },
  ]);

  // Without $setElementOrder, apimachinery puts the patch's elements before the server's own ones
  // it cannot place relative to them: [a, c, b] and [Y, X] are what the Go code gives.
  it('merges containers by name and env by name', () => {
    const patched = applyStrategicMergePatch(two, { spec: { containers: [{ name: 'a', env: [{ name: 'Y', value: '2' }] }, { name: 'c', image: 'new' }] } }, pod);
    expect(containersOf(patched)).toEqual([
      { name: 'a', image: 'one', env: [{ name: 'Y', value: '2' }, { name: 'X', value: '1' }] },
      { name: 'c', image: 'new' },
      { name: 'b', image: 'one' },
    ]);
  });

  it('orders as apimachinery does (its test case "preserve the order from the patch in a merging list 2")', () => {
    const original = podWith([{ name: '1' }, { name: '2', image: 'b' }, { name: '3' }]);
    const patched = applyStrategicMergePatch(original, { spec: { containers: [{ name: '3', image: 'c' }, { name: '1', image: 'a' }] } }, pod);
    expect(containersOf(patched)).toEqual([{ name: '2', image: 'b' }, { name: '3', image: 'c' }, { name: '1', image: 'a' }]);
  });

  it('deletes and replaces list elements with $patch', () => {
    expect(containersOf(applyStrategicMergePatch(two, { spec: { containers: [{ name: 'a', $patch: 'delete' }] } }, pod))).toEqual([{ name: 'b', image: 'one' }]);
    expect(containersOf(applyStrategicMergePatch(two, { spec: { containers: [{ name: 'z', image: 'z' }, { $patch: 'replace' }] } }, pod))).toEqual([
      { name: 'z', image: 'z' },
    ]);
    expect(applyStrategicMergePatch(podWith([], { labels: { a: '1' } }), { metadata: { labels: { $patch: 'replace', b: '2' } } }, pod).metadata).toEqual({ labels: { b: '2' } });
  });

  it('orders lists by $setElementOrder, as kubectl apply sends it', () => {
    const patched = applyStrategicMergePatch(two, { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }], containers: [{ name: 'a', image: 'two' }] } }, pod);
    expect(containersOf(patched)).toEqual([
      { name: 'b', image: 'one' },
      { name: 'a', image: 'two', env: [{ name: 'X', value: '1' }] },
    ]);
  });

  it('keeps only $retainKeys in a retainKeys field (deployment strategy)', () => {
    const original = { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } } };
    const patched = applyStrategicMergePatch(original, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }, deployment);
    expect(patched).toEqual({ spec: { strategy: { type: 'Recreate' } } });
  });

  it('merges primitive lists with a merge strategy and deletes from them with a parallel list', () => {
    const original = { metadata: { finalizers: ['a', 'b'] } };
    expect(applyStrategicMergePatch(original, { metadata: { finalizers: ['c'] } }, pod)).toEqual({ metadata: { finalizers: ['c', 'a', 'b'] } });
    expect(applyStrategicMergePatch(original, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }, pod)).toEqual({ metadata: { finalizers: ['b'] } });
  });

  it('replaces lists without a merge strategy and deletes keys set to null', () => {
    const original = podWith([{ name: 'a', image: 'x', args: ['1', '2'] }], { name: 'p', labels: { a: '1', b: '2' } });
    const patched = applyStrategicMergePatch(original, { metadata: { labels: { a: null } }, spec: { containers: [{ name: 'a', args: ['3'] }] } }, pod);
    expect(patched).toEqual(podWith([{ name: 'a', image: 'x', args: ['3'] }], { name: 'p', labels: { b: '2' } }));
  });

  it('merges ports by containerPort', () => {
    const original = podWith([{ name: 'a', ports: [{ containerPort: 80, name: 'http' }, { containerPort: 443 }] }]);
    const patched = applyStrategicMergePatch(original, { spec: { containers: [{ name: 'a', ports: [{ containerPort: 80, name: 'web' }] }] } }, pod);
    expect(containersOf(patched)).toEqual([{ name: 'a', ports: [{ containerPort: 80, name: 'web' }, { containerPort: 443 }] }]);
  });

  it('refuses malformed patches', () => {
    expect(() => applyStrategicMergePatch(two, { spec: { containers: [{ image: 'no-name' }] } }, pod)).toThrow('does not contain declared merge key: name');
    expect(() => applyStrategicMergePatch(two, { spec: { $patch: 'explode' } }, pod)).toThrow(StrategicPatchError);
    expect(() => applyStrategicMergePatch(two, { spec: { $retainKeys: 'x' } }, pod)).toThrow('invalid patch format of retainKeys');
  });
});
