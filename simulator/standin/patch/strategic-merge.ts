/**
 * Strategic merge patch (`application/strategic-merge-patch+json`), applied as the API server does
 * (a port of k8s.io/apimachinery/pkg/util/strategicpatch's mergeMap with MergeParallelList and
 * IgnoreUnmatchedNulls): lists merge by the field's patchMergeKey (containers by `name`, ports by
 * `containerPort`), directives `$patch` (replace, delete, merge), `$retainKeys`,
 * `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` are honoured. Patch metadata comes
 * from the API model, that is from the Go struct tags.
 */
import { cloneJson, isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import { structInfo, type TypeNode } from '../schema/model.js';

/** A strategic merge patch that cannot be applied; `badRequest` says 400 rather than 422. */
export class StrategicPatchError extends Error {
  override readonly name = 'StrategicPatchError';
  constructor(
    message: string,
    readonly unprocessable = false,
  ) {
    super(message);
  }
}

const directiveMarker = '$patch';
const retainKeysDirective = '$retainKeys';
const deletePrefix = '$deleteFromPrimitiveList';
const orderPrefix = '$setElementOrder';

interface PatchMeta {
  readonly strategies: readonly string[];
  readonly mergeKey: string;
}

type Schema = TypeNode | undefined;

function lookupField(schema: Schema, key: string): { type: Schema; meta: PatchMeta } {
  if (schema?.kind === 'map') return { type: schema.value, meta: { strategies: [], mergeKey: '' } };
  if (schema?.kind !== 'struct') return { type: undefined, meta: { strategies: [], mergeKey: '' } };
  const field = structInfo(schema.name)?.jsonFields.get(key);
  if (field === undefined) return { type: undefined, meta: { strategies: [], mergeKey: '' } };
  const strategies = field.extras.patchStrategy === undefined ? [] : field.extras.patchStrategy.split(',');
  return { type: field.type, meta: { strategies, mergeKey: field.extras.patchMergeKey ?? '' } };
}

function lookupSlice(schema: Schema, key: string): { type: Schema; meta: PatchMeta } {
  const { type, meta } = lookupField(schema, key);
  return { type: type?.kind === 'list' ? type.item : type, meta };
}

/** The non-retainKeys strategy of a field (`merge`, `replace` or ''). */
function otherStrategy(strategies: readonly string[]): string {
  if (strategies.length > 2) throw new StrategicPatchError(`unexpected patch strategy: ${strategies.join(',')}`);
  const others = strategies.filter((strategy) => strategy !== 'retainKeys');
  if (strategies.length === 2 && others.length !== 1) throw new StrategicPatchError(`unexpected patch strategy: ${strategies.join(',')}`);
  return others[0] ?? '';
}

type Kind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';

function kindOf(value: JsonValue | undefined): Kind {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value as Kind;
}

/** Applies `patch` to `original` for the struct `typeName`; neither argument is modified. */
export function applyStrategicMergePatch(original: JsonObject, patch: JsonObject, typeName: string): JsonObject {
  return mergeMap(cloneJson(original), cloneJson(patch), { kind: 'struct', name: typeName });
}

function mergeMap(original: JsonObject, patch: JsonObject, schema: Schema): JsonObject {
  if (directiveMarker in patch) return mapDirective(patch[directiveMarker], patch);
  applyRetainKeys(original, patch);
  mergeOrderedLists(original, patch, schema);
  for (const [rawKey, patchValue] of Object.entries(patch)) {
    let key = rawKey;
    const isDeleteList = rawKey.startsWith(deletePrefix);
    if (isDeleteList) key = extractKey(rawKey, deletePrefix);
    if (patchValue === null) {
      delete original[key];
      continue;
    }
    if (!(key in original) || kindOf(original[key]) !== kindOf(patchValue)) {
      if (!isDeleteList) setWithoutDirectives(original, key, discardNulls(patchValue));
      continue;
    }
    const current = original[key] ?? null;
    if (isJsonObject(current) && isJsonObject(patchValue)) {
      const { type, meta } = lookupField(schema, key);
      original[key] = otherStrategy(meta.strategies) === 'replace' ? patchValue : mergeMap(current, patchValue, type);
    } else if (Array.isArray(current) && Array.isArray(patchValue)) {
      const { type, meta } = lookupSlice(schema, key);
      const merge = otherStrategy(meta.strategies) === 'merge' || isDeleteList;
      original[key] = merge ? mergeSlice(current, patchValue, type, meta.mergeKey, isDeleteList) : patchValue;
    } else {
      setWithoutDirectives(original, key, patchValue);
    }
  }
  return original;
}

function mapDirective(directive: JsonValue | undefined, patch: JsonObject): JsonObject {
  if (directive === 'replace') {
    delete patch[directiveMarker];
    return patch;
  }
  if (directive === 'delete') return {};
  throw new StrategicPatchError(`unknown patch type: ${JSON.stringify(directive ?? null)} in map: ${JSON.stringify(patch)}`);
}

function setWithoutDirectives(target: JsonObject, key: string, value: JsonValue): void {
  const [cleaned, keep] = removeDirectives(value);
  if (keep) target[key] = cleaned;
  else delete target[key];
}

function removeDirectives(value: JsonValue): [JsonValue, boolean] {
  if (isJsonObject(value)) {
    if (directiveMarker in value) return [null, false];
    for (const [key, item] of Object.entries(value)) {
      const [cleaned, keep] = removeDirectives(item);
      if (keep) value[key] = cleaned;
      else delete value[key];
    }
    return [value, true];
  }
  if (Array.isArray(value)) {
    const kept: JsonValue[] = [];
    for (const item of value) {
      const [cleaned, keep] = removeDirectives(item);
      if (keep) kept.push(cleaned);
    }
    return [kept, true];
  }
  return [value, true];
}

function discardNulls(value: JsonValue): JsonValue {
  if (isJsonObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (item === null) delete value[key];
      else discardNulls(item);
    }
  } else if (Array.isArray(value)) value.forEach(discardNulls);
  return value;
}

