import { describe, expect, it } from 'vitest';
import { asMetaId, asSiteName, type ResourceKey } from '../../core/ids.js';
import { MemoryLogger, silentLogger } from '../../core/logger.js';
import { MemoryStorage } from '../../crdt/memory-storage.js';
import { MemoryStagingLog } from '../../crdt/staging-log.js';
import { CountingStorage } from '../../crdt/test-helpers.js';
import { metaIdOf } from '../../crdt/replicant.js';
import { contestedNames, dependentText, KeyIndex, type IndexEntry } from './key-index.js';

const key: ResourceKey = { app: 'kubernetes', service: 'pods', namespace: 'default', name: 'purple' };
const entry = (incarnation: number, deleted: boolean): IndexEntry => ({
  metaId: metaIdOf(key, incarnation), key, incarnation, scope: '{Site1 & Site2}', sites: [asSiteName('Site1'), asSiteName('Site2')],
  deleted, conflicts: [], reported: [], statuses: {},
});

describe('KeyIndex', () => {
  it('warns of a failed write, but only at debug level while the store is known to refuse writes (a full disk refuses them all)', async () => {
    const storage = new CountingStorage(new MemoryStorage());
    const logger = new MemoryLogger();
    let writable = true;
    const index = new KeyIndex(storage, logger, () => false, () => writable);
    const levels = (): string[] => logger.find('replicant index write failed').map((record) => record.level);
    storage.failNext();
    await index.put(entry(0, false));
    writable = false;
    storage.failNext();
    await index.put(entry(0, true));
    expect(levels()).toEqual(['warn', 'debug']);
  });

  it('finds the live replicant of a key and the incarnation a new one gets', async () => {
    const index = new KeyIndex(new MemoryStorage(), silentLogger);
    expect(index.nextIncarnation(key)).toBe(0);
    await index.put(entry(0, false));
    expect(index.live(key)?.incarnation).toBe(0);
    expect(index.nextIncarnation(key)).toBe(0);
    await index.put(entry(0, true));
    expect(index.live(key)).toBeUndefined();
    expect(index.nextIncarnation(key)).toBe(1);
    await index.put(entry(1, false));
    expect(index.superseded(entry(0, true))).toBe(true);
    expect(index.live({ ...key })?.incarnation).toBe(1);
  });

  it('tells its listeners of an entry whose sites grow, once the entry is in (the share policy reads it)', async () => {
    const index = new KeyIndex(new MemoryStorage(), silentLogger);
    const seen: string[][] = [];
    const stop = index.onWidened((metaId) => seen.push([...(index.byMetaId(metaId)?.sites ?? [])]));
    await index.put(entry(0, false));
    await index.put({ ...entry(0, false), statuses: { Site1: 'applied' } });
    await index.put({ ...entry(0, false), sites: [asSiteName('Site1'), asSiteName('Site2'), asSiteName('Site3')] });
    expect(seen).toEqual([['Site1', 'Site2', 'Site3']]);
    stop();
    await index.put({ ...entry(0, false), sites: [asSiteName('Site1'), asSiteName('Site2'), asSiteName('Site3'), asSiteName('Site4')] });
    expect(seen).toHaveLength(1);
  });

  it('survives a restart from the site store, skipping malformed entries', async () => {
    const storage = new MemoryStorage();
    const index = new KeyIndex(storage, silentLogger);
    await index.put({ ...entry(0, false), conflicts: ['2-Site2-00000000'] });
    expect(index.hasUnreported()).toBe(true);
    await index.update(metaIdOf(key, 0), { currentAt: ['aa'], reported: ['2-Site2-00000000'] });
    expect(index.hasUnreported()).toBe(false);
    await storage.put(['replicant-key', asMetaId('notameta')], new TextEncoder().encode('{}'));
    await storage.put(['replicant-key', metaIdOf(key, 5)], new TextEncoder().encode('garbage'));
    const reloaded = new KeyIndex(storage, silentLogger);
    await reloaded.load();
    expect(reloaded.size).toBe(1);
    expect(reloaded.byMetaId(metaIdOf(key, 0))).toMatchObject({ currentAt: ['aa'], reported: ['2-Site2-00000000'] });
    await reloaded.remove(metaIdOf(key, 0));
    const empty = new KeyIndex(storage, silentLogger);
    await empty.load();
    expect(empty.size).toBe(0);
  });

  it('finds what a resource relies on, after a restart too, and forgets it with the entry', async () => {
    const storage = new MemoryStorage();
    const index = new KeyIndex(storage, silentLogger);
    const secret: ResourceKey = { app: 'kubernetes', service: 'secrets', namespace: 'default', name: 'token' };
    const site1 = asSiteName('Site1');
    expect(index.hasDependents()).toBe(false);
    await index.put({ ...entry(0, false), key: secret, metaId: metaIdOf(secret, 0), dependents: [dependentText(site1, key)] });
    expect(index.hasDependents()).toBe(true);
    expect(index.dependenciesOf(site1, key).map((found) => found.key.name)).toEqual(['token']);
    expect(index.dependenciesOf(asSiteName('Site2'), key)).toEqual([]);
    const reloaded = new KeyIndex(storage, silentLogger);
    await reloaded.load();
    expect(reloaded.dependenciesOf(site1, key).map((found) => found.key.name)).toEqual(['token']);
    // Deleted, it is relied upon no more; removed, it is forgotten.
    await reloaded.put({ ...reloaded.byMetaId(metaIdOf(secret, 0))!, deleted: true });
    expect(reloaded.dependenciesOf(site1, key)).toEqual([]);
    await reloaded.remove(metaIdOf(secret, 0));
    expect(reloaded.hasDependents()).toBe(false);
  });

  it('notes the names of a cross container that two sites claimed', () => {
    const named = (name: string): ResourceKey => ({ app: 'kubernetes', service: 'pods', namespace: 'spread', name });
    const claims = [
      { site: asSiteName('Site1'), key: named('twin'), at: 1 }, { site: asSiteName('Site2'), key: named('twin'), at: 2 },
      { site: asSiteName('Site1'), key: named('alone'), at: 1 }, { site: asSiteName('Site1'), key: named('alone'), at: 3 },
    ];
    expect(contestedNames(claims)).toEqual(['kubernetes:pods/spread/twin']);
    expect(contestedNames([])).toEqual([]);
  });

  it('hands the write of a reserved entry to the caller, who stores it with its document', async () => {
    const storage = new MemoryStorage();
    const index = new KeyIndex(storage, silentLogger);
    index.reserve(entry(0, false));
    const write = index.claimWrite(metaIdOf(key, 0));
    expect(write?.type).toBe('put');
    await storage.batch([write!]);
    // The same entry again writes nothing: the reservation ended with the claimed write.
    const batches = countBatches(storage);
    await index.put(entry(0, false));
    expect(batches).toEqual([]);
    const reloaded = new KeyIndex(storage, silentLogger);
    await reloaded.load();
    expect(reloaded.live(key)?.metaId).toBe(metaIdOf(key, 0));
    expect(index.claimWrite(metaIdOf(key, 9))).toBeUndefined();
  });

  it('stores the entries written together in one batch, and the last version of each, in order', async () => {
    const storage = new MemoryStorage();
    const index = new KeyIndex(storage, silentLogger);
    const held: Held = {};
    const batches = countBatches(storage, held);
    const keys = Array.from({ length: 20 }, (_, i): ResourceKey => ({ ...key, name: `pod-${i}` }));
    const entryOf = (k: ResourceKey, deleted: boolean): IndexEntry => ({ ...entry(0, deleted), key: k, metaId: metaIdOf(k, 0) });
    await Promise.all(keys.map((k) => index.put(entryOf(k, false))));
    expect(batches).toEqual([20]);
    // Written while a batch is under way: they wait for it, then go together, the latest state of each.
    let release = (): void => undefined;
    held.gate = new Promise<void>((resolve) => (release = resolve));
    const inFlight = new Promise<void>((resolve) => (held.onBatch = resolve));
    const first = index.put(entryOf(keys[0]!, true));
    await inFlight;
    const again = [index.put(entryOf(keys[1]!, true)), index.remove(metaIdOf(keys[2]!, 0)), index.put(entryOf(keys[0]!, false))];
    // A write of the index is under way for these: their entry is not the caller's to store.
    expect(index.claimWrite(metaIdOf(keys[0]!, 0))).toBeUndefined();
    held.gate = undefined;
    release();
    await Promise.all([first, ...again]);
    expect(batches).toEqual([20, 1, 3]);
    await index.settled();
    const reloaded = new KeyIndex(storage, silentLogger);
    await reloaded.load();
    expect(reloaded.size).toBe(19);
    expect(reloaded.byMetaId(metaIdOf(keys[0]!, 0))?.deleted).toBe(false);
    expect(reloaded.byMetaId(metaIdOf(keys[1]!, 0))?.deleted).toBe(true);
  });

  it('writes its entries unsynced (a cache of the documents), but the mark of a write through the front synced', async () => {
    const storage = new CountingStorage(new MemoryStorage());
    const index = new KeyIndex(storage, silentLogger);
    await index.put(entry(0, false));
    await index.update(metaIdOf(key, 0), { currentAt: ['aa'] });
    // The mark must be on disk before the application sees the write; clearing it need not be.
    await index.markLocalWrite(metaIdOf(key, 0), true);
    await index.markLocalWrite(metaIdOf(key, 0), false);
    await index.remove(metaIdOf(key, 0));
    expect(storage.synced).toEqual([false, false, true, false, false]);
  });

  it('with a staging log, keeps the mark there, not in the store, until its clearing is stored; a crash leaves it in the log, read back at load', async () => {
    const storage = new CountingStorage(new MemoryStorage());
    const log = new MemoryStagingLog();
    const index = new KeyIndex(storage, silentLogger, () => false, () => true, log);
    await index.put(entry(0, false));
    await index.settled();
    const before = storage.synced.length;
    await index.markLocalWrite(metaIdOf(key, 0), true);
    await index.settled();
    expect(index.byMetaId(metaIdOf(key, 0))?.localWritePending).toBe(true);
    // Nothing written to the store for it: what a crash now leaves is the log's record.
    expect(storage.synced.length).toBe(before);
    const afterCrash = log.reopen();
    expect(afterCrash.leftovers().map(({ id }) => id)).toEqual([`mark:${metaIdOf(key, 0)}`]);
    const reloaded = new KeyIndex(storage.inner, silentLogger, () => false, () => true, afterCrash);
    await reloaded.load();
    expect(reloaded.byMetaId(metaIdOf(key, 0))?.localWritePending).toBe(true);
    expect(afterCrash.leftovers()).toEqual([]);
    // The mark is in the store now: a second restart finds it there, not in the log.
    const again = new KeyIndex(storage.inner, silentLogger, () => false, () => true, afterCrash.reopen());
    await again.load();
    expect(again.byMetaId(metaIdOf(key, 0))?.localWritePending).toBe(true);
    // Cleared in the first process: open in its log until the clearing is stored, then closed.
    storage.hold();
    const cleared = index.markLocalWrite(metaIdOf(key, 0), false);
    expect(log.reopen().leftovers().map(({ id }) => id)).toEqual([`mark:${metaIdOf(key, 0)}`]);
    storage.release();
    await cleared;
    expect(log.reopen().leftovers()).toEqual([]);
    // Marked again by the next write before the clearing is stored: that mark stays open.
    await index.markLocalWrite(metaIdOf(key, 0), true);
    storage.hold();
    const clearedAgain = index.markLocalWrite(metaIdOf(key, 0), false);
    await index.markLocalWrite(metaIdOf(key, 0), true);
    storage.release();
    await clearedAgain;
    expect(log.reopen().leftovers().map(({ id }) => id)).toEqual([`mark:${metaIdOf(key, 0)}`]);
  });
});

/** While `gate` is set, a batch waits for it before writing; `onBatch` is called as each batch starts. */
interface Held {
  gate?: Promise<void> | undefined;
  onBatch?: () => void;
}

/** The size of each batch `storage` writes from now on (the index writes nothing else). */
function countBatches(storage: MemoryStorage, held: Held = {}): number[] {
  const sizes: number[] = [];
  const original = storage.batch.bind(storage);
  storage.batch = async (operations) => {
    sizes.push(operations.length);
    held.onBatch?.();
    if (held.gate !== undefined) await held.gate;
    return original(operations);
  };
  return sizes;
}
