/**
 * The acceptance suite every Storage implementation passes (as automerge-repo's adapter tests and
 * abstract-level's suite do). Call it from a test file with a factory that opens a fresh, empty
 * store; the suite closes what it opens.
 */
import { Buffer } from 'node:buffer';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, isCheopsError } from '../core/errors.js';
import type { Storage, StorageKey } from './storage.js';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const text = (value: string): Uint8Array => new TextEncoder().encode(value);

async function keysOf(storage: Storage, prefix: StorageKey): Promise<string[][]> {
  return (await storage.list(prefix)).map((entry) => [...entry.key]);
}

export function storageContract(name: string, open: () => Promise<Storage>): void {
  describe(`Storage contract: ${name}`, () => {
    const opened: Storage[] = [];
    const fresh = async (): Promise<Storage> => {
      const storage = await open();
      opened.push(storage);
      return storage;
    };
    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((storage) => storage.close()));
    });

    it('gets what it put, undefined for a missing key, and overwrites', async () => {
      const storage = await fresh();
      expect(await storage.get(['missing'])).toBeUndefined();
      await storage.put(['doc', 'a'], text('one'));
      expect(await storage.get(['doc', 'a'])).toEqual(text('one'));
      await storage.put(['doc', 'a'], text('two'));
      expect(await storage.get(['doc', 'a'])).toEqual(text('two'));
      expect(await storage.get(['doc'])).toBeUndefined();
    });

    it('deletes a key, and deleting a missing key is not an error', async () => {
      const storage = await fresh();
      await storage.put(['k'], text('v'));
      await storage.delete(['k']);
      expect(await storage.get(['k'])).toBeUndefined();
      await expect(storage.delete(['k'])).resolves.toBeUndefined();
    });

    it('round-trips every byte value, empty values and large values', async () => {
      const storage = await fresh();
      const all = Uint8Array.from({ length: 256 }, (_, index) => index);
      const large = Uint8Array.from({ length: 1 << 20 }, (_, index) => (index * 31) & 0xff);
      await storage.put(['all'], all);
      await storage.put(['empty'], new Uint8Array(0));
      await storage.put(['large'], large);
      expect(await storage.get(['all'])).toEqual(all);
      expect(await storage.get(['empty'])).toEqual(new Uint8Array(0));
      // toEqual walks a megabyte element by element for seconds; compare the bytes directly.
      const stored = await storage.get(['large']);
      expect(stored !== undefined && Buffer.compare(stored, large) === 0).toBe(true);
      const listed = await storage.list([]);
      expect(listed.every((entry) => entry.value instanceof Uint8Array)).toBe(true);
    });

    it('keeps what it stored when the caller reuses its buffer', async () => {
      const storage = await fresh();
      const buffer = bytes(1, 2, 3);
      await storage.put(['k'], buffer);
      buffer[0] = 9;
      expect(await storage.get(['k'])).toEqual(bytes(1, 2, 3));
    });

    it('applies a batch of puts and deletes in order', async () => {
      const storage = await fresh();
      await storage.put(['gone'], text('x'));
      await storage.batch([
        { type: 'put', key: ['a'], value: text('1') },
        { type: 'del', key: ['gone'] },
        { type: 'put', key: ['b'], value: text('2') },
        { type: 'del', key: ['b'] },
        { type: 'put', key: ['a'], value: text('3') },
      ]);
      expect(await keysOf(storage, [])).toEqual([['a']]);
      expect(await storage.get(['a'])).toEqual(text('3'));
      await expect(storage.batch([])).resolves.toBeUndefined();
    });

    it('applies no part of a batch that fails', async () => {
      const storage = await fresh();
      await storage.put(['kept'], text('before'));
      const bad = { type: 'put', key: [7 as unknown as string], value: text('x') } as const;
      await expect(
        storage.batch([{ type: 'put', key: ['kept'], value: text('after') }, { type: 'put', key: ['new'], value: text('n') }, bad]),
      ).rejects.toThrow();
      expect(await storage.get(['kept'])).toEqual(text('before'));
      expect(await storage.get(['new'])).toBeUndefined();
    });

    it('lists a prefix exactly, in key order', async () => {
      const storage = await fresh();
      const keys: StorageKey[] = [['ab'], ['a', 'z'], ['a'], ['a', 'b', 'c'], ['a', 'b'], ['b'], ['a', ''], ['']];
      for (const key of keys) await storage.put(key, text(key.join('/')));
      expect(await keysOf(storage, ['a'])).toEqual([['a'], ['a', ''], ['a', 'b'], ['a', 'b', 'c'], ['a', 'z']]);
      expect(await keysOf(storage, ['a', 'b'])).toEqual([['a', 'b'], ['a', 'b', 'c']]);
      expect(await keysOf(storage, [''])).toEqual([['']]);
      expect(await keysOf(storage, ['c'])).toEqual([]);
      expect(await keysOf(storage, [])).toEqual([[''], ['a'], ['a', ''], ['a', 'b'], ['a', 'b', 'c'], ['a', 'z'], ['ab'], ['b']]);
      const listed = await storage.list(['a', 'b']);
      expect(listed.map((entry) => entry.value)).toEqual([text('a/b'), text('a/b/c')]);
    });

    it('keeps prefixes exact whatever characters the segments hold', async () => {
      const storage = await fresh();
      const awkward = ['a\u0000', 'a\u0001', 'a\u0000b', 'a/b', 'a\uffff', 'a\u{1f600}', 'a\ud800', 'é', '\u0000', ''];
      for (const segment of awkward) {
        await storage.put([segment], text(segment));
        await storage.put([segment, 'child'], text(`${segment}/child`));
      }
      for (const segment of awkward) {
        expect(await keysOf(storage, [segment])).toEqual([[segment], [segment, 'child']]);
        expect(await storage.get([segment])).toEqual(text(segment));
      }
      // Order is by code point within a segment, the shorter segment first.
      const firsts = (await keysOf(storage, [])).filter((key) => key.length === 1).map((key) => key[0]);
      const byCodePoint = [...awkward].sort(compareCodePoints);
      expect(firsts).toEqual(byCodePoint);
    });

    it('deletes a range by prefix and nothing outside it', async () => {
      const storage = await fresh();
      for (const key of [['a'], ['a', '1'], ['a', '2', 'x'], ['ab'], ['b']]) await storage.put(key, text('v'));
      await storage.deleteRange(['a']);
      expect(await keysOf(storage, [])).toEqual([['ab'], ['b']]);
      await storage.deleteRange(['nothing']);
      await storage.deleteRange([]);
      expect(await keysOf(storage, [])).toEqual([]);
    });

    it('rejects every call with CHEOPS_STORAGE_CLOSED once closed', async () => {
      const storage = await fresh();
      await storage.put(['k'], text('v'));
      await storage.close();
      const calls: (() => Promise<unknown>)[] = [
        () => storage.get(['k']),
        () => storage.put(['k'], text('v')),
        () => storage.delete(['k']),
        () => storage.batch([{ type: 'del', key: ['k'] }]),
        () => storage.list([]),
        () => storage.deleteRange(['k']),
      ];
      for (const call of calls) {
        const error = await call().then(
          () => undefined,
          (reason: unknown) => reason,
        );
        expect(isCheopsError(error, ErrorCode.StorageClosed)).toBe(true);
      }
      await expect(storage.close()).resolves.toBeUndefined();
    });
  });
}

function compareCodePoints(a: string, b: string): number {
  const left = [...a].map((character) => character.codePointAt(0) ?? 0);
  const right = [...b].map((character) => character.codePointAt(0) ?? 0);
  for (let index = 0; index < Math.min(left.length, right.length); index += 1) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}
