/**
 * Document sync, heartbeats and the redialer over two real Libp2pTransports on loopback, with the
 * real clock: the composition the node runs, minus the node.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { asDocumentId, type PeerIdString } from '../core/ids.js';
import { MemoryLogger } from '../core/logger.js';
import { systemClock, systemRandom } from '../core/system.js';
import { DocumentStore } from '../crdt/document-store.js';
import { MemoryStorage, MemoryStorageData } from '../crdt/memory-storage.js';
import { createDocSync, type DocSync } from './doc-sync.js';
import { createHeartbeats, type Heartbeats } from './heartbeat.js';
import { createLibp2pTransport, type Libp2pTransport } from './libp2p-transport.js';
import { storageKeyStore } from './peer-identity.js';
import { createRedialer, type Redialer } from './redialer.js';

interface Site {
  readonly transport: Libp2pTransport;
  readonly store: DocumentStore;
  readonly sync: DocSync;
  readonly heartbeats: Heartbeats;
  readonly redialer: Redialer;
  readonly logger: MemoryLogger;
}

const running = new Set<Site>();

/** Starts a site on `data` (its disk), listening on `port` (0: any). */
async function startSite(data: MemoryStorageData, port = 0): Promise<Site> {
  const logger = new MemoryLogger();
  const storage = new MemoryStorage(data);
  const transport = await createLibp2pTransport(
    { listen: [`/ip4/127.0.0.1/tcp/${port}`], keyStore: storageKeyStore(storage) },
    { logger },
  );
  const store = new DocumentStore({ storage, clock: systemClock, random: systemRandom, logger });
  await store.open();
  await transport.start();
  const heartbeats = createHeartbeats({}, { transport, clock: systemClock, logger });
  const sync = createDocSync(
    { sharedWith: () => 'all' },
    { transport, documents: store, clock: systemClock, logger, liveness: heartbeats },
  );
  const redialer = createRedialer({}, { transport, clock: systemClock, random: systemRandom, logger });
  sync.start();
  heartbeats.start();
  redialer.start();
  const site = { transport, store, sync, heartbeats, redialer, logger };
  running.add(site);
  return site;
}

async function stopSite(site: Site): Promise<void> {
  running.delete(site);
  site.redialer.stop();
  site.heartbeats.stop();
  await site.sync.stop();
  await site.transport.stop();
  await site.store.close();
}

function portOf(site: Site): number {
  const match = /\/tcp\/(\d+)\//.exec(site.transport.addresses()[0] ?? '');
  return Number(match?.[1]);
}

function stateOf(site: Site, peer: PeerIdString): string | undefined {
  return site.heartbeats.peer(peer)?.state;
}

afterEach(async () => {
  for (const site of [...running]) await stopSite(site);
});

describe('sync and heartbeats over libp2p on loopback', () => {
  it('replicates small and large documents both ways and sees the peer up', async () => {
    const a = await startSite(new MemoryStorageData());
    const b = await startSite(new MemoryStorageData());
    a.redialer.add(`/ip4/127.0.0.1/tcp/${portOf(b)}`);
    await vi.waitFor(() => expect(stateOf(a, b.transport.peerId)).toBe('up'), { timeout: 5_000 });
    await vi.waitFor(() => expect(stateOf(b, a.transport.peerId)).toBe('up'), { timeout: 5_000 });
    // The pong that marked the peer up was cold; a warm one follows at once and seeds the RTT.
    await vi.waitFor(() => expect(a.heartbeats.peer(b.transport.peerId)?.rttMs).toBeGreaterThan(0), { timeout: 2_000 });
    // Once warmed up (three warm samples, the last on the second tick), a loopback RTT is a few
    // ms; the cold first sample (stream opening, JIT) read 100–300 ms and used to linger.
    await vi.waitFor(
      () => {
        const status = a.heartbeats.peer(b.transport.peerId);
        expect(status?.lastPongAt).toBeGreaterThan((status?.since ?? 0) + 1_900);
        expect(status?.rttMs).toBeLessThan(50);
      },
      { timeout: 5_000, interval: 50 },
    );

    await a.store.create(asDocumentId('res/small'), { name: 'purple' });
    await b.store.create(asDocumentId('res/large'), { body: new Uint8Array(200_000).fill(7) });
    await vi.waitFor(async () => expect(await b.store.read(asDocumentId('res/small'))).toEqual({ name: 'purple' }), {
      timeout: 5_000,
    });
    await vi.waitFor(() => expect(a.store.heads(asDocumentId('res/large'))).toEqual(b.store.heads(asDocumentId('res/large'))), {
      timeout: 5_000,
    });
    expect(a.logger.entries.filter((entry) => entry.level === 'warn' || entry.level === 'error')).toEqual([]);
  });

  it('sees a killed peer down within 5 s, and up within 5 s of its restart, then catches it up', async () => {
    const dataB = new MemoryStorageData();
    const a = await startSite(new MemoryStorageData());
    let b = await startSite(dataB);
    const peerB = b.transport.peerId;
    const port = portOf(b);
    // As the node does for every site of its directory: a tracked peer stays listed while down.
    a.heartbeats.track(peerB);
    a.redialer.add(`/ip4/127.0.0.1/tcp/${port}`);
    await vi.waitFor(() => expect(stateOf(a, peerB)).toBe('up'), { timeout: 5_000 });
    await a.store.create(asDocumentId('res/1'), { v: 1 });
    await vi.waitFor(() => expect(b.store.has(asDocumentId('res/1'))).toBe(true), { timeout: 5_000 });

    const killedAt = Date.now();
    await stopSite(b);
    await vi.waitFor(() => expect(stateOf(a, peerB)).toBe('down'), { timeout: 5_000 });
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    await a.store.change(asDocumentId('res/1'), (doc: Record<string, unknown>) => {
      doc['v'] = 2;
    });

    b = await startSite(dataB, port);
    const restartedAt = Date.now();
    expect(b.transport.peerId).toBe(peerB);
    await vi.waitFor(() => expect(stateOf(a, peerB)).toBe('up'), { timeout: 5_000, interval: 50 });
    expect(Date.now() - restartedAt).toBeLessThan(5_000);
    await vi.waitFor(async () => expect(await b.store.read(asDocumentId('res/1'))).toEqual({ v: 2 }), {
      timeout: 5_000,
    });
  });
});