function extractKey(key: string, prefix: string): string {
  const slash = key.indexOf('/');
  if (slash < 0 || key.slice(0, slash) !== prefix) {
    throw new StrategicPatchError(
      prefix === deletePrefix ? 'invalid patch format of primitive list' : 'invalid patch format of setElementOrder list',
    );
  }
  return key.slice(slash + 1);
}

function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  if (!(retainKeysDirective in patch)) return;
  const retain = patch[retainKeysDirective];
  delete patch[retainKeysDirective];
  if (!Array.isArray(retain)) throw new StrategicPatchError('invalid patch format of retainKeys');
  const kept = new Set(retain.map((key) => (typeof key === 'string' ? key : JSON.stringify(key))));
  for (const [key, value] of Object.entries(patch)) {
    if (value === null || key.startsWith(deletePrefix) || key.startsWith(orderPrefix)) continue;
    if (!kept.has(key)) throw new StrategicPatchError('invalid patch format of retainKeys');
  }
  for (const key of Object.keys(original)) if (!kept.has(key)) delete original[key];
}

/** Handles each `$setElementOrder/<list>` with its list, as mergePatchIntoOriginal does. */
function mergeOrderedLists(original: JsonObject, patch: JsonObject, schema: Schema): void {
  for (const [directiveKey, order] of Object.entries(patch)) {
    if (!directiveKey.startsWith(orderPrefix)) continue;
    delete patch[directiveKey];
    if (!Array.isArray(order)) throw new StrategicPatchError('invalid patch format of setElementOrder list');
    const key = extractKey(directiveKey, orderPrefix);
    const originalList = original[key];
    const patchList = patch[key];
    const foundOriginal = originalList !== undefined;
    const foundPatch = patchList !== undefined;
    if (foundOriginal && !Array.isArray(originalList)) throw new StrategicPatchError('expected a slice in the original');
    if (foundPatch && !Array.isArray(patchList)) throw new StrategicPatchError('expected a slice in the patch');
    const { type, meta } = lookupSlice(schema, key);
    const strategy = otherStrategy(meta.strategies);
    validateOrder(Array.isArray(patchList) ? patchList : [], order, meta.mergeKey);
    let merged: JsonValue[];
    if (Array.isArray(originalList) && !foundPatch) merged = originalList;
    else if (!foundOriginal && Array.isArray(patchList)) merged = removeDirectives(patchList)[0] as JsonValue[];
    else if (Array.isArray(originalList) && Array.isArray(patchList)) {
      merged = strategy === 'merge' ? mergeSlice(originalList, patchList, type, meta.mergeKey, false) : patchList;
    } else continue;
    const [inPatch, serverOnly] = partition(merged, order, meta.mergeKey);
    const elements = [...(Array.isArray(originalList) ? originalList : []), ...(Array.isArray(patchList) ? patchList : [])];
    original[key] = normalizeElementOrder(inPatch, serverOnly, order, Array.isArray(originalList) ? originalList : [], meta.mergeKey, elementKind(elements));
    delete patch[key];
  }
}

