/**
 * Creates answered before their replicant is stored (docs/REPLICATION.md §2). A scoped create of a
 * new object is answered once the local application has made it and its intent is stored; the
 * replicant's change is made and stored just after the answer, under the key's lock. The intent
 * is what keeps the answer honest: a crash before the replicant is stored leaves the intent, and
 * start-up makes the replicant from the object the application holds (or forgets the intent when
 * it holds none).
 *
 * It is written in two steps, a write-ahead log's: *staged* before the application sees the
 * create, so that no crash of the process leaves an object the application made that nothing here
 * names (swarm seed 7400111); then *recorded* while the application works, so that the answer's
 * promise holds against the machine dying too. With the node's StagingLog (a synchronous append to
 * a file: a LevelDB write's hop to a worker thread cost a create ~0.3 ms on a busy machine) the
 * intent lives there only: recording it is the log's flush (fdatasync), and it is settled in the
 * log once its replicant is stored. A crash between the replicant's batch and that settle frame
 * leaves an intent whose replicant is stored, which start-up forgets. Without a log, it is staged
 * in the site store without an fsync, recorded with one under `['create-intent', metaId]`, and
 * removed in the replicant's own batch.
 *
 * Start-up moves what the log holds open to the store, and settles it from there.
 */
import { errorMessage, type Logger } from '../../core/index.js';
import { isSiteName, type MetaId, type ResourceKey, type SiteName } from '../../core/ids.js';
import type { Storage, StorageKey, StorageOperation } from '../../crdt/storage.js';
import { isJsonObject, type JsonObject } from '../../glue/json.js';
import type { StagingLog } from '../../crdt/staging-log.js';
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

/** The intents in the site store, and those only in the staging log. */
export class CreateIntents {
  /** Intents held in the staging log, not in the store, until settled there. */
  private readonly inLog = new Map<MetaId, CreateIntent>();

  constructor(
    private readonly storage: Storage,
    private readonly logger: Logger,
    /** False while the store is known to refuse writes (see KeyIndex's). */
    private readonly storeWritable: () => boolean = () => true,
    private readonly staging?: StagingLog,
  ) {}

  /** Writes `intent` where it survives the process dying (not the machine); resolves once it does. */
  stage(intent: CreateIntent): Promise<void> {
    if (this.staging === undefined) {
      return this.storage.batch([{ type: 'put', key: storageKey(intent.metaId), value: encodeIntent(intent) }], { sync: false });
    }
    try {
      this.staging.stage(intent.metaId, encodeIntent(intent));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.inLog.set(intent.metaId, intent);
    return Promise.resolve();
  }

  /** Makes `intent` (staged) survive the machine dying; resolves once it does. */
  async record(intent: CreateIntent): Promise<void> {
    if (this.staging !== undefined && this.inLog.has(intent.metaId)) return this.staging.flush();
    await this.storage.put(storageKey(intent.metaId), encodeIntent(intent));
  }

  /** What removes `metaId`'s intent from the store, to write in the batch that stores its replicant (DocumentStore's `alongside`); none when it is in the log only (`stored` settles it there). */
  clearOperations(metaId: MetaId): StorageOperation[] {
    return this.inLog.has(metaId) ? [] : [{ type: 'del', key: storageKey(metaId) }];
  }

  /** Settles `metaId`'s intent in the log once the batch of `clearOperations` is stored. */
  stored(metaId: MetaId): void {
    if (this.inLog.delete(metaId)) this.staging?.settle(metaId);
  }

  /** Forgets an intent; a failure is logged (a leftover intent costs one check at start-up). */
  async clear(metaId: MetaId): Promise<void> {
    // In the log only: nothing in the store.
    if (this.inLog.delete(metaId)) {
      this.staging?.settle(metaId);
      return;
    }
    try {
      await this.storage.delete(storageKey(metaId));
    } catch (error) {
      this.logger[this.storeWritable() ? 'warn' : 'debug']({ metaId, error: errorMessage(error) }, 'create intent not removed; start-up checks it again');
    }
  }

  /** The stored intent of `metaId`, if there is one (a malformed one counts as none). */
  async get(metaId: MetaId): Promise<CreateIntent | undefined> {
    const bytes = await this.storage.get(storageKey(metaId));
    return bytes === undefined ? this.inLog.get(metaId) : parseIntent(metaId, bytes);
  }

  /** Every stored intent, the staging log's leftovers moved to the store first; a malformed one is logged and removed. Not those this process holds in the log only. */
  async list(): Promise<CreateIntent[]> {
    await this.recordLeftovers();
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

  /** Records in the store the intents an earlier process left open in the log (it crashed before their replicants' settle frames). */
  private async recordLeftovers(): Promise<void> {
    // The key index's marks share the log (key-index.ts, `mark:` ids); a meta-ID has no colon.
    const leftovers = (this.staging?.leftovers() ?? []).filter(({ id }) => !id.includes(':'));
    if (leftovers.length === 0) return;
    const operations = leftovers.flatMap(({ id, record }) => {
      const intent = parseIntent(id, record);
      if (intent !== undefined) return [{ type: 'put' as const, key: storageKey(intent.metaId), value: record }];
      this.logger.warn({ metaId: id }, 'malformed staged create intent dropped');
      return [];
    });
    await this.storage.batch(operations);
    this.staging?.forgetLeftovers(leftovers.map(({ id }) => id));
    this.logger.info({ intents: operations.length }, 'create intents staged before a crash recorded');
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
