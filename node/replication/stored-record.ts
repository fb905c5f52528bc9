/**
 * Records the engine keeps in the site store under `[prefix, metaId]` (the key index, create
 * intents): JSON objects, read back with care, since a bad record must not break start-up.
 */
import type { MetaId, ResourceKey } from '../../core/ids.js';
import { isMetaId } from '../../crdt/replicant.js';

/** The record stored under `metaId` as an object, or undefined when the id or the bytes are not one. */
export function decodeStoredRecord(metaId: string | undefined, bytes: Uint8Array): { readonly metaId: MetaId; readonly fields: Record<string, unknown> } | undefined {
  if (metaId === undefined || !isMetaId(metaId)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const fields = value as Record<string, unknown>;
  return fields.metaId === metaId ? { metaId, fields } : undefined;
}

/** Whether a stored field holds a resource key. */
export function isStoredKey(value: unknown): value is ResourceKey {
  const key = value as Partial<ResourceKey> | undefined;
  return typeof key?.name === 'string' && typeof key.service === 'string' && typeof key.app === 'string';
}
