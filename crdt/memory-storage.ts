/**
 * Storage in memory, for tests and the simulator. Keys are kept sorted in the same byte order as
 * LevelStorage (crdt/key-codec.ts), so both pass the same contract suite and list in the same
 * order. Values are copied in and out: a caller that reuses its buffer cannot change what is
 * stored, as with a real disk.
 */
import { Buffer } from 'node:buffer';
import { CheopsError, ErrorCode } from '../core/errors.js';
import { decodeKey, encodeKey, prefixRange } from './key-codec.js';
import type { Storage, StorageEntry, StorageKey, StorageOperation } from './storage.js';

/**
 * The contents of a MemoryStorage. Kept apart from the store so that a simulated restart can
 * close one MemoryStorage and open another on the same data, as a process does with a directory.
 */
export class MemoryStorageData {
  /** Encoded keys as binary strings (one char per byte), sorted: string order is byte order. */
  readonly keys: string[] = [];
  readonly values = new Map<string, Uint8Array>();
}

export class MemoryStorage implements Storage {
  readonly data: MemoryStorageData;
  private closed = false;

  constructor(data: MemoryStorageData = new MemoryStorageData()) {
    this.data = data;
  }

  get(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.run(() => {
      const value = this.data.values.get(binary(encodeKey(key)));
      return value === undefined ? undefined : Uint8Array.from(value);
    });
  }

  put(key: StorageKey, value: Uint8Array): Promise<void> {
    return this.batch([{ type: 'put', key, value }]);
  }

  delete(key: StorageKey): Promise<void> {
    return this.batch([{ type: 'del', key }]);
  }

  batch(operations: readonly StorageOperation[]): Promise<void> {
    return this.run(() => {
      // Encode every key before touching the data, so a bad operation changes nothing.
      const encoded = operations.map((operation) => ({ operation, key: binary(encodeKey(operation.key)) }));
      for (const { operation, key } of encoded) {
        if (operation.type === 'put') this.set(key, Uint8Array.from(operation.value));
        else this.remove(key);
      }
    });
  }

  list(prefix: StorageKey): Promise<StorageEntry[]> {
    return this.run(() =>
      this.keysIn(prefix).map((key) => ({
        key: decodeKey(Buffer.from(key, 'latin1')),
        value: Uint8Array.from(this.data.values.get(key) ?? []),
      })),
    );
  }

  deleteRange(prefix: StorageKey): Promise<void> {
    return this.run(() => {
      for (const key of this.keysIn(prefix)) this.remove(key);
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** Runs `operation` as an asynchronous call of the port: rejects once closed, never throws. */
  private run<T>(operation: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new CheopsError(ErrorCode.StorageClosed, 'the store is closed'));
    try {
      return Promise.resolve(operation());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private keysIn(prefix: StorageKey): string[] {
    const { gte, lt } = prefixRange(prefix);
    const keys = this.data.keys;
    const start = gte === undefined ? 0 : lowerBound(keys, binary(gte));
    const end = lt === undefined ? keys.length : lowerBound(keys, binary(lt));
    return keys.slice(start, end);
  }

  private set(key: string, value: Uint8Array): void {
    if (!this.data.values.has(key)) this.data.keys.splice(lowerBound(this.data.keys, key), 0, key);
    this.data.values.set(key, value);
  }

  private remove(key: string): void {
    if (!this.data.values.delete(key)) return;
    this.data.keys.splice(lowerBound(this.data.keys, key), 1);
  }
}

function binary(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** The index of the first key not less than `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((keys[middle] ?? '') < key) low = middle + 1;
    else high = middle;
  }
  return low;
}
