import * as Automerge from '@automerge/automerge';
import { describe, expect, it } from 'vitest';
import { ErrorCode, isCheopsError } from '../core/errors.js';
import { asDocumentId, type DocumentId } from '../core/ids.js';
import { MemoryLogger } from '../core/logger.js';
import { DocumentStore } from './document-store.js';
import type { DocumentChangedEvent } from './documents.js';
import { MemoryStorage } from './memory-storage.js';
import { CountingStorage, ManualClock, openStore, rejection, seededRandom, storedBytes, syncDocuments } from './test-helpers.js';

interface Resource {
  name: string;
  n: number;
}

const docA = asDocumentId('res/a');
const docB = asDocumentId('res/b');

describe('DocumentStore: sync', () => {
  it('converges two stores through the sync protocol, with concurrent changes on both', async () => {
    const a = await openStore(new MemoryStorage(), 1);
    const b = await openStore(new MemoryStorage(), 2);
    const remoteEvents: DocumentChangedEvent[] = [];
    b.onChange((event) => {
      if (event.origin === 'remote') remoteEvents.push(event);
    });
    await a.create(docA, { name: 'a', n: 1 });
    await syncDocuments(a, b, docA);
    expect(b.has(docA)).toBe(true);
    expect(b.heads(docA)).toEqual(a.heads(docA));
    expect(remoteEvents.length).toBeGreaterThan(0);

    await Promise.all([
      a.change<Record<string, number>>(docA, (doc) => void (doc.fromA = 1)),
      b.change<Record<string, number>>(docA, (doc) => void (doc.fromB = 1)),
      a.change<Resource>(docA, (doc) => void (doc.n = 10)),
      b.change<Resource>(docA, (doc) => void (doc.n = 20)),
    ]);
    await syncDocuments(a, b, docA);
    expect([...(b.heads(docA) ?? [])].sort()).toEqual([...(a.heads(docA) ?? [])].sort());
    const [fromA, fromB] = [await a.read(docA), await b.read(docA)];
    expect(fromA).toEqual(fromB);
    expect(fromA).toMatchObject({ name: 'a', fromA: 1, fromB: 1 });
    await a.close();
    await b.close();
  });

  it('applies changes pushed from a doc:changed event, in one batch per tick', async () => {
    const a = await openStore(new MemoryStorage(), 1);
    const counting = new CountingStorage(new MemoryStorage());
    const b = await openStore(counting, 2);
    const pushed: Uint8Array[][] = [];
    a.onChange((event) => pushed.push([...event.changes]));
    await a.create(docA, { n: 0 });
    for (let n = 1; n <= 5; n += 1) await a.change<{ n: number }>(docA, (doc) => void (doc.n = n));
    counting.reset();
    await Promise.all(pushed.map((changes) => b.applyChanges(docA, changes)));
    expect(counting.batches).toHaveLength(1);
    expect(b.heads(docA)).toEqual(a.heads(docA));
    expect(await b.read(docA)).toEqual({ n: 5 });
    await a.close();
    await b.close();
  });

  it('syncs from the stored state while a local write is under way, without waiting for it', async () => {
    const counting = new CountingStorage(new MemoryStorage());
    const a = await openStore(counting, 1);
    const b = await openStore(new MemoryStorage(), 2);
    await a.create(docA, { n: 0 });
    await syncDocuments(a, b, docA);
    counting.hold();
    const change = a.change<{ n: number }>(docA, (doc) => void (doc.n = 1));
    await new Promise((resolve) => setImmediate(resolve));
    await syncDocuments(a, b, docA);
    expect(await b.read(docA)).toEqual({ n: 0 });
    counting.release();
    await change;
    await syncDocuments(a, b, docA);
    expect(await b.read(docA)).toEqual({ n: 1 });
    await a.close();
    await b.close();
  });

  it('applies remote input while a local write is under way, and rejects garbage then without loss', async () => {
    const counting = new CountingStorage(new MemoryStorage());
    const a = await openStore(counting, 1);
    const b = await openStore(new MemoryStorage(), 2);
    await a.create(docA, { name: 'a', n: 0 });
    await syncDocuments(a, b, docA);
    const pushed: Uint8Array[] = [];
    b.onChange((event) => pushed.push(...event.changes));
    await b.change<Record<string, number>>(docA, (doc) => void (doc.fromB = 1));
    counting.hold();
    const local = a.change<Resource>(docA, (doc) => void (doc.n = 1));
    await new Promise((resolve) => setImmediate(resolve));
    const garbage = rejection(a.applyChanges(docA, [Uint8Array.of(1, 2, 3)]));
    const remote = a.applyChanges(docA, pushed);
    await new Promise((resolve) => setImmediate(resolve));
    counting.release();
    await Promise.all([local, remote]);
    expect(isCheopsError(await garbage, ErrorCode.PeerMessageInvalid)).toBe(true);
    expect(await a.read(docA)).toEqual({ name: 'a', n: 1, fromB: 1 });
    await a.close();
    await b.close();
  });
});

