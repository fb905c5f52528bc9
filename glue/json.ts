/**
 * JSON values as the glue sees request and object bodies. Bodies arrive as `unknown` (parsed from
 * the wire); these helpers read them without trusting their shape and without throwing.
 */

/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

/** A JSON object. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/** True when `value` is a JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at `path` below `value`, or undefined when any step is missing or not an object. */
export function getIn(value: unknown, path: readonly string[]): unknown {
  let current: unknown = value;
  for (const step of path) {
    if (!isJsonObject(current)) return undefined;
    current = current[step];
  }
  return current;
}

/** The string at `path`, or undefined when absent or not a non-empty string. */
export function stringIn(value: unknown, path: readonly string[]): string | undefined {
  const found = getIn(value, path);
  return typeof found === 'string' && found !== '' ? found : undefined;
}

/** The array at `path`, or an empty array when absent or not an array. */
export function arrayIn(value: unknown, path: readonly string[]): readonly unknown[] {
  const found = getIn(value, path);
  return Array.isArray(found) ? found : [];
}

/** A deep copy of a JSON value (bodies are plain JSON, so structuredClone is exact). */
export function cloneJson<T extends JsonValue>(value: T): T {
  return structuredClone(value);
}
