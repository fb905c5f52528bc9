/**
 * Creates answered before their replicant is stored (docs/REPLICATION.md §2). A scoped create of a
 * new object is answered once the local application has made it and its intent is stored; the
 * replicant's change is made and stored just after the answer, under the key's lock. The intent
 * is what keeps the answer honest: a crash before the replicant is stored leaves the intent, and
 * start-up makes the replicant from the object the application holds (or forgets the intent when
 * it holds none).
 *
 * It is written in two steps, a write-ahead log's: staged before the application sees the create
 * (no fsync: a log append, durable against the process dying), so that no crash leaves an object
 * the application made that nothing here names (swarm seed 7400111); then recorded (fsync) while
 * the application works, so that the answer's promise holds against the machine too.
 *
 * Stored in the site store under `['create-intent', metaId]`, removed once the replicant is stored.
 */
import { errorMessage, type Logger } from '../../core/index.js';
import { isSiteName, type MetaId, type ResourceKey, type SiteName } from '../../core/ids.js';
import type { Storage, StorageKey, StorageOperation } from '../../crdt/storage.js';
import { isJsonObject, type JsonObject } from '../../glue/json.js';
import { decodeStoredRecord, isStoredKey } from './stored-record.js';

/** A create through this site's front whose replicant may not be stored yet. */
export interface CreateIntent {
  readonly metaId: MetaId;
  readonly key: ResourceKey;
  readonly incarnation: number;
  readonly scope: string;
  readonly sites: readonly SiteName[];
  /** The body the client sent: it names where the application keeps the object. */
  readonly request: JsonObject;
}

const prefix = 'create-intent';
const storageKey = (metaId: MetaId): StorageKey => [prefix, metaId];

/** The intents in the site store. */
export class CreateIntents {
  constructor(
    private readonly storage: Storage,
    private readonly logger: Logger,
    /** False while the store is known to refuse writes (see KeyIndex's). */
    private readonly storeWritable: () => boolean = () => true,
  ) {}

  /** Stores `intent` without an fsync: once resolved, it survives the process dying, not the machine. */
  stage(intent: CreateIntent): Promise<void> {
    return this.storage.batch([{ type: 'put', key: storageKey(intent.metaId), value: encodeIntent(intent) }], { sync: false });
  }

  /** Stores `intent`; resolves once it is durable. */
  record(intent: CreateIntent): Promise<void> {
    return this.storage.put(storageKey(intent.metaId), encodeIntent(intent));
  }

  /** The removal of `metaId`'s intent, to write in the batch that stores its replicant (DocumentStore's `alongside`). */
  clearOperation(metaId: MetaId): StorageOperation {
    return { type: 'del', key: storageKey(metaId) };
  }

  /** Forgets an intent; a failure is logged (a leftover intent costs one check at start-up). */
  async clear(metaId: MetaId): Promise<void> {
    try {
      await this.storage.delete(storageKey(metaId));
    } catch (error) {
      this.logger[this.storeWritable() ? 'warn' : 'debug']({ metaId, error: errorMessage(error) }, 'create intent not removed; start-up checks it again');
    }
  }

  /** The stored intent of `metaId`, if there is one (a malformed one counts as none). */
  async get(metaId: MetaId): Promise<CreateIntent | undefined> {
    const bytes = await this.storage.get(storageKey(metaId));
    return bytes === undefined ? undefined : parseIntent(metaId, bytes);
  }

  /** Every stored intent; a malformed one is logged and removed. */
  async list(): Promise<CreateIntent[]> {
    const intents: CreateIntent[] = [];
    for (const { key, value } of await this.storage.list([prefix])) {
      const intent = parseIntent(key[1], value);
      if (intent !== undefined) {
        intents.push(intent);
        continue;
      }
      this.logger.warn({ key }, 'malformed create intent removed');
      await this.storage.delete(key).catch(() => undefined);
    }
    return intents;
  }
}

function encodeIntent(intent: CreateIntent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(intent));
}

function parseIntent(id: string | undefined, bytes: Uint8Array): CreateIntent | undefined {
  const fields = decodeStoredRecord(id, bytes)?.fields;
  if (fields === undefined) return undefined;
  const sites = fields.sites;
  const valid =
    isStoredKey(fields.key) && typeof fields.incarnation === 'number' && typeof fields.scope === 'string' && isJsonObject(fields.request) &&
    Array.isArray(sites) && sites.every((site) => typeof site === 'string' && isSiteName(site));
  return valid ? (fields as unknown as CreateIntent) : undefined;
}
