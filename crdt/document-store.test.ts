import * as Automerge from '@automerge/automerge';
import { Buffer } from 'node:buffer';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, isCheopsError } from '../core/errors.js';
import { asDocumentId } from '../core/ids.js';
import { MemoryLogger, silentLogger } from '../core/logger.js';
import { chunkKey, encodeIndexRecord, indexKey, snapshotKey } from './document-layout.js';
import { DocumentStore } from './document-store.js';
import type { DocumentChangedEvent } from './documents.js';
import { LevelStorage } from './level-storage.js';
import { MemoryStorage } from './memory-storage.js';
import { CountingStorage, ManualClock, openStore, rejection, seededRandom, storedBytes, syncDocuments } from './test-helpers.js';

interface Resource {
  name: string;
  n: number;
  body?: Automerge.ImmutableString;
  tags?: string[];
}

const docA = asDocumentId('res/a');
const docB = asDocumentId('res/b');
const directories: string[] = [];

afterAll(async () => {
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
});

describe('DocumentStore: local API', () => {
  it('creates, changes and reads a document, resolving with its stored heads', async () => {
    const store = await openStore(new MemoryStorage());
    const created = await store.create(docA, { name: 'purple', n: 1, tags: ['x'] });
    expect(store.has(docA)).toBe(true);
    expect(store.heads(docA)).toEqual(created);
    const heads = await store.change<Resource>(docA, (doc) => {
      doc.n = 2;
      doc.body = new Automerge.ImmutableString('{"kind":"Pod"}');
    });
    expect(store.heads(docA)).toEqual(heads);
    const value = await store.read<Resource>(docA);
    expect(value).toMatchObject({ name: 'purple', n: 2, tags: ['x'] });
    expect(value?.body?.toString()).toBe('{"kind":"Pod"}');
    // A read is a snapshot: the changes made after it do not show in it.
    await store.change<Resource>(docA, (doc) => void (doc.n = 3));
    expect(value?.n).toBe(2);
    expect((await store.read<Resource>(docA))?.n).toBe(3);
    expect(await store.read(docB)).toBeUndefined();
    expect(store.ids()).toEqual([docA]);
    await store.close();
  });

  it('refuses to create twice and to change an absent document unless asked to create it', async () => {
    const store = await openStore(new MemoryStorage());
    await store.create(docA, { n: 1 });
    expect(isCheopsError(await rejection(store.create(docA, { n: 2 })), ErrorCode.DocumentExists)).toBe(true);
    const [first, second] = await Promise.allSettled([store.create(docB, { n: 1 }), store.create(docB, { n: 2 })]);
    expect(first.status).toBe('fulfilled');
    expect(second.status === 'rejected' && isCheopsError(second.reason, ErrorCode.DocumentExists)).toBe(true);
    const missing = asDocumentId('res/missing');
    expect(isCheopsError(await rejection(store.change(missing, () => undefined)), ErrorCode.DocumentNotFound)).toBe(true);
    await store.change<{ n?: number }>(missing, (doc) => void (doc.n = 5), { create: true });
    expect(await store.read(missing)).toEqual({ n: 5 });
    await store.close();
  });

  it('leaves the document unchanged when the change function throws', async () => {
    const store = await openStore(new MemoryStorage());
    await store.create(docA, { n: 1 });
    const failing = store.change<Resource>(docA, (doc) => {
      doc.n = 99;
      throw new Error('no');
    });
    await expect(failing).rejects.toThrow('no');
    expect(await store.read(docA)).toEqual({ n: 1 });
    await store.change<Resource>(docA, (doc) => void (doc.n = 2));
    expect(await store.read(docA)).toEqual({ n: 2 });
    await store.close();
  });

  it('makes a change at heads the document had, concurrent with what came since, and stores it', async () => {
    const storage = new MemoryStorage();
    const store = await openStore(storage);
    const before = await store.create(docA, { name: 'purple', n: 1 });
    await store.change<Resource>(docA, (doc) => void (doc.n = 2));
    const heads = await store.change<Resource>(docA, (doc) => void (doc.n = 3), { at: before });
    // Two heads: neither change saw the other, and the document holds both values of `n`.
    expect(heads).toHaveLength(2);
    const read = (await store.read<Resource>(docA)) as Automerge.Doc<Resource>;
    expect(Object.values(Automerge.getConflicts(read, 'n') ?? {}).sort()).toEqual([2, 3]);
    await store.close();
    const reopened = await openStore(storage);
    expect(reopened.heads(docA)).toEqual(heads);
    await reopened.close();
  });

  it('reads a document as it was at earlier heads, and lists the messages of the changes stored since them', async () => {
    const store = await openStore(new MemoryStorage());
    const before = await store.create(docA, { name: 'purple', n: 1 }, { message: 'create' });
    await store.change<Resource>(docA, (doc) => void (doc.n = 2), { message: 'upsert by Site1 0a0b0c0d' });
    await store.change<Resource>(docA, (doc) => void (doc.n = 3), { message: 'upsert by Site1 01020304' });
    expect((await store.readAt<Resource>(docA, before))?.n).toBe(1);
    expect((await store.read<Resource>(docA))?.n).toBe(3);
    expect(await store.messagesSince(docA, before)).toEqual(['upsert by Site1 0a0b0c0d', 'upsert by Site1 01020304']);
    expect(await store.messagesSince(docA, store.heads(docA) ?? [])).toEqual([]);
    // Heads the document does not hold, or no document: nothing to tell.
    expect(await store.messagesSince(docA, ['ab'.repeat(32)])).toBeUndefined();
    expect(await store.readAt(docA, ['ab'.repeat(32)])).toBeUndefined();
    expect(await store.messagesSince(docB, before)).toBeUndefined();
    await store.close();
  });

  it('stamps changes with the injected clock and message, and draws its actor from the injected Random', async () => {
    const clock = new ManualClock(1_234_567_890_123);
    const store = await openStore(new MemoryStorage(), 7, {}, clock);
    const events: DocumentChangedEvent[] = [];
    store.onChange((event) => events.push(event));
    await store.create(docA, { n: 1 }, { message: 'create purple' });
    const decoded = Automerge.decodeChange(events[0]?.changes[0] ?? new Uint8Array());
    expect(decoded.time).toBe(1_234_567_890);
    expect(decoded.message).toBe('create purple');
    expect(decoded.actor).toBe(Buffer.from(seededRandom(7).bytes(16)).toString('hex'));
    expect(store.actorId).toBe(decoded.actor);
    await store.close();
  });

  it('writes the same bytes for the same seed, clock and changes', async () => {
    const run = async (): Promise<string[]> => {
      const storage = new MemoryStorage();
      const store = await openStore(storage, 42);
      await store.create(docA, { name: 'a', n: 1 });
      await store.change<Resource>(docA, (doc) => void (doc.n = 2));
      await store.close();
      return storedBytes(storage);
    };
    expect(await run()).toEqual(await run());
  });

  it('deletes a document from memory and storage', async () => {
    const storage = new MemoryStorage();
    const store = await openStore(storage);
    await store.create(docA, { n: 1 });
    await store.create(docB, { n: 1 });
    await store.delete(docA);
    expect(store.has(docA)).toBe(false);
    expect(await store.read(docA)).toBeUndefined();
    expect(await storage.list(['doc', docA])).toEqual([]);
    expect(await storage.get(indexKey(docA))).toBeUndefined();
    await store.create(docA, { n: 3 });
    expect(await store.read(docA)).toEqual({ n: 3 });
    await store.close();
  });

  it('rejects calls before open and after close', async () => {
    const store = new DocumentStore({ storage: new MemoryStorage(), clock: new ManualClock(), random: seededRandom(1), logger: silentLogger });
    expect(isCheopsError(await rejection(store.read(docA)), ErrorCode.NotRunning)).toBe(true);
    await store.open();
    await store.close();
    expect(isCheopsError(await rejection(store.create(docA, {})), ErrorCode.NotRunning)).toBe(true);
  });
});