function validateOrder(patchList: JsonValue[], order: JsonValue[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const nonDelete = mergeKey === '' ? patchList : patchList.filter((item) => !(isJsonObject(item) && item[directiveMarker] === 'delete'));
  let patchIndex = 0;
  let orderIndex = 0;
  while (patchIndex < nonDelete.length && orderIndex < order.length) {
    const item = nonDelete[patchIndex] ?? null;
    if (isJsonObject(item) && directiveMarker in item) {
      patchIndex++;
      continue;
    }
    if (sameKey(item, order[orderIndex] ?? null, mergeKey)) patchIndex++;
    orderIndex++;
  }
  if (patchIndex < nonDelete.length && orderIndex >= order.length) {
    throw new StrategicPatchError(`The order in patch list doesn't match $setElementOrder list`);
  }
}

function keyOf(item: JsonValue, mergeKey: string): JsonValue | undefined {
  if (mergeKey === '') return item;
  return isJsonObject(item) ? item[mergeKey] : undefined;
}

function sameKey(left: JsonValue, right: JsonValue, mergeKey: string): boolean {
  if (mergeKey === '') return left === right;
  if (!isJsonObject(left) || !isJsonObject(right)) throw new StrategicPatchError('expected a map in a merging list');
  if (!(mergeKey in left) || !(mergeKey in right)) {
    throw new StrategicPatchError(`map: ${JSON.stringify(left)} does not contain declared merge key: ${mergeKey}`);
  }
  return left[mergeKey] === right[mergeKey];
}

function elementKind(elements: readonly JsonValue[]): Kind {
  let kind: Kind | undefined;
  for (const element of elements) {
    const current = kindOf(element);
    if (current === 'array') throw new StrategicPatchError('lists of lists are not supported', true);
    if (kind !== undefined && kind !== current) throw new StrategicPatchError('list element types are not identical');
    kind = current;
  }
  if (kind === undefined) throw new StrategicPatchError('no elements in any of the given slices');
  return kind;
}

function mergeSlice(original: JsonValue[], patch: JsonValue[], schema: Schema, mergeKey: string, isDeleteList: boolean): JsonValue[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = elementKind([...original, ...patch]);
  let merged: JsonValue[];
  let base = original;
  let patchItems = patch;
  if (kind !== 'object') {
    if (isDeleteList) return original.filter((item) => !patch.includes(item));
    merged = deduplicateScalars([...original, ...patch]);
  } else {
    if (mergeKey === '') throw new StrategicPatchError(`cannot merge lists without merge key for ${schemaName(schema)}`);
    [base, patchItems] = specialElements(original, patch, mergeKey);
    merged = mergeByKey(base, patchItems, mergeKey, schema);
  }
  const [inPatch, serverOnly] = partition(merged, patchItems, mergeKey);
  return normalizeElementOrder(inPatch, serverOnly, patchItems, base, mergeKey, kind);
}

function schemaName(schema: Schema): string {
  return schema?.kind === 'struct' ? schema.name : 'Struct';
}

/** Handles list elements that carry `$patch` (delete one element, replace the whole list). */
function specialElements(original: JsonValue[], patch: JsonValue[], mergeKey: string): [JsonValue[], JsonValue[]] {
  const plain: JsonValue[] = [];
  let replace = false;
  let base = original;
  for (const item of patch) {
    if (!isJsonObject(item) || !(directiveMarker in item)) {
      plain.push(item);
      continue;
    }
    const directive = item[directiveMarker];
    if (directive === 'delete') {
      if (!(mergeKey in item)) throw new StrategicPatchError(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
      base = base.filter((element) => !(isJsonObject(element) && element[mergeKey] === item[mergeKey]));
    } else if (directive === 'replace') replace = true;
    else if (directive === 'merge') throw new StrategicPatchError('merging lists cannot yet be specified in the patch');
    else throw new StrategicPatchError(`unknown patch type: ${JSON.stringify(directive ?? null)} in map: ${JSON.stringify(item)}`);
  }
  return replace ? [plain, []] : [base, plain];
}

function mergeByKey(original: JsonValue[], patch: JsonValue[], mergeKey: string, schema: Schema): JsonValue[] {
  const result = [...original];
  for (const item of patch) {
    if (!isJsonObject(item) || !(mergeKey in item)) {
      throw new StrategicPatchError(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
    }
    const index = result.findIndex((element) => isJsonObject(element) && element[mergeKey] === item[mergeKey]);
    const found = result[index];
    if (index >= 0 && isJsonObject(found)) result[index] = mergeMap(found, item, schema);
    else result.push(item);
  }
  return result;
}

function deduplicateScalars(items: JsonValue[]): JsonValue[] {
  const list = [...items];
  let length = list.length - 1;
  for (let i = 0; i < length; i++) {
    for (let j = i + 1; j <= length; j++) {
      if (list[i] === list[j]) {
        list[j] = list[length] ?? null;
        list.length = length;
        length--;
        j--;
      }
    }
  }
  return list;
}

function partition(items: JsonValue[], by: JsonValue[], mergeKey: string): [JsonValue[], JsonValue[]] {
  const keys = by.map((item) => keyOf(item, mergeKey));
  const inPatch: JsonValue[] = [];
  const serverOnly: JsonValue[] = [];
  for (const item of items) {
    if (mergeKey !== '' && !(isJsonObject(item) && mergeKey in item)) {
      throw new StrategicPatchError(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
    }
    (keys.includes(keyOf(item, mergeKey)) ? inPatch : serverOnly).push(item);
  }
  return [inPatch, serverOnly];
}

function indexIn(list: JsonValue[], item: JsonValue, mergeKey: string, kind: Kind): number {
  const key = kind === 'object' ? keyOf(item, mergeKey) : item;
  return list.findIndex((element) => (kind === 'object' ? keyOf(element, mergeKey) : element) === key);
}

/** Go's sort.SliceStable on small inputs: an insertion sort, kept for identical results. */
function stableSort(items: JsonValue[], less: (a: JsonValue, b: JsonValue) => boolean): JsonValue[] {
  const list = [...items];
  for (let i = 1; i < list.length; i++) {
    for (let j = i; j > 0 && less(list[j] ?? null, list[j - 1] ?? null); j--) {
      [list[j], list[j - 1]] = [list[j - 1] ?? null, list[j] ?? null];
    }
  }
  return list;
}

function normalizeSliceOrder(toSort: JsonValue[], order: JsonValue[], mergeKey: string, kind: Kind): JsonValue[] {
  let items = toSort;
  let toDelete: JsonValue[] = [];
  if (kind === 'object') {
    toDelete = items.filter((item) => isJsonObject(item) && item[directiveMarker] === 'delete');
    items = items.filter((item) => !toDelete.includes(item));
  }
  const sorted = stableSort(items, (a, b) => {
    const ia = indexIn(order, a, mergeKey, kind);
    const ib = ia >= 0 ? indexIn(order, b, mergeKey, kind) : -1;
    return ia >= 0 && ib >= 0 ? ia < ib : true;
  });
  return [...sorted, ...toDelete];
}

function normalizeElementOrder(
  patch: JsonValue[],
  serverOnly: JsonValue[],
  patchOrder: JsonValue[],
  serverOrder: JsonValue[],
  mergeKey: string,
  kind: Kind,
): JsonValue[] {
  const left = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  const right = normalizeSliceOrder(patch, patchOrder, mergeKey, kind);
  const result: JsonValue[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) result.push(right[j++] ?? null);
    else if (j >= right.length) result.push(left[i++] ?? null);
    else {
      const li = indexIn(serverOrder, left[i] ?? null, mergeKey, kind);
      const ri = indexIn(serverOrder, right[j] ?? null, mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) result.push(left[i++] ?? null);
      else result.push(right[j++] ?? null);
    }
  }
  return result;
}
