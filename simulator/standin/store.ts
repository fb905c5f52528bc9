/**
 * The object store: every object of every served type, one monotonic resource version per server,
 * and the recent history of changes that watches replay. Writes go one at a time through a queue,
 * are persisted (object and counter in one atomic batch) before they become visible, and then are
 * announced to subscribers. Without a Storage the store lives in memory only.
 */
import type { Logger } from '../../core/logger.js';
import type { Storage, StorageOperation } from '../../crdt/storage.js';
import { expired, internalError } from './errors.js';
import { cloneJson, isJsonObject, objectAt, type JsonObject } from './json.js';
import { resourceTypes, type ResourceType } from './resources.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change, as watches see it. */
export interface StoreEvent {
  readonly type: WatchEventType;
  readonly resource: ResourceType;
  /** The object after the change; for DELETED, its last state with the deletion's version. */
  readonly object: JsonObject;
  /** The object before the change (MODIFIED and DELETED). */
  readonly previous?: JsonObject;
  readonly resourceVersion: number;
}

/** What a transaction decides: write this object, delete the object, or leave things as they are. */
export type Mutation = { readonly put: JsonObject } | { readonly delete: true } | { readonly keep: true };

export interface ObjectStoreOptions {
  readonly storage?: Storage;
  readonly logger: Logger;
  /** How many recent changes watches can replay; older versions get 410 Expired. */
  readonly historySize?: number;
}