describe('DocumentStore: hostile input', () => {
  const forged = (): Uint8Array =>
    Automerge.encodeChange({
      actor: 'cc'.repeat(16),
      author: null,
      seq: 1,
      startOp: 1,
      time: 0,
      message: null,
      deps: [],
      // An op on an object that does not exist: Automerge panics on it.
      ops: [{ action: 'set', obj: `99@${'dd'.repeat(16)}`, key: 'x', value: 5, datatype: 'int', pred: [] }],
    });

  async function victim(): Promise<{ store: DocumentStore; storage: MemoryStorage; logger: MemoryLogger }> {
    const storage = new MemoryStorage();
    const logger = new MemoryLogger();
    const store = new DocumentStore({ storage, clock: new ManualClock(), random: seededRandom(5), logger });
    await store.open();
    await store.create(docA, { n: 1 });
    await store.change<{ n: number }>(docA, (doc) => void (doc.n = 2));
    return { store, storage, logger };
  }

  const garbage = [
    ['random bytes', Uint8Array.from([0x42, 1, 2, 3, 4, 5, 6, 7])],
    ['empty', new Uint8Array(0)],
    ['a change where a sync message is expected', Uint8Array.from([0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, 2])],
  ] as const;

  it.each(garbage)('rejects %s as a sync message without damage', async (_label, bytes) => {
    const { store, storage, logger } = await victim();
    const before = await storedBytes(storage);
    const heads = store.heads(docA);
    const error = await rejection(store.receiveSyncMessage(docA, Automerge.initSyncState(), bytes));
    expect(isCheopsError(error, ErrorCode.PeerMessageInvalid)).toBe(true);
    expect(logger.find('rejected invalid input').length).toBe(1);
    expect(store.heads(docA)).toEqual(heads);
    expect(await store.read(docA)).toEqual({ n: 2 });
    expect(await storedBytes(storage)).toEqual(before);
    await store.change<{ n: number }>(docA, (doc) => void (doc.n = 3));
    expect(await store.read(docA)).toEqual({ n: 3 });
    await store.close();
  });

  it('rejects garbage and forged changes without damage, and still applies good ones', async () => {
    const { store, storage } = await victim();
    const before = await storedBytes(storage);
    for (const bad of [Uint8Array.from([1, 2, 3]), forged()]) {
      expect(isCheopsError(await rejection(store.applyChanges(docA, [bad])), ErrorCode.PeerMessageInvalid)).toBe(true);
    }
    const syncForged = Automerge.encodeSyncMessage({ heads: [], need: [], have: [], changes: [forged()] });
    expect(isCheopsError(await rejection(store.receiveSyncMessage(docA, Automerge.initSyncState(), syncForged)), ErrorCode.PeerMessageInvalid)).toBe(true);
    expect(await storedBytes(storage)).toEqual(before);
    expect(await store.read(docA)).toEqual({ n: 2 });

    // A good change pushed in the same tick as a bad one is applied; the bad one alone is rejected.
    const peer = await openStore(new MemoryStorage(), 9);
    await peer.create(docB, { n: 1 });
    await syncDocuments(peer, store, docB);
    const pushed: Uint8Array[] = [];
    peer.onChange((event) => pushed.push(...event.changes));
    await peer.change<{ n: number }>(docB, (doc) => void (doc.n = 7));
    const results = await Promise.allSettled([store.applyChanges(docB, [forged()]), store.applyChanges(docB, pushed)]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'fulfilled']);
    expect(await store.read(docB)).toEqual({ n: 7 });
    await peer.close();
    await store.close();
  });

  it('rejects an invalid document id from a peer', async () => {
    const { store } = await victim();
    const error = await rejection(store.applyChanges('../etc' as DocumentId, [new Uint8Array(1)]));
    expect(isCheopsError(error, ErrorCode.PeerMessageInvalid)).toBe(true);
    await store.close();
  });
});
