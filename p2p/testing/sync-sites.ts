/**
 * Test sites for document sync: each one a MemoryTransport, a DocumentStore on MemoryStorage and
 * a DocSync, on one MemoryNetwork. Tests only.
 */
import type { Clock } from '../../core/clock.js';
import { asDocumentId, asPeerIdString, type DocumentId, type PeerIdString } from '../../core/ids.js';
import { MemoryLogger } from '../../core/logger.js';
import type { Random } from '../../core/random.js';
import { DocumentStore } from '../../crdt/document-store.js';
import { MemoryStorage } from '../../crdt/memory-storage.js';
import { createDocSync, type DocSync, type DocSyncOptions } from '../doc-sync.js';
import { MemoryNetwork, type LinkPolicy } from '../memory-network.js';
import { createMemoryTransport, type MemoryTransport } from '../memory-transport.js';
import type { SharedWith } from '../share-policy.js';

export interface TestSite {
  readonly name: string;
  readonly peerId: PeerIdString;
  readonly transport: MemoryTransport;
  readonly store: DocumentStore;
  readonly sync: DocSync;
  readonly logger: MemoryLogger;
}

export interface TestSitesInit {
  readonly names: readonly string[];
  readonly clock: Clock;
  readonly random: Random;
  /** Document id → names of the sites sharing it; documents not listed are shared with all. */
  readonly scopes?: ReadonlyMap<string, readonly string[]>;
  readonly linkPolicy?: LinkPolicy;
  readonly options?: Omit<DocSyncOptions, 'sharedWith'>;
}

export function sitePeerId(name: string): PeerIdString {
  return asPeerIdString(`peer-${name}`);
}

/** Builds and starts the sites (not connected). */
export async function makeSites(init: TestSitesInit): Promise<{ network: MemoryNetwork; sites: TestSite[] }> {
  const network = new MemoryNetwork(init.linkPolicy === undefined ? {} : { linkPolicy: init.linkPolicy }, {
    clock: init.clock,
  });
  const sharedWith = (doc: DocumentId): SharedWith => {
    const names = init.scopes?.get(doc);
    return names === undefined ? 'all' : new Set(names.map(sitePeerId));
  };
  const sites: TestSite[] = [];
  for (const name of init.names) {
    const logger = new MemoryLogger();
    const transport = createMemoryTransport(
      { peerId: sitePeerId(name), name },
      { network, random: init.random, logger },
    );
    const store = new DocumentStore({
      storage: new MemoryStorage(),
      clock: init.clock,
      random: init.random.fork(name),
      logger,
    });
    await store.open();
    await transport.start();
    const sync = createDocSync({ ...init.options, sharedWith }, { transport, documents: store, clock: init.clock, logger });
    sync.start();
    sites.push({ name, peerId: sitePeerId(name), transport, store, sync, logger });
  }
  return { network, sites };
}

/** Stops every site. */
export async function stopSites(sites: readonly TestSite[]): Promise<void> {
  for (const site of sites) {
    await site.sync.stop();
    await site.transport.stop();
    await site.store.close();
  }
}

export function doc(id: string): DocumentId {
  return asDocumentId(id);
}
