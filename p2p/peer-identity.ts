/**
 * The site's libp2p private key, persisted so that its peer id (which the site directory binds
 * to the site's name) survives restarts. The key is kept behind a tiny `KeyStore` port so the
 * node can keep it in its Storage or in a file of its own.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { CheopsError, ErrorCode } from '../core/errors.js';
import type { Storage, StorageKey } from '../crdt/storage.js';

/** Where the private key's bytes live (libp2p's protobuf encoding of the key). */
export interface KeyStore {
  /** The stored bytes, or undefined when no key was saved yet. */
  load(): Promise<Uint8Array | undefined>;
  /** Stores the bytes durably. */
  save(bytes: Uint8Array): Promise<void>;
}

/** The Storage key of the private key. */
export const privateKeyStorageKey: StorageKey = ['identity', 'private-key'];

/** A key store in the site's Storage, under `['identity', 'private-key']` by default. */
export function storageKeyStore(storage: Storage, key: StorageKey = privateKeyStorageKey): KeyStore {
  return {
    load: () => storage.get(key),
    save: (bytes) => storage.put(key, bytes),
  };
}

/** A key store in a file, written atomically (temp file and rename) and readable by the owner only. */
export function fileKeyStore(path: string): KeyStore {
  return {
    async load() {
      try {
        return new Uint8Array(await readFile(path));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async save(bytes) {
      await mkdir(dirname(path), { recursive: true });
      const temporary = `${path}.tmp`;
      await writeFile(temporary, bytes, { mode: 0o600 });
      await rename(temporary, path);
    },
  };
}

/** A key store in memory (tests; one per simulated site). */
export function memoryKeyStore(initial?: Uint8Array): KeyStore {
  let stored = initial;
  return {
    load: () => Promise.resolve(stored),
    save: (bytes) => {
      stored = Uint8Array.from(bytes);
      return Promise.resolve();
    },
  };
}

/**
 * Loads the private key from `keyStore`, or makes a new Ed25519 key and saves it first. A stored
 * key that does not decode is an error, never silently replaced: a new key would be a new
 * peer id, and the site directory would refuse the site's own name.
 */
export async function loadOrCreatePrivateKey(keyStore: KeyStore): Promise<PrivateKey> {
  const stored = await keyStore.load();
  if (stored !== undefined) {
    try {
      return privateKeyFromProtobuf(stored);
    } catch (error) {
      throw new CheopsError(ErrorCode.ConfigInvalid, 'the stored private key does not decode', {
        cause: error,
      });
    }
  }
  const key = await generateKeyPair('Ed25519');
  await keyStore.save(privateKeyToProtobuf(key));
  return key;
}
