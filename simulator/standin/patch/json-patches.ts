/**
 * JSON merge patch (RFC 7386, `application/merge-patch+json`) and JSON patch (RFC 6902,
 * `application/json-patch+json`), with the error wording of the evanphx/json-patch library the
 * API server uses.
 */
import { cloneJson, isJsonObject, jsonEqual, type JsonObject, type JsonValue } from '../json.js';

/** Applies an RFC 7386 merge patch: objects merge, null deletes, everything else replaces. */
export function applyMergePatch(target: JsonValue, patch: JsonValue): JsonValue {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const result: JsonObject = isJsonObject(target) ? cloneJson(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key] ?? null, value);
  }
  return result;
}

/** A JSON patch that cannot be applied; the message is the client-facing reason. */
export class JsonPatchError extends Error {
  override readonly name = 'JsonPatchError';
}

type Container = JsonObject | JsonValue[];

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new JsonPatchError(`invalid JSON pointer: "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function child(container: JsonValue | undefined, key: string): JsonValue | undefined {
  if (Array.isArray(container)) return /^\d+$/.test(key) ? container[Number(key)] : undefined;
  return isJsonObject(container) ? container[key] : undefined;
}

/** The container holding the last part of `path`, and that part. */
function locate(document: JsonValue, path: string[], operation: string, pointer: string): [Container, string] {
  let current: JsonValue | undefined = document;
  for (const part of path.slice(0, -1)) current = child(current, part);
  if (!Array.isArray(current) && !isJsonObject(current)) {
    throw new JsonPatchError(`${operation} operation does not apply: doc is missing path: "${pointer}": missing value`);
  }
  return [current, path[path.length - 1] ?? ''];
}

function arrayIndex(array: JsonValue[], key: string, allowEnd: boolean, pointer: string): number {
  if (allowEnd && key === '-') return array.length;
  const index = /^\d+$/.test(key) ? Number(key) : Number.NaN;
  const limit = allowEnd ? array.length : array.length - 1;
  if (!(index >= 0 && index <= limit)) throw new JsonPatchError(`Unable to access invalid index: ${key}: ${pointer}`);
  return index;
}

function getAt(document: JsonValue, pointer: string, operation: string): JsonValue {
  const path = parsePointer(pointer);
  let current: JsonValue | undefined = document;
  for (const part of path) current = child(current, part);
  if (current === undefined) {
    throw new JsonPatchError(`${operation} operation does not apply: doc is missing path: "${pointer}": missing value`);
  }
  return current;
}

function addAt(document: JsonValue, pointer: string, value: JsonValue): JsonValue {
  const path = parsePointer(pointer);
  if (path.length === 0) return value;
  const [container, key] = locate(document, path, 'add', pointer);
  if (Array.isArray(container)) container.splice(arrayIndex(container, key, true, pointer), 0, value);
  else container[key] = value;
  return document;
}

function removeAt(document: JsonValue, pointer: string, operation = 'remove'): JsonValue {
  const path = parsePointer(pointer);
  const [container, key] = locate(document, path, operation, pointer);
  if (Array.isArray(container)) {
    container.splice(arrayIndex(container, key, false, pointer), 1);
  } else {
    if (!(key in container)) {
      throw new JsonPatchError(`${operation} operation does not apply: doc is missing key: ${pointer}: missing value`);
    }
    delete container[key];
  }
  return document;
}

function stringField(operation: JsonObject, name: string, index: number): string {
  const value = operation[name];
  if (typeof value !== 'string') throw new JsonPatchError(`operation ${index} is missing "${name}"`);
  return value;
}

function valueField(operation: JsonObject, index: number): JsonValue {
  const value = operation.value;
  if (value === undefined) throw new JsonPatchError(`operation ${index}: missing value`);
  return cloneJson(value);
}

/** Applies one RFC 6902 operation to `document` (mutated) and returns the new document. */
function applyOperation(document: JsonValue, operation: JsonObject, index: number): JsonValue {
  const op = stringField(operation, 'op', index);
  const path = stringField(operation, 'path', index);
  switch (op) {
    case 'add':
      return addAt(document, path, valueField(operation, index));
    case 'remove':
      return removeAt(document, path);
    case 'replace': {
      getAt(document, path, 'replace');
      const removed = parsePointer(path).length === 0 ? null : removeAt(document, path, 'replace');
      return removed === null ? valueField(operation, index) : addAt(removed, path, valueField(operation, index));
    }
    case 'move': {
      const from = stringField(operation, 'from', index);
      const value = cloneJson(getAt(document, from, 'move'));
      return addAt(removeAt(document, from, 'move'), path, value);
    }
    case 'copy': {
      const from = stringField(operation, 'from', index);
      return addAt(document, path, cloneJson(getAt(document, from, 'copy')));
    }
    case 'test': {
      const actual = getAt(document, path, 'test');
      if (!jsonEqual(actual, operation.value ?? null)) {
        throw new JsonPatchError(`testing value ${path} failed: test failed`);
      }
      return document;
    }
    default:
      throw new JsonPatchError(`Unexpected kind: ${op}`);
  }
}

/** Applies an RFC 6902 patch (an array of operations); throws JsonPatchError when it cannot. */
export function applyJsonPatch(target: JsonValue, patch: JsonValue): JsonValue {
  if (!Array.isArray(patch)) {
    throw new JsonPatchError('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  }
  let document = cloneJson(target);
  patch.forEach((operation, index) => {
    if (!isJsonObject(operation)) throw new JsonPatchError(`operation ${index} is not an object`);
    document = applyOperation(document, operation, index);
  });
  return document;
}
