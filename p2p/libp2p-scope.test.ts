/**
 * Scope safety of pushes over real Libp2pTransports on loopback, where gossipsub lets any peer
 * subscribe to any topic: a hostile peer subscribed to the broadcast topic and to every topic name
 * it can guess hears the documents shared with all, and nothing of a restricted one.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { asDocumentId, type DocumentId, type PeerIdString } from '../core/ids.js';
import { MemoryLogger } from '../core/logger.js';
import { systemClock, systemRandom } from '../core/system.js';
import { DocumentStore } from '../crdt/document-store.js';
import { MemoryStorage } from '../crdt/memory-storage.js';
import { createDocSync, type DocSync } from './doc-sync.js';
import { createLibp2pTransport, type Libp2pTransport } from './libp2p-transport.js';
import { memoryKeyStore } from './peer-identity.js';
import type { SharedWith } from './share-policy.js';
import { broadcastTopic } from './sync-messages.js';
import { guessableTopics, mentions, watchReceived } from './testing/sync-sites.js';
import { bareAddress } from './transport-contract.js';

const secret = asDocumentId('res/secret');
const wait = { timeout: 8_000, interval: 50 };

interface Site {
  readonly transport: Libp2pTransport;
  readonly store: DocumentStore;
  readonly sync: DocSync;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startTransport(): Promise<Libp2pTransport> {
  const transport = await createLibp2pTransport(
    { listen: ['/ip4/127.0.0.1/tcp/0'], keyStore: memoryKeyStore() },
    { logger: new MemoryLogger(), clock: systemClock },
  );
  await transport.start();
  cleanups.push(() => transport.stop());
  return transport;
}

async function startSite(transport: Libp2pTransport, sharedWith: (doc: DocumentId) => SharedWith): Promise<Site> {
  const logger = new MemoryLogger();
  const store = new DocumentStore({ storage: new MemoryStorage(), clock: systemClock, random: systemRandom, logger });
  await store.open();
  const sync = createDocSync({ sharedWith }, { transport, documents: store, clock: systemClock, logger });
  sync.start();
  cleanups.push(async () => {
    await sync.stop();
    await store.close();
  });
  return { transport, store, sync };
}

describe('pushes over libp2p on loopback', () => {
  it('never reach a hostile peer subscribed to every topic, while documents shared with all still gossip', async () => {
    const [ta, tb, tc] = [await startTransport(), await startTransport(), await startTransport()];
    const members = new Set<PeerIdString>([ta.peerId, tb.peerId]);
    const policy = (doc: DocumentId): SharedWith => (doc === secret ? members : 'all');
    const a = await startSite(ta, policy);
    const b = await startSite(tb, policy);
    // The hostile peer runs no document sync: it only listens, on every topic it can think of.
    const overheard = watchReceived(tc);
    for (const topic of guessableTopics([ta.peerId, tb.peerId, tc.peerId], [secret])) tc.subscribe(topic);
    await ta.dial(bareAddress(tb));
    await ta.dial(bareAddress(tc));
    await tb.dial(bareAddress(tc));

    // Public documents until the spy hears one by gossip: it is in the broadcast mesh from then on.
    let published = 0;
    await vi.waitFor(async () => {
      published += 1;
      await a.store.create(asDocumentId(`res/public-${published}`), { n: published });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(overheard.topics.has(broadcastTopic)).toBe(true);
    }, wait);

    await a.store.create(secret, { password: 'hunter2' });
    for (let n = 1; n <= 3; n += 1) {
      await a.store.change(secret, (d: Record<string, unknown>) => {
        d['n'] = n;
      });
    }
    await vi.waitFor(() => expect(b.store.heads(secret)).toEqual(a.store.heads(secret)), wait);
    await b.store.change(secret, (d: Record<string, unknown>) => {
      d['fromB'] = 'shh';
    });
    await vi.waitFor(() => expect(a.store.heads(secret)).toEqual(b.store.heads(secret)), wait);

    // A last public change, published after the secret ones: once the spy has it, it would have
    // had anything published before it too. The digests of the pushes go out a second later.
    await a.store.create(asDocumentId('res/sentinel'), { last: true });
    await vi.waitFor(() => expect(mentions(overheard, 'res/sentinel')).toBe(true), wait);
    await vi.waitFor(() => expect(b.store.has(asDocumentId('res/sentinel'))).toBe(true), wait);
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    expect([...overheard.topics]).toEqual([broadcastTopic]);
    expect(overheard.documents.has(secret)).toBe(false);
    expect(mentions(overheard, secret)).toBe(false);
    expect(mentions(overheard, 'hunter2')).toBe(false);
    expect(mentions(overheard, 'shh')).toBe(false);
    // The secret went by direct pushes (one per change), not only by the sync protocol.
    expect(b.sync.stats().pushesReceived).toBeGreaterThanOrEqual(4);
    expect(a.sync.stats().pushesReceived).toBeGreaterThanOrEqual(1);
  });
});
