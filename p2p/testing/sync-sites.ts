/**
 * Test sites for document sync: each one a MemoryTransport, a DocumentStore on MemoryStorage and
 * a DocSync, on one MemoryNetwork. Tests only.
 */
import { afterEach } from 'vitest';
import type { Clock } from '../../core/clock.js';
import { asDocumentId, asPeerIdString, type DocumentId, type PeerIdString } from '../../core/ids.js';
import { MemoryLogger } from '../../core/logger.js';
import type { Random } from '../../core/random.js';
import { systemRandom } from '../../core/system.js';
import { DocumentStore } from '../../crdt/document-store.js';
import { MemoryStorage } from '../../crdt/memory-storage.js';
import type { Storage } from '../../crdt/storage.js';
import type { BackgroundGate } from '../background-hold.js';
import { createDocSync, type DocSync, type DocSyncOptions } from '../doc-sync.js';
import { MemoryNetwork, type LinkPolicy } from '../memory-network.js';
import { createMemoryTransport, type MemoryTransport } from '../memory-transport.js';
import type { SharePolicy, SharedWith } from '../share-policy.js';
import { decodePushMessage, decodeSyncChannelMessage } from '../sync-messages.js';
import type { Transport } from '../transport.js';
import { ManualClock } from './manual-clock.js';

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
  /** Replaces the policy made from `scopes`. */
  readonly sharedWith?: SharePolicy;
  readonly linkPolicy?: LinkPolicy;
  readonly options?: Omit<DocSyncOptions, 'sharedWith'>;
  /** The storage of each site's document store (default: a new MemoryStorage). */
  readonly storage?: (name: string) => Storage;
  /** Each site's BackgroundGate, if any (background-hold.ts). */
  readonly background?: (name: string) => BackgroundGate | undefined;
}

export function sitePeerId(name: string): PeerIdString {
  return asPeerIdString(`peer-${name}`);
}

/** Builds and starts the sites (not connected). */
export async function makeSites(init: TestSitesInit): Promise<{ network: MemoryNetwork; sites: TestSite[] }> {
  const network = new MemoryNetwork(init.linkPolicy === undefined ? {} : { linkPolicy: init.linkPolicy }, {
    clock: init.clock,
  });
  const fromScopes = (doc: DocumentId): SharedWith => {
    const names = init.scopes?.get(doc);
    return names === undefined ? 'all' : new Set(names.map(sitePeerId));
  };
  const sharedWith = init.sharedWith ?? fromScopes;
  const sites: TestSite[] = [];
  for (const name of init.names) {
    const logger = new MemoryLogger();
    const transport = createMemoryTransport(
      { peerId: sitePeerId(name), name },
      { network, random: init.random, logger },
    );
    const store = new DocumentStore({
      storage: init.storage?.(name) ?? new MemoryStorage(),
      clock: init.clock,
      random: init.random.fork(name),
      logger,
    });
    await store.open();
    await transport.start();
    const background = init.background?.(name);
    const sync = createDocSync({ ...init.options, sharedWith }, { transport, documents: store, clock: init.clock, logger, ...(background === undefined ? {} : { background }) });
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

/** Lets the sites exchange messages for `ms` of simulated time, 10 ms at a time. */
export async function settle(clock: ManualClock, ms = 500): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += 10) await clock.advance(10);
}

/** The site at `index` (throws when absent, so tests need no `!`). */
export function siteAt(sites: readonly TestSite[], index: number): TestSite {
  const found = sites[index];
  if (found === undefined) throw new Error(`no site ${index}`);
  return found;
}

/** Opens a connection from `a` to `b`. */
export async function connect(a: TestSite, b: TestSite): Promise<void> {
  await a.transport.dial(`/memory/${b.name}`);
}

/** Everything a transport receives: raw payloads, and the document ids its messages name. */
export interface Received {
  /** Every payload, direct or gossip, on any channel or topic. */
  readonly payloads: Uint8Array[];
  /** Document ids named by decodable sync, heads and push messages. */
  readonly documents: Set<string>;
  /** Topics gossip arrived on. */
  readonly topics: Set<string>;
}

/** Records everything `transport` receives (a spy, or a hostile site's view). */
export function watchReceived(transport: Transport): Received {
  const received: Received = { payloads: [], documents: new Set(), topics: new Set() };
  const note = (data: Uint8Array): void => {
    received.payloads.push(data);
    const push = decodePushMessage(data);
    if (push.ok) received.documents.add(push.value.doc);
    const sync = decodeSyncChannelMessage(data);
    if (!sync.ok) return;
    if (sync.value.type === 'sync') received.documents.add(sync.value.doc);
    else if (sync.value.type === 'syncs' || sync.value.type === 'docs') for (const item of sync.value.items) received.documents.add(item.doc);
    else if (sync.value.type === 'want') for (const doc of sync.value.docs) received.documents.add(doc);
    else for (const entry of sync.value.docs) received.documents.add(entry.doc);
  };
  transport.on('message', (event) => note(event.data));
  transport.on('gossip', (event) => {
    received.topics.add(event.topic);
    note(event.data);
  });
  return received;
}

/** True when any payload contains the UTF-8 bytes of `text` (a document id, a secret value). */
export function mentions(received: Received, text: string): boolean {
  const needle = Buffer.from(text, 'utf8');
  return received.payloads.some((payload) => Buffer.from(payload).includes(needle));
}

/**
 * Every topic a hostile site might try in order to overhear pushes: the broadcast topic, the
 * per-site inbox topics of earlier versions, and plausible per-peer and per-document names.
 */
export function guessableTopics(peers: readonly string[], docs: readonly string[]): string[] {
  const topics = ['cheops/v1/broadcast', 'push', 'sync', 'heartbeat', 'cheops/v1/push', 'cheops/v1/sync'];
  for (const peer of peers) {
    topics.push(`cheops/v1/inbox/${peer}`, `cheops/v1/push/${peer}`, `cheops/v1/sync/${peer}`, peer);
  }
  for (const id of docs) topics.push(id, `cheops/v1/doc/${id}`, `cheops/v1/push/${id}`);
  return topics;
}

/**
 * For a test file: a `setup(names, extra)` that makes sites on a fresh manual clock, and an
 * `afterEach` that stops the sites of each test.
 */
export function sitesStoppedAfterEach(): (
  names: string[],
  extra?: Partial<TestSitesInit>,
) => Promise<{ clock: ManualClock; sites: TestSite[] }> {
  let live: TestSite[] = [];
  afterEach(async () => {
    await stopSites(live);
    live = [];
  });
  return async (names, extra = {}) => {
    const clock = new ManualClock();
    const { sites } = await makeSites({ names, clock, random: systemRandom, ...extra });
    live = sites;
    return { clock, sites };
  };
}
