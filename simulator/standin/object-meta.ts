/** Accessors for the metadata of stored objects (which are plain JSON). */
import { isJsonObject, objectAt, objectsAt, stringAt, stringMapAt, type JsonObject } from './json.js';

/** The object's `metadata`, created when missing. */
export function metadataOf(object: JsonObject): JsonObject {
  const metadata = objectAt(object, 'metadata');
  if (metadata !== undefined) return metadata;
  const created: JsonObject = {};
  object.metadata = created;
  return created;
}

export function nameOf(object: JsonObject): string {
  return stringAt(objectAt(object, 'metadata'), 'name') ?? '';
}

export function namespaceOf(object: JsonObject): string {
  return stringAt(objectAt(object, 'metadata'), 'namespace') ?? '';
}

export function uidOf(object: JsonObject): string {
  return stringAt(objectAt(object, 'metadata'), 'uid') ?? '';
}

export function resourceVersionOf(object: JsonObject): string {
  return stringAt(objectAt(object, 'metadata'), 'resourceVersion') ?? '';
}

export function labelsOf(object: JsonObject): Record<string, string> {
  return stringMapAt(objectAt(object, 'metadata'), 'labels');
}

export function finalizersOf(object: JsonObject): string[] {
  const value = objectAt(object, 'metadata')?.finalizers;
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

export function isTerminating(object: JsonObject): boolean {
  return stringAt(objectAt(object, 'metadata'), 'deletionTimestamp') !== undefined;
}

export function ownerReferencesOf(object: JsonObject): JsonObject[] {
  return objectsAt(objectAt(object, 'metadata'), 'ownerReferences');
}

/** The owner reference marked `controller: true`, if any. */
export function controllerOf(object: JsonObject): JsonObject | undefined {
  return ownerReferencesOf(object).find((reference) => reference.controller === true);
}

/** True when `object` has an owner reference to `uid`. */
export function isOwnedBy(object: JsonObject, uid: string): boolean {
  return ownerReferencesOf(object).some((reference) => reference.uid === uid);
}

/** An owner reference to `owner`, as controllers set on what they create. */
export function controllerReference(owner: JsonObject, apiVersion: string, kind: string): JsonObject {
  return { apiVersion, kind, name: nameOf(owner), uid: uidOf(owner), controller: true, blockOwnerDeletion: true };
}

/** The condition of `type` in `status.conditions`, if any. */
export function conditionOf(object: JsonObject, type: string): JsonObject | undefined {
  const conditions = objectAt(object, 'status')?.conditions;
  if (!Array.isArray(conditions)) return undefined;
  return conditions.find((condition): condition is JsonObject => isJsonObject(condition) && condition.type === type);
}