const objectsPrefix = ['standin', 'objects'] as const;
const versionKey = ['standin', 'meta', 'resourceVersion'] as const;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function typeKey(type: ResourceType): string {
  return `${type.group === '' ? 'core' : type.group}/${type.plural}`;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Objects by type, then namespace ('' for cluster-scoped), then name: lists read one branch. */
class ObjectIndex {
  private readonly types = new Map<string, Map<string, Map<string, JsonObject>>>();

  get(type: ResourceType, namespace: string, name: string): JsonObject | undefined {
    return this.types.get(typeKey(type))?.get(namespace)?.get(name);
  }

  set(type: ResourceType, namespace: string, name: string, object: JsonObject): void {
    let namespaces = this.types.get(typeKey(type));
    if (namespaces === undefined) this.types.set(typeKey(type), (namespaces = new Map<string, Map<string, JsonObject>>()));
    let names = namespaces.get(namespace);
    if (names === undefined) namespaces.set(namespace, (names = new Map<string, JsonObject>()));
    names.set(name, object);
  }

  delete(type: ResourceType, namespace: string, name: string): void {
    const namespaces = this.types.get(typeKey(type));
    const names = namespaces?.get(namespace);
    names?.delete(name);
    if (names?.size === 0) namespaces?.delete(namespace);
  }

  /** The objects of a type in one namespace or all, in etcd key order (`<namespace>/<name>`). */
  list(type: ResourceType, namespace?: string): JsonObject[] {
    const namespaces = this.types.get(typeKey(type));
    if (namespaces === undefined) return [];
    const selected = namespace === undefined ? [...namespaces.keys()] : [namespace];
    const entries = selected.flatMap((key) => [...(namespaces.get(key)?.entries() ?? [])].map(([name, object]) => [`${key}/${name}`, object] as const));
    return entries.sort(([a], [b]) => byName(a, b)).map(([, object]) => object);
  }

  get size(): number {
    let count = 0;
    for (const namespaces of this.types.values()) for (const names of namespaces.values()) count += names.size;
    return count;
  }
}

function storageKey(type: ResourceType, namespace: string, name: string): string[] {
  return [...objectsPrefix, type.group === '' ? 'core' : type.group, type.plural, namespace === '' ? '_' : namespace, name];
}

function namespaceOf(object: JsonObject): string {
  const value = objectAt(object, 'metadata')?.namespace;
  return typeof value === 'string' ? value : '';
}

function nameOf(object: JsonObject): string {
  const value = objectAt(object, 'metadata')?.name;
  return typeof value === 'string' ? value : '';
}

export class ObjectStore {
  private readonly objects = new ObjectIndex();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private readonly historySize: number;
  private version = 0;
  /** Versions at or below this one are not in the history (before a restart, or dropped). */
  private historyFloor = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ObjectStoreOptions) {
    this.historySize = options.historySize ?? 4096;
  }

  /** Reads the persisted objects and version; call once before use. */
  async load(): Promise<void> {
    const storage = this.options.storage;
    if (storage === undefined) return;
    const stored = await storage.get(versionKey);
    this.version = stored === undefined ? 0 : Number(decoder.decode(stored));
    for (const entry of await storage.list(objectsPrefix)) {
      const [, , group, plural] = entry.key;
      const type = resourceTypes.find((candidate) => (candidate.group === '' ? 'core' : candidate.group) === group && candidate.plural === plural);
      const object: unknown = JSON.parse(decoder.decode(entry.value));
      if (type === undefined || !isJsonObject(object)) continue;
      this.objects.set(type, namespaceOf(object), nameOf(object), object);
    }
    this.historyFloor = this.version;
    this.options.logger.debug({ objects: this.objects.size, resourceVersion: this.version }, 'stand-in state loaded');
  }

  /** The newest resource version. */
  get resourceVersion(): number {
    return this.version;
  }

  /** A copy of one object, or undefined. */
  get(type: ResourceType, namespace: string, name: string): JsonObject | undefined {
    const object = this.objects.get(type, namespace, name);
    return object === undefined ? undefined : cloneJson(object);
  }

  /** Copies of the objects of a type, in one namespace or all, in key order. */
  list(type: ResourceType, namespace?: string): JsonObject[] {
    return this.objects.list(type, namespace).map((object) => cloneJson(object));
  }

  /**
   * Runs `decide` on the current object (a copy) with no other write in between, then commits its
   * decision. Resolves to the committed object (the deleted one for a deletion, the current one
   * when kept). `decide` may throw to refuse; nothing is written then.
   */
  transact(
    type: ResourceType,
    namespace: string,
    name: string,
    decide: (current: JsonObject | undefined) => Mutation,
  ): Promise<JsonObject | undefined> {
    const run = async (): Promise<JsonObject | undefined> => {
      const stored = this.objects.get(type, namespace, name);
      const mutation = decide(stored === undefined ? undefined : cloneJson(stored));
      if ('keep' in mutation) return stored === undefined ? undefined : cloneJson(stored);
      if ('delete' in mutation) {
        if (stored === undefined) return undefined;
        return this.commit(type, namespace, name, undefined, stored);
      }
      return this.commit(type, namespace, name, mutation.put, stored);
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async commit(
    type: ResourceType,
    namespace: string,
    name: string,
    next: JsonObject | undefined,
    previous: JsonObject | undefined,
  ): Promise<JsonObject> {
    const version = this.version + 1;
    const object = cloneJson(next ?? previous ?? {});
    const metadata = objectAt(object, 'metadata') ?? {};
    metadata.resourceVersion = String(version);
    object.metadata = metadata;
    await this.persist(type, namespace, name, next === undefined ? undefined : object, version);
    this.version = version;
    if (next === undefined) this.objects.delete(type, namespace, name);
    else this.objects.set(type, namespace, name, object);
    const eventType: WatchEventType = next === undefined ? 'DELETED' : previous === undefined ? 'ADDED' : 'MODIFIED';
    this.record({ type: eventType, resource: type, object, ...(previous === undefined ? {} : { previous }), resourceVersion: version });
    return cloneJson(object);
  }

  private async persist(type: ResourceType, namespace: string, name: string, object: JsonObject | undefined, version: number): Promise<void> {
    const storage = this.options.storage;
    if (storage === undefined) return;
    const key = storageKey(type, namespace, name);
    const operations: StorageOperation[] = [
      object === undefined ? { type: 'del', key } : { type: 'put', key, value: encoder.encode(JSON.stringify(object)) },
      { type: 'put', key: versionKey, value: encoder.encode(String(version)) },
    ];
    try {
      await storage.batch(operations);
    } catch (error) {
      this.options.logger.error({ err: error, key }, 'stand-in storage write failed');
      throw internalError(`storage write failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historySize) {
      const dropped = this.history.shift();
      if (dropped !== undefined) this.historyFloor = dropped.resourceVersion;
    }
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.options.logger.error({ err: error }, 'stand-in store listener failed');
      }
    }
  }

  /**
   * The changes after `resourceVersion`, or a 410 Expired error when they are no longer known,
   * as an API server's watch cache answers.
   */
  changesSince(resourceVersion: number): StoreEvent[] {
    if (resourceVersion < this.historyFloor) {
      throw expired(`too old resource version: ${resourceVersion} (${this.historyFloor})`);
    }
    return this.history.filter((event) => event.resourceVersion > resourceVersion);
  }

  /** Calls `listener` after each committed change; returns the unsubscribe function. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once every write queued so far has been committed or refused. */
  async settled(): Promise<void> {
    await this.queue;
  }
}
