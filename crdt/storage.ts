/**
 * The Storage port: a small ordered key-value store of bytes, modelled on automerge-repo's
 * storage adapter. Keys are arrays of strings (`['doc', 'sites', 'snapshot']`); a prefix of a key
 * names a range. Implementations: LevelStorage (on disk) and MemoryStorage (tests, simulator);
 * both pass the contract suite in storage-contract.ts.
 */
export type StorageKey = readonly string[];

export interface StorageEntry {
  readonly key: StorageKey;
  readonly value: Uint8Array;
}

export type StorageOperation =
  | { readonly type: 'put'; readonly key: StorageKey; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: StorageKey };

/** How a batch is written. */
export interface BatchOptions {
  /**
   * False: once resolved, the batch survives the process dying but need not survive the machine
   * (a power loss, a kernel crash) until a later synced write does; it costs no fsync of its own.
   * For what storage can rebuild from the rest (an index of the documents). Default true. Stores
   * whose only crash is the process dying (MemoryStorage, the simulator's disk) treat both alike.
   */
  readonly sync?: boolean;
}

export interface Storage {
  /** The value stored under `key`, or undefined. */
  get(key: StorageKey): Promise<Uint8Array | undefined>;
  /** Stores `value` under `key`; durable once the promise resolves. */
  put(key: StorageKey, value: Uint8Array): Promise<void>;
  /** Removes `key`; removing a missing key is not an error. */
  delete(key: StorageKey): Promise<void>;
  /** Applies all operations atomically (all or none), durable once the promise resolves (see BatchOptions). */
  batch(operations: readonly StorageOperation[], options?: BatchOptions): Promise<void>;
  /** Every entry whose key starts with `prefix`, in key order. */
  list(prefix: StorageKey): Promise<StorageEntry[]>;
  /** Removes every entry whose key starts with `prefix`. */
  deleteRange(prefix: StorageKey): Promise<void>;
  /** Releases the store; later calls reject with CHEOPS_STORAGE_CLOSED. */
  close(): Promise<void>;
}
