/**
 * Encodes Storage keys (arrays of strings) into bytes whose bytewise order is the key order, so a
 * key prefix is exactly a byte range. Shared by every Storage implementation so they agree on
 * order.
 *
 * Each segment is written as UTF-8, then escaped (0x00 -> 0x01 0x01, 0x01 -> 0x01 0x02) and
 * terminated by 0x00. The terminator sorts below every escaped byte, so `['a']` sorts before
 * `['ab']` and `['a', …]` is the range [`a 00`, `a 01`), which `['ab']` is outside of. Lone UTF-16
 * surrogates are written as their 3-byte UTF-8 form (as WTF-8 does) instead of being replaced by
 * U+FFFD, so any JavaScript string round-trips. Order is by segment, then by code point.
 */
import type { StorageKey } from './storage.js';

const terminator = 0x00;
const escape = 0x01;

/** The bytes of `key`. */
export function encodeKey(key: StorageKey): Uint8Array {
  const out: number[] = [];
  for (const segment of key) {
    if (typeof segment !== 'string') throw new TypeError(`storage key segments must be strings, got ${typeof segment}`);
    for (const character of segment) writeCodePoint(out, character.codePointAt(0) ?? 0);
    out.push(terminator);
  }
  return Uint8Array.from(out);
}

/** The key whose bytes are `bytes` (the inverse of {@link encodeKey}). */
export function decodeKey(bytes: Uint8Array): string[] {
  const segments: string[] = [];
  let utf8: number[] = [];
  for (let index = 0; index < bytes.length; index += 1) {
    const byte = bytes[index] ?? 0;
    if (byte === terminator) {
      segments.push(decodeUtf8(utf8));
      utf8 = [];
    } else if (byte === escape) {
      index += 1;
      utf8.push((bytes[index] ?? 1) - 1);
    } else {
      utf8.push(byte);
    }
  }
  if (utf8.length > 0) throw new TypeError('storage key bytes end inside a segment');
  return segments;
}

/**
 * The byte range holding every key that starts with `prefix`: `gte` inclusive, `lt` exclusive;
 * both undefined for the empty prefix (every key).
 */
export function prefixRange(prefix: StorageKey): { gte?: Uint8Array; lt?: Uint8Array } {
  if (prefix.length === 0) return {};
  const gte = encodeKey(prefix);
  const lt = Uint8Array.from(gte);
  // Every encoded prefix ends with the terminator; bumping it to 0x01 bounds exactly the keys
  // that continue the prefix.
  lt[lt.length - 1] = terminator + 1;
  return { gte, lt };
}

function writeByte(out: number[], byte: number): void {
  if (byte === terminator || byte === escape) out.push(escape, byte + 1);
  else out.push(byte);
}

function writeCodePoint(out: number[], codePoint: number): void {
  if (codePoint < 0x80) {
    writeByte(out, codePoint);
  } else if (codePoint < 0x800) {
    out.push(0xc0 | (codePoint >> 6), 0x80 | (codePoint & 0x3f));
  } else if (codePoint < 0x10000) {
    out.push(0xe0 | (codePoint >> 12), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f));
  } else {
    out.push(
      0xf0 | (codePoint >> 18),
      0x80 | ((codePoint >> 12) & 0x3f),
      0x80 | ((codePoint >> 6) & 0x3f),
      0x80 | (codePoint & 0x3f),
    );
  }
}

function decodeUtf8(bytes: readonly number[]): string {
  let text = '';
  for (let index = 0; index < bytes.length; ) {
    const first = bytes[index] ?? 0;
    const length = first < 0x80 ? 1 : first < 0xe0 ? 2 : first < 0xf0 ? 3 : 4;
    let codePoint = length === 1 ? first : first & (0xff >> (length + 1));
    for (let next = 1; next < length; next += 1) codePoint = (codePoint << 6) | ((bytes[index + next] ?? 0) & 0x3f);
    text += String.fromCodePoint(codePoint);
    index += length;
  }
  return text;
}
