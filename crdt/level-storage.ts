/**
 * Storage on disk with LevelDB (`level`, which is classic-level on Node). The only module of
 * Cheops that imports `level`. Keys are encoded by crdt/key-codec.ts, so a prefix is one byte range.
 */
import { Level } from 'level';
import { CheopsError, ErrorCode, errorMessage } from '../core/errors.js';
import { decodeKey, encodeKey, prefixRange } from './key-codec.js';
import type { BatchOptions, Storage, StorageEntry, StorageKey, StorageOperation } from './storage.js';

export interface LevelStorageInit {
  /** The directory of the database; created when missing. */
  readonly location: string;
  /**
   * fsync every write and batch before it resolves. Default true: without it LevelDB hands writes
   * to the OS page cache only, which survives the process being killed but not a power loss or a
   * kernel crash; a site acknowledges changes to its peers once they are stored, and the sync
   * protocol trusts that acknowledgement, so an acknowledged write must survive the machine too.
   * The cost is one fsync per batch, which the document store's group commit amortises. Tests and
   * benchmarks that throw the directory away may turn it off.
   */
  readonly sync?: boolean;
}

type Database = Level<Uint8Array, Uint8Array>;

export class LevelStorage implements Storage {
  private readonly db: Database;
  private readonly sync: boolean;
  private readonly pending = new Set<Promise<unknown>>();
  private closed = false;

  private constructor(db: Database, sync: boolean) {
    this.db = db;
    this.sync = sync;
  }

  /**
   * Opens (creating when missing) the database at `init.location`. Rejects with
   * CHEOPS_STORAGE_FAILURE when it cannot, for example when another process holds it.
   */
  static async open(init: LevelStorageInit): Promise<LevelStorage> {
    const db: Database = new Level<Uint8Array, Uint8Array>(init.location, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      createIfMissing: true,
    });
    try {
      await db.open();
    } catch (error) {
      // LevelDB reports a failed open as "not open" (the cause says why, often LEVEL_LOCKED);
      // that is a failure to open, not a closed store.
      throw storageError(error, `cannot open the store at ${init.location}`, ErrorCode.StorageFailure);
    }
    return new LevelStorage(db, init.sync ?? true);
  }

  get(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.run('get', async () => {
      const value = await this.db.get(encodeKey(key));
      return value === undefined ? undefined : plain(value);
    });
  }

  put(key: StorageKey, value: Uint8Array): Promise<void> {
    return this.run('put', () => this.db.put(encodeKey(key), value, { sync: this.sync }));
  }

  delete(key: StorageKey): Promise<void> {
    return this.run('delete', () => this.db.del(encodeKey(key), { sync: this.sync }));
  }

  batch(operations: readonly StorageOperation[], options: BatchOptions = {}): Promise<void> {
    // One log for every write: a later synced write makes an unsynced one before it durable too.
    const sync = this.sync && options.sync !== false;
    return this.run('batch', () => {
      const encoded = operations.map((operation) =>
        operation.type === 'put'
          ? { type: 'put' as const, key: encodeKey(operation.key), value: operation.value }
          : { type: 'del' as const, key: encodeKey(operation.key) },
      );
      return this.db.batch(encoded, { sync });
    });
  }

  list(prefix: StorageKey): Promise<StorageEntry[]> {
    return this.run('list', async () => {
      const entries = await this.db.iterator(prefixRange(prefix)).all();
      return entries.map(([key, value]) => ({ key: decodeKey(key), value: plain(value) }));
    });
  }

  deleteRange(prefix: StorageKey): Promise<void> {
    // One batch rather than LevelDB's clear(), which is neither atomic nor synced.
    return this.run('deleteRange', async () => {
      const keys = await this.db.keys(prefixRange(prefix)).all();
      if (keys.length === 0) return;
      await this.db.batch(
        keys.map((key) => ({ type: 'del' as const, key })),
        { sync: this.sync },
      );
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let calls already under way finish rather than fail with "not open" half-way.
    await Promise.allSettled([...this.pending]);
    try {
      await this.db.close();
    } catch (error) {
      throw storageError(error, 'cannot close the store');
    }
  }

  private run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new CheopsError(ErrorCode.StorageClosed, 'the store is closed'));
    const promise = (async () => {
      try {
        return await body();
      } catch (error) {
        throw storageError(error, `storage ${operation} failed`);
      }
    })();
    this.pending.add(promise);
    const forget = (): void => {
      this.pending.delete(promise);
    };
    promise.then(forget, forget);
    return promise;
  }
}

/** LevelDB's errors carry a `code` (LEVEL_IO_ERROR, LEVEL_LOCKED, …); keep it in the details. */
function storageError(error: unknown, context: string, forced?: ErrorCode): CheopsError {
  if (error instanceof CheopsError) return error;
  const levelCode = levelErrorCode(error);
  const causeCode = levelErrorCode(error instanceof Error ? error.cause : undefined);
  const code = forced ?? (levelCode === 'LEVEL_DATABASE_NOT_OPEN' ? ErrorCode.StorageClosed : ErrorCode.StorageFailure);
  return new CheopsError(code, `${context}: ${errorMessage(error)}`, {
    cause: error,
    details: { levelCode, ...(causeCode === undefined ? {} : { levelCause: causeCode }) },
  });
}

function levelErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/** classic-level answers Buffers; hand out plain Uint8Array views of the same memory. */
function plain(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
