/**
 * Helpers shared by the wire codecs. Every decoder returns a `DecodeResult` instead of throwing:
 * a peer's bytes are untrusted, and a malformed or hostile message must be dropped and logged,
 * never crash the node.
 */
import { decode as cborDecode, encode as cborEncode } from 'cborg';
import { errorMessage } from '../core/errors.js';
import { isDocumentId, type DocumentId } from '../core/ids.js';

/** The outcome of decoding untrusted bytes. */
export type DecodeResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

export function decoded<T>(value: T): DecodeResult<T> {
  return { ok: true, value };
}

export function malformed<T>(error: string): DecodeResult<T> {
  return { ok: false, error };
}

/** A decoded CBOR map: only its own properties count (a `__proto__` key must not answer reads). */
export type WireRecord = Readonly<Record<string, unknown>>;

/** Encodes a message as CBOR. */
export function encodeCbor(message: object): Uint8Array {
  return cborEncode(message);
}

/** Decodes CBOR bytes into a map, refusing anything else (arrays, scalars, bad CBOR). */
export function decodeCborRecord(bytes: Uint8Array): DecodeResult<WireRecord> {
  let value: unknown;
  try {
    value = cborDecode(bytes, { strict: true, rejectDuplicateMapKeys: true, allowUndefined: false });
  } catch (error) {
    return malformed(`not CBOR: ${errorMessage(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    return malformed('not a map');
  }
  return decoded(value as WireRecord);
}

/** An own property of a decoded map, or undefined. */
export function field(record: WireRecord, name: string): unknown {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

/** Reads `type` and `v` of a `{ type, v, … }` message. */
export function messageTag(record: WireRecord): DecodeResult<{ type: string; v: number }> {
  const type = field(record, 'type');
  const v = field(record, 'v');
  if (typeof type !== 'string') return malformed('missing type');
  if (typeof v !== 'number' || !Number.isInteger(v)) return malformed('missing version');
  return decoded({ type, v });
}

export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

export function isDocumentIdValue(value: unknown): value is DocumentId {
  return typeof value === 'string' && isDocumentId(value);
}

const hashPattern = /^[0-9a-f]{64}$/;

/** Automerge heads: hex SHA-256 change hashes, at most `max` of them. */
export function isHeads(value: unknown, max = 1024): value is string[] {
  return (
    Array.isArray(value) &&
    value.length <= max &&
    value.every((head) => typeof head === 'string' && hashPattern.test(head))
  );
}

/** True when two head lists name the same changes, whatever their order. */
export function sameHeads(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((head) => set.has(head));
}

/** Finite, non-negative number (a sequence number or a time in ms). */
export function isNonNegativeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
