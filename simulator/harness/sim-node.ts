/**
 * The node of one simulated site: the production components, built as node/site.ts builds them
 * (document store, site directory, heartbeats, redialer, document sync, directory follower),
 * with the stand-in Kubernetes API beside them, over the simulated ports. Everything but the HTTP
 * front, which site.ts can only serve on a real port today (README.md, "Changes needed").
 */
import type { SiteName, PeerIdString } from '../../core/ids.js';
import type { Logger } from '../../core/logger.js';
import type { Random } from '../../core/random.js';
import { DocumentStore } from '../../crdt/document-store.js';
import { SiteDirectory, siteDirectoryId, type SiteEntry } from '../../crdt/site-directory.js';
import type { Storage } from '../../crdt/storage.js';
import { configDefaults } from '../../node/config.js';
import { createDocSync, type DocSync } from '../../p2p/doc-sync.js';
import { createHeartbeats, type Heartbeats } from '../../p2p/heartbeat.js';
import type { MemoryTransport } from '../../p2p/memory-transport.js';
import { createRedialer, type Redialer } from '../../p2p/redialer.js';
import type { SharePolicy } from '../../p2p/share-policy.js';
import type { ClockScope } from '../core/sim-clock.js';
import type { Trace } from '../core/trace.js';
import { createStandin, type Standin } from '../standin/index.js';
import { followDirectory } from './directory-follower.js';

/** The node's timing settings; defaults are the production ones (node/config.ts). */
export interface SimNodeSettings {
  readonly heartbeatIntervalMs: number;
  readonly peerDownAfterMs: number;
  readonly antiEntropyIntervalMs: number;
  readonly redialMaxDelayMs: number;
}

export const defaultNodeSettings: SimNodeSettings = {
  heartbeatIntervalMs: configDefaults.heartbeatIntervalMs,
  peerDownAfterMs: configDefaults.peerDownAfterMs,
  antiEntropyIntervalMs: configDefaults.antiEntropyIntervalMs,
  redialMaxDelayMs: configDefaults.redialMaxDelayMs,
};

/**
 * What site.ts shares: the site directory with every site, anything else with nobody until the
 * collaboration engine gives documents their scopes.
 */
export const productionSharePolicy: SharePolicy = (docId) => (docId === siteDirectoryId ? 'all' : new Set<PeerIdString>());

export interface SimNodeInit {
  readonly site: SiteName;
  /** Addresses to dial and stay connected to (`--peer`). */
  readonly peers: readonly string[];
  readonly settings: SimNodeSettings;
  readonly sharedWith: SharePolicy;
}

export interface SimNodeDeps {
  /** The process's clock scope: killed when the process crashes. */
  readonly clock: ClockScope;
  /** The process's randomness (a new stream per incarnation, as a restarted process's OS entropy). */
  readonly random: Random;
  readonly logger: Logger;
  /** The node's store. */
  readonly storage: Storage;
  /** The stand-in's store (its etcd). */
  readonly appStorage: Storage;
  /** Not started: the node starts it. */
  readonly transport: MemoryTransport;
  readonly trace: Trace;
  /** The site name of a peer, for the timeline. */
  readonly label: (peer: PeerIdString) => string;
}

/** One running node. */
export interface SimNode {
  readonly documents: DocumentStore;
  readonly directory: SiteDirectory;
  readonly heartbeats: Heartbeats;
  readonly redialer: Redialer;
  readonly docSync: DocSync;
  readonly transport: MemoryTransport;
  readonly standin: Standin;
  /** This site's directory entry as registered at start. */
  readonly self: SiteEntry;
}

/** Starts a node in the order site.ts does; resolves once it is registered and its mesh runs. */
export async function startSimNode(init: SimNodeInit, deps: SimNodeDeps): Promise<SimNode> {
  const { clock, random, logger, storage, transport } = deps;
  const standin = createStandin({ site: init.site, clock, random, logger, storage: deps.appStorage });
  await standin.ready;
  await transport.start();
  const documents = new DocumentStore({ storage, clock, random, logger });
  await documents.open();
  traceDocuments(documents, deps);
  const directory = new SiteDirectory({ documents, clock, logger }, { peerId: transport.peerId });
  const self = await directory.register({ name: init.site, addresses: transport.addresses(), http: `http://${init.site}.sim`, app: 'kubernetes' });

  const heartbeats = createHeartbeats(
    { intervalMs: init.settings.heartbeatIntervalMs, downAfterMs: init.settings.peerDownAfterMs },
    { transport, clock, logger },
  );
  const redialer = createRedialer({ maxDelayMs: init.settings.redialMaxDelayMs }, { transport, clock, random, logger });
  const docSync = createDocSync(
    { sharedWith: init.sharedWith, antiEntropyIntervalMs: init.settings.antiEntropyIntervalMs },
    { transport, documents, clock, logger, liveness: heartbeats },
  );
  traceLiveness(heartbeats, deps);
  heartbeats.start();
  docSync.start();
  for (const peer of init.peers) redialer.add(peer);
  redialer.start();
  followDirectory({ documents, directory, heartbeats, redialer, self: transport.peerId, logger });
  return { documents, directory, heartbeats, redialer, docSync, transport, standin, self };
}

function traceDocuments(documents: DocumentStore, deps: SimNodeDeps): void {
  const site = deps.label(deps.transport.peerId);
  documents.onChange((event) => {
    if (!deps.clock.alive) return;
    // Short heads keep the timeline readable; the hash covers every byte sent anyway.
    deps.trace.record('doc:change', { doc: event.docId, origin: event.origin, heads: event.heads.map((head) => head.slice(0, 8)) }, site);
  });
}

function traceLiveness(heartbeats: Heartbeats, deps: SimNodeDeps): void {
  const site = deps.label(deps.transport.peerId);
  // A dead process's leftovers (its transport detached under it) are not events of the run.
  heartbeats.on('peer:up', (event) => {
    if (deps.clock.alive) deps.trace.record('peer:up', { peer: deps.label(event.peer) }, site);
  });
  heartbeats.on('peer:down', (event) => {
    if (deps.clock.alive) deps.trace.record('peer:down', { peer: deps.label(event.peer) }, site);
  });
}