describe('DocumentStore: persistence', () => {
  it('reopens from LevelStorage with identical ids, heads and content, under a new actor', async () => {
    const location = await mkdtemp(join(tmpdir(), 'cheops-docs-'));
    directories.push(location);
    let storage = await LevelStorage.open({ location });
    let store = await openStore(storage, 3);
    const actor = store.actorId;
    await store.create(docA, { name: 'a', n: 1, body: new Automerge.ImmutableString('{"a":1}') });
    await store.create(docB, { name: 'b', n: 1 });
    for (let n = 2; n <= 5; n += 1) await store.change<Resource>(docA, (doc) => void (doc.n = n));
    const heads = { a: store.heads(docA), b: store.heads(docB) };
    const content = { a: await store.read(docA), b: await store.read(docB) };
    await store.close();
    await storage.close();

    storage = await LevelStorage.open({ location });
    store = await openStore(storage, 999);
    // Drawn at each open: a change that left before it was durable and was lost in a crash is
    // never numbered again with other content.
    expect(store.actorId).not.toBe(actor);
    expect(store.actorId).toBe(Buffer.from(seededRandom(999).bytes(16)).toString('hex'));
    expect(store.ids().sort()).toEqual([docA, docB]);
    expect({ a: store.heads(docA), b: store.heads(docB) }).toEqual(heads);
    expect(store.loadedCount).toBe(0);
    expect({ a: await store.read(docA), b: await store.read(docB) }).toEqual(content);
    await store.change<Resource>(docA, (doc) => void (doc.n = 6));
    expect(await store.read(docA)).toMatchObject({ n: 6 });
    await store.close();
    await storage.close();
  });

  it('compacts chunks into a new snapshot and keeps the content', async () => {
    const storage = new MemoryStorage();
    let store = await openStore(storage, 1, { compactAfterChunks: 3 });
    await store.create(docA, { name: 'a', n: 0 });
    const keyCounts: number[] = [];
    for (let n = 1; n <= 10; n += 1) {
      await store.change<Resource>(docA, (doc) => void (doc.n = n));
      keyCounts.push((await storage.list(['doc', docA])).length);
    }
    // snapshot + 1, 2, 3 chunks, then a new snapshot alone, and so on.
    expect(keyCounts).toEqual([2, 3, 4, 1, 2, 3, 4, 1, 2, 3]);
    expect(await storage.get(snapshotKey(docA))).toBeDefined();
    const heads = store.heads(docA);
    await store.close();
    store = await openStore(storage, 1, { compactAfterChunks: 3 });
    expect(store.heads(docA)).toEqual(heads);
    expect(await store.read(docA)).toEqual({ name: 'a', n: 10 });
    await store.close();
  });

  it('writes a new document as its changes, received ones and local ones made in the same tick, and loads it whole', async () => {
    const storage = new MemoryStorage();
    let store = await openStore(storage, 1);
    let origin = Automerge.change(Automerge.init<Resource>({ actor: 'cd'.repeat(16) }), { time: 0 }, (doc) => {
      doc.name = 'received';
      doc.n = 1;
    });
    origin = Automerge.change(origin, { time: 0 }, (doc) => void (doc.n = 2));
    // Received out of causal order: stored as the changes as they came, with no save() (a load
    // takes changes in any order; the reload below checks it).
    const [second, first] = [...Automerge.getAllChanges(origin)].reverse();
    await store.applyChanges(docA, [second!, first!]);
    expect(await storage.get(snapshotKey(docA))).toEqual(Uint8Array.from(Buffer.concat([second!, first!])));
    // A local change on top of received ones in the same tick: one first write holding both.
    const received = store.applyChanges(docB, [second!, first!]);
    const local = store.change<Resource>(docB, (doc) => void (doc.tags = ['x']), { create: true });
    await Promise.all([received, local]);
    const heads = [store.heads(docA), store.heads(docB)];
    await store.close();
    store = await openStore(storage, 1);
    expect([store.heads(docA), store.heads(docB)]).toEqual(heads);
    expect(await store.read(docA)).toEqual({ name: 'received', n: 2 });
    expect(await store.read(docB)).toEqual({ name: 'received', n: 2, tags: ['x'] });
    await store.change<Resource>(docB, (doc) => void (doc.n = 3));
    await store.close();
    store = await openStore(storage, 1);
    expect(await store.read(docB)).toEqual({ name: 'received', n: 3, tags: ['x'] });
    await store.close();
  });

  it('keeps a received change that waits for its dependencies when they come later to a new document', async () => {
    const storage = new MemoryStorage();
    const store = await openStore(storage, 1);
    let origin = Automerge.change(Automerge.init<Resource>({ actor: 'ef'.repeat(16) }), { time: 0 }, (doc) => void (doc.n = 1));
    origin = Automerge.change(origin, { time: 0 }, (doc) => void (doc.name = 'late'));
    const [first, second] = Automerge.getAllChanges(origin);
    // The second change alone: Automerge keeps it aside, the document stays empty.
    await store.applyChanges(docA, [second!]);
    expect(await store.lacks(docA, Automerge.getHeads(origin))).toBe(true);
    await store.applyChanges(docA, [first!]);
    expect(store.heads(docA)).toEqual(Automerge.getHeads(origin));
    expect(await store.read(docA)).toEqual({ n: 1, name: 'late' });
    await store.close();
  });

  it('opens by reading the index only, with 10,000 documents', async () => {
    const counting = new CountingStorage(new MemoryStorage());
    const template = Automerge.change(Automerge.init<Resource>({ actor: 'ab'.repeat(16) }), { time: 0 }, (doc) => {
      doc.name = 'x';
      doc.n = 1;
    });
    const snapshot = Automerge.save(template);
    const record = encodeIndexRecord(Automerge.getHeads(template));
    const operations = Array.from({ length: 10_000 }, (_, index) => {
      const docId = asDocumentId(`res/${index}`);
      return [
        { type: 'put' as const, key: snapshotKey(docId), value: snapshot },
        { type: 'put' as const, key: indexKey(docId), value: record },
      ];
    }).flat();
    await counting.inner.batch(operations);
    counting.reset();
    const store = await openStore(counting);
    expect(store.ids()).toHaveLength(10_000);
    expect(store.loadedCount).toBe(0);
    expect(counting.lists).toEqual([['index']]);
    expect(counting.gets).toEqual([]);
    expect(await store.read(asDocumentId('res/9999'))).toEqual({ name: 'x', n: 1 });
    await store.close();
  });

  it('keeps at most the cap loaded and reloads unloaded documents on demand', async () => {
    const storage = new MemoryStorage();
    const store = await openStore(storage, 1, { maxLoadedDocuments: 2 });
    const ids = Array.from({ length: 6 }, (_, index) => asDocumentId(`res/${index}`));
    for (const [index, docId] of ids.entries()) await store.create(docId, { n: index });
    expect(store.loadedCount).toBeLessThanOrEqual(2);
    expect(store.isLoaded(asDocumentId('res/0'))).toBe(false);
    expect(await store.read(asDocumentId('res/0'))).toEqual({ n: 0 });
    expect(store.isLoaded(asDocumentId('res/0'))).toBe(true);
    await Promise.all(ids.map((docId) => store.change<{ n: number }>(docId, (doc) => void (doc.n += 10))));
    expect(store.loadedCount).toBeLessThanOrEqual(2);
    expect(await Promise.all(ids.map((docId) => store.read(docId)))).toEqual(ids.map((_, index) => ({ n: index + 10 })));
    await store.close();
  });

  it('unloads a document said to be cool before those used less recently, until it is used again', async () => {
    const store = await openStore(new MemoryStorage(), 1, { maxLoadedDocuments: 2 });
    const [a, b, c, d] = [asDocumentId('res/a'), asDocumentId('res/b'), asDocumentId('res/c'), asDocumentId('res/d')];
    await store.create(a, { n: 1 });
    await store.create(b, { n: 2 });
    store.cool(b);
    await store.create(c, { n: 3 });
    // Least recently used alone would have unloaded a.
    expect([store.isLoaded(a), store.isLoaded(b), store.isLoaded(c)]).toEqual([true, false, true]);
    store.cool(a);
    expect(await store.read(a)).toEqual({ n: 1 });
    await store.create(d, { n: 4 });
    // Read again since: warm, and c is the least recently used.
    expect([store.isLoaded(a), store.isLoaded(c), store.isLoaded(d)]).toEqual([true, false, true]);
    store.cool(asDocumentId('res/unknown'));
    expect(store.loadedCount).toBe(2);
    await store.close();
  });

  it('writes changes made in the same tick in one batch, then tells listeners and waiters', async () => {
    const counting = new CountingStorage(new MemoryStorage());
    const store = await openStore(counting);
    const ids = Array.from({ length: 50 }, (_, index) => asDocumentId(`res/${index}`));
    counting.reset();
    await Promise.all(ids.map((docId) => store.create(docId, { n: 0 })));
    expect(counting.batches).toHaveLength(1);
    counting.reset();
    const events: DocumentChangedEvent[] = [];
    store.onChange((event) => {
      // Listeners hear of a change only once it is in storage (the index is updated with the batch).
      expect(store.heads(event.docId)).toEqual(event.heads);
      events.push(event);
    });
    const changes = ids.flatMap((docId) => [1, 2].map(() => store.change<{ n: number }>(docId, (doc) => void (doc.n += 1))));
    const heads = await Promise.all(changes);
    expect(counting.batches).toHaveLength(1);
    expect(heads).toHaveLength(100);
    expect(events).toHaveLength(50);
    expect(events.every((event) => event.origin === 'local' && event.changes.length === 2)).toBe(true);
    expect(await store.read(asDocumentId('res/7'))).toEqual({ n: 2 });
    await store.close();
  });

  it('writes the operations given alongside a change in its batch, and none of them when the batch fails', async () => {
    const counting = new CountingStorage(new MemoryStorage());
    const store = await openStore(counting);
    await store.create(docA, { n: 1 });
    await counting.put(['intent', 'a'], new Uint8Array([1]));
    counting.reset();
    await store.change<{ n: number }>(docA, (doc) => void (doc.n = 2), { alongside: [{ type: 'del', key: ['intent', 'a'] }, { type: 'put', key: ['cache', 'a'], value: new Uint8Array([2]) }] });
    expect(counting.batches).toHaveLength(1);
    expect(await counting.get(['intent', 'a'])).toBeUndefined();
    expect(await counting.get(['cache', 'a'])).toEqual(new Uint8Array([2]));
    counting.failNext();
    const failed = await rejection(store.change<{ n: number }>(docA, (doc) => void (doc.n = 3), { alongside: [{ type: 'put', key: ['cache', 'b'], value: new Uint8Array([3]) }] }));
    expect(isCheopsError(failed, ErrorCode.StorageFailure)).toBe(true);
    expect(await counting.get(['cache', 'b'])).toBeUndefined();
    await store.close();
  });

  it('tells of a change made durable-first only once it is durable, with any change written beside it', async () => {
    const counting = new CountingStorage(new MemoryStorage());
    const store = await openStore(counting);
    await store.create(docA, { n: 1 });
    const applied: DocumentChangedEvent[] = [];
    const written: DocumentChangedEvent[] = [];
    store.onLocalChangeApplied((event) => applied.push(event));
    store.onChange((event) => written.push(event));
    counting.hold();
    const granted = store.change<{ n: number }>(docA, (doc) => void (doc.n = 2), { durableFirst: true });
    const beside = store.change<{ n: number; m?: number }>(docA, (doc) => void (doc.m = 3));
    await new Promise((resolve) => setImmediate(resolve));
    expect(applied).toEqual([]);
    counting.release();
    await Promise.all([granted, beside]);
    expect(applied).toEqual([]);
    expect(written.map((event) => event.changes.length)).toEqual([2]);
    await store.close();
  });

  it('tells of local changes as their write starts, with the same changes as once they are durable', async () => {
    const counting = new CountingStorage(new MemoryStorage());
    const store = await openStore(counting);
    const applied: DocumentChangedEvent[] = [];
    const written: DocumentChangedEvent[] = [];
    store.onLocalChangeApplied((event) => applied.push(event));
    store.onChange((event) => written.push(event));
    counting.hold();
    const heads = store.create(docA, { n: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(applied).toHaveLength(1);
    expect(written).toHaveLength(0);
    expect(store.has(docA)).toBe(false);
    counting.release();
    expect(await heads).toEqual(applied[0]?.heads);
    expect(written).toHaveLength(1);
    expect(written[0]?.changes).toBe(applied[0]?.changes);
    await store.close();
  });

  it('marks an event background only when every local change in it was made in the background', async () => {
    const store = await openStore(new MemoryStorage());
    await store.create(docA, { n: 0 });
    await store.create(docB, { n: 0 });
    const applied: DocumentChangedEvent[] = [];
    const written: DocumentChangedEvent[] = [];
    store.onLocalChangeApplied((event) => applied.push(event));
    store.onChange((event) => written.push(event));
    const bump = (doc: { n: number }): void => void (doc.n += 1);
    // Same tick, same batch: a's two background changes make one background event; b's mix does not.
    await Promise.all([
      store.change(docA, bump, { background: true }),
      store.change(docA, bump, { background: true }),
      store.change(docB, bump, { background: true }),
      store.change(docB, bump),
    ]);
    for (const events of [applied, written]) {
      expect(events.map((event) => [event.docId, event.changes.length, event.background === true])).toEqual([[docA, 2, true], [docB, 2, false]]);
    }
    await store.close();
  });

  it('makes new changes under a new actor once a failed write lost local changes that may have left', async () => {
    const counting = new CountingStorage(new MemoryStorage());
    const store = await openStore(counting);
    const peer = await openStore(new MemoryStorage(), 2);
    await store.create(docA, { n: 1 });
    await syncDocuments(store, peer, docA);
    const sent: Uint8Array[] = [];
    store.onLocalChangeApplied((event) => sent.push(...event.changes));
    const actor = store.actorId;
    counting.failNext();
    expect(isCheopsError(await rejection(store.change<{ n: number }>(docA, (doc) => void (doc.n = 2))), ErrorCode.StorageFailure)).toBe(true);
    // The peer got the change before the write failed; this store no longer holds it.
    await peer.applyChanges(docA, sent);
    expect(store.actorId).not.toBe(actor);
    await store.change<{ v: string }>(docA, (doc) => void (doc.v = 'next'));
    await syncDocuments(store, peer, docA);
    expect(await store.read(docA)).toEqual({ n: 2, v: 'next' });
    expect(await peer.read(docA)).toEqual({ n: 2, v: 'next' });
    await store.close();
    await peer.close();
  });

  it('logs the first failed batch of a run as an error and the rest at debug level, as a full disk refuses them all', async () => {
    const counting = new CountingStorage(new MemoryStorage());
    const logger = new MemoryLogger();
    const store = new DocumentStore({ storage: counting, clock: new ManualClock(), random: seededRandom(1), logger });
    await store.open();
    await store.create(docA, { n: 1 });
    const levels = (): string[] => logger.find('storage batch failed').map((entry) => entry.level);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      counting.failNext();
      await rejection(store.change<{ n: number }>(docA, (doc) => void (doc.n = 10 + attempt)));
    }
    expect(levels()).toEqual(['error', 'debug', 'debug']);
    expect(logger.find('local changes lost').map((entry) => entry.level)).toEqual(['warn', 'debug', 'debug']);
    await store.change<{ n: number }>(docA, (doc) => void (doc.n = 20));
    counting.failNext();
    await rejection(store.change<{ n: number }>(docA, (doc) => void (doc.n = 21)));
    expect(levels()).toEqual(['error', 'debug', 'debug', 'error']);
    await store.close();
  });

  it('rejects changes whose batch failed and forgets them, then works again', async () => {
    const counting = new CountingStorage(new MemoryStorage());
    const store = await openStore(counting);
    await store.create(docA, { n: 1 });
    const headsBefore = store.heads(docA);
    counting.failNext();
    const failed = await rejection(store.change<{ n: number }>(docA, (doc) => void (doc.n = 2)));
    expect(isCheopsError(failed, ErrorCode.StorageFailure)).toBe(true);
    expect(store.heads(docA)).toEqual(headsBefore);
    expect(await store.read(docA)).toEqual({ n: 1 });
    counting.failNext();
    expect(isCheopsError(await rejection(store.create(docB, { n: 1 })), ErrorCode.StorageFailure)).toBe(true);
    expect(store.has(docB)).toBe(false);
    await store.change<{ n: number }>(docA, (doc) => void (doc.n = 3));
    expect(await store.read(docA)).toEqual({ n: 3 });
    await store.close();
  });
});

// Keep the chunk key format in one place: the layout test would catch a change that breaks order.
describe('document layout', () => {
  it('orders chunk keys numerically', () => {
    const keys = [2, 10, 1].map((sequence) => chunkKey(docA, sequence).join('|')).sort();
    expect(keys).toEqual([1, 2, 10].map((sequence) => chunkKey(docA, sequence).join('|')));
  });
});
