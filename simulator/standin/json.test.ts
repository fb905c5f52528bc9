import { describe, expect, it } from 'vitest';
import { cloneJson, type JsonObject } from './json.js';

describe('cloneJson', () => {
  it('copies deeply: changing the copy leaves the original as it was', () => {
    const original: JsonObject = { metadata: { name: 'p', labels: { run: 'p' } }, spec: { containers: [{ name: 'c', ports: [80] }] }, n: null };
    const copy = cloneJson(original);
    expect(copy).toEqual(original);
    (copy.metadata as JsonObject).name = 'q';
    ((copy.spec as JsonObject).containers as JsonObject[])[0]!.name = 'd';
    (((copy.spec as JsonObject).containers as JsonObject[])[0]!.ports as number[]).push(443);
    expect(original).toEqual({ metadata: { name: 'p', labels: { run: 'p' } }, spec: { containers: [{ name: 'c', ports: [80] }] }, n: null });
  });

  it('keeps a `__proto__` key of a parsed body a plain key', () => {
    const parsed = JSON.parse('{"metadata":{"__proto__":{"polluted":true},"name":"p"}}') as JsonObject;
    const copy = cloneJson(parsed);
    const metadata = copy.metadata as JsonObject;
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    expect((metadata as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.keys(metadata)).toEqual(['__proto__', 'name']);
    expect(JSON.stringify(copy)).toBe('{"metadata":{"__proto__":{"polluted":true},"name":"p"}}');
  });
});
