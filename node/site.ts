/**
 * The composition root of one site: it builds the object graph (store, documents, transport,
 * heartbeats, redialer, document sync, site directory, HTTP front) from a config and the injected
 * ports, and starts and stops it in order. Nothing else in Cheops wires components together.
 */
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { CheopsError, ErrorCode, errorMessage, type Clock, type Logger, type Random } from '../core/index.js';
import { DocumentStore } from '../crdt/document-store.js';
import { SiteDirectory, siteDirectoryId, type SiteEntry } from '../crdt/site-directory.js';
import type { Storage } from '../crdt/storage.js';
import type { StagingLog } from '../crdt/staging-log.js';
import type { BackgroundGate } from '../p2p/background-hold.js';
import { createDocSync, type DocSync } from '../p2p/doc-sync.js';
import { createHeartbeats, type Heartbeats } from '../p2p/heartbeat.js';
import { createRedialer, type Redialer } from '../p2p/redialer.js';
import type { Transport } from '../p2p/transport.js';
import type { SharedWith, SharePolicy } from '../p2p/share-policy.js';
import type { DocumentId, PeerIdString, SiteName } from '../core/ids.js';
import { kubernetesReplicationGlue } from '../glue/kubernetes/index.js';
import type { ReplicationGlue } from '../glue/types.js';
import type { NodeConfig } from './config.js';
import { renderDashboard } from './dashboard.js';
import { documentsAdminRoutes } from './documents-admin.js';
import { ExpectedHeads } from './expected-heads.js';
import { createFront, createFrontServer, type AdminRoutes, type Front, type FrontServer } from './http/index.js';
import { httpLocalApp, type LocalApp } from './local-app.js';
import { noApplication } from './no-application.js';
import { httpRemoteFetch, ReplicationEngine, type RemoteFetch, type SitesPort } from './replication/index.js';
import { createSiteMetrics } from './site-metrics.js';
import { StorageHealth } from '../crdt/storage-health.js';
import { SitesView } from './sites-view.js';

/**
 * The ports a site runs on: the real ones in production (cli/run-site.ts: the system clock,
 * a LevelStorage, a Libp2pTransport), simulated ones in the simulator. The site owns neither the
 * storage nor the transport: it starts using them and stops using them, their creator closes them.
 */
export interface SiteComponents {
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly storage: Storage;
  /** Where creates stage their intent and writes their mark (ReplicationComponents' `stagingLog`); the store when absent. Opened and closed by the caller. */
  readonly stagingLog?: StagingLog;
  /** Started by the caller before the site starts. */
  readonly transport: Transport;
  /**
   * How the node reaches its application; an HTTP pool to `app.url` when absent. The simulator
   * gives the stand-in in-process.
   */
  readonly localApp?: LocalApp;
  /** How the node reaches other sites' fronts (forwarded writes); HTTP when absent. */
  readonly remoteFetch?: RemoteFetch;
}

/** The local application, already running (a URL, or the stand-in started by the caller). */
export interface LocalApplication {
  /** Base URL of the application's HTTP API, or undefined when the site has none. */
  readonly url: string | undefined;
  /** Its kind, published in the site directory (`kubernetes`, `openstack`, `none`). */
  readonly kind: string;
}

/** A running site. */
export interface Site {
  readonly config: NodeConfig;
  readonly peerId: string;
  /** libp2p addresses, each ending in `/p2p/<peer id>`. */
  readonly p2pAddresses: readonly string[];
  readonly sites: SitesView;
  /** The site's documents, read-only (checkers and tests look, never touch). */
  readonly documents: Pick<DocumentStore, 'ids' | 'has' | 'heads' | 'read' | 'onChange'>;
  readonly docSync: Pick<DocSync, 'stats'>;
  readonly heartbeats: Pick<Heartbeats, 'peers' | 'peer'>;
  /** Replication work under way that no document shows yet (ReplicationEngine.workUnderWay); 0 without an application. */
  readonly replicationUnderWay: () => number;
  /** The front, in process: the simulator drives requests through it without sockets. */
  readonly fetch: (request: Request) => Promise<Response>;
  /**
   * Serves the front on `config.http` (the raw HTTP/1.1 server: plain passthrough never touches
   * node:http) and resolves with its URL, with the port chosen when the config said 0.
   */
  listen(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts a site; on failure everything already started is stopped again before it rejects. */
export async function startSite(config: NodeConfig, app: LocalApplication, components: SiteComponents): Promise<Site> {
  const logger = components.logger.child({ site: config.site });
  const stack: Array<{ name: string; stop: () => Promise<void> | void }> = [];
  const stopAll = async (): Promise<void> => {
    for (const { name, stop } of stack.reverse()) {
      try {
        await stop();
      } catch (error) {
        logger.warn({ component: name, error: errorMessage(error) }, 'stop failed');
      }
    }
    stack.length = 0;
  };
  try {
    const { transport } = components;
    // Every write of the node goes through it: a full disk's end is seen the moment it comes.
    const storageHealth = new StorageHealth({ clock: components.clock, logger });
    stack.push({ name: 'storage-health', stop: () => storageHealth.stop() });
    const storage = storageHealth.watch(components.storage);
    const documents = new DocumentStore({ storage, clock: components.clock, random: components.random, logger });
    await documents.open();
    stack.push({ name: 'documents', stop: () => documents.close() });

    const directory = new SiteDirectory(
      { documents, clock: components.clock, logger },
      { peerId: transport.peerId },
    );
    const self = await directory.register({
      name: config.site,
      addresses: transport.addresses(),
      http: config.advertisedHttp,
      app: app.kind,
    });

    // The sites view answers the share policy from the first sync message on: fill it from the
    // stored directory before the mesh starts. Heartbeats exist only once the mesh does.
    const late: { heartbeats?: Heartbeats; docSync?: DocSync } = {};
    const sites = new SitesView({ heartbeats: { peer: (peer) => late.heartbeats?.peer(peer) }, self: self.peerId });
    sites.update((await directory.view()).sites);

    const registry = new Registry();
    const syncBusy = (): boolean => (late.docSync?.receivedBacklogBytes() ?? 0) >= syncBusyBacklogBytes;
    const stagingLog = components.stagingLog === undefined ? undefined : storageHealth.watchStaging(components.stagingLog);
    const replication = await openReplication(config, app, {
      components: { ...components, storage, ...(stagingLog === undefined ? {} : { stagingLog }) }, documents, sites, registry, logger, syncBusy, storageWritable: () => storageHealth.writable,
    });
    if (replication !== undefined) stack.push({ name: 'replication', stop: () => replication.stop() });

    const mesh = startMesh(config, {
      transport, documents, components, logger, sharePolicy: sharePolicyOf(replication?.engine),
      ...(replication === undefined ? {} : { background: replication.engine.backgroundGate, onRefused: replication.engine.refusedFrom }),
    });
    late.heartbeats = mesh.heartbeats;
    late.docSync = mesh.docSync;
    storageHealth.onBack(() => {
      mesh.docSync.retryLostWrites();
      replication?.engine.storageBack();
    });
    replication?.engine.onWidened((docId) => mesh.docSync.offer(docId));
    stack.push({ name: 'mesh', stop: () => mesh.stop() });
    // Stopped before the mesh (the stack runs backwards): no pass starts on a closing store.
    if (replication !== undefined) {
      replication.engine.start();
      stack.push({ name: 'reconciler', stop: () => replication.engine.stop() });
    }

    const watcher = watchDirectory({ documents, directory, mesh, sites, self, logger });
    stack.push({ name: 'directory-watch', stop: watcher });

    createSiteMetrics(registry, { sites, docSync: mesh.docSync, documents, storage: storageHealth });
    const expectedHeads = new ExpectedHeads({ documents, clock: components.clock });
    stack.push({ name: 'expected-heads', stop: () => expectedHeads.stop() });
    const admin: AdminRoutes = {
      'GET /sites': (c) => c.json({ items: sites.list() }),
      ...documentsAdminRoutes({ documents, expectedHeads }),
      ...(replication === undefined ? {} : replication.engine.adminRoutes()),
    };
    const frontApp = components.localApp ?? (app.url === undefined ? noApplication : undefined);
    const glue = glueFor(app.kind);
    const front = createFront({
      ...(app.url === undefined ? {} : { upstream: app.url }),
      ...(frontApp === undefined ? {} : { app: frontApp }),
      logger,
      registry,
      clock: components.clock,
      ready: () => true,
      admin,
      dashboard: () => renderDashboard({ self: config.site, sites: sites.list(), replicants: replication?.engine.overviews(), nowMs: components.clock.now() }),
      ...(replication === undefined ? {} : { interceptor: replication.engine.interceptor, wants: replication.engine.wants, upgradeRoute: replication.engine.upgradeRoute }),
      ...(glue === undefined ? {} : { scopeFree: (method: string, path: string) => glue.isScopeFree(method, path) }),
    });
    stack.push({ name: 'front', stop: () => front.close() });
    logger.info({ app: app.url ?? (components.localApp === undefined ? 'none' : 'in-process') }, 'site started');

    return {
      config,
      peerId: transport.peerId,
      p2pAddresses: transport.addresses(),
      sites,
      documents,
      docSync: mesh.docSync,
      heartbeats: mesh.heartbeats,
      replicationUnderWay: () => replication?.engine.workUnderWay() ?? 0,
      fetch: front.fetch,
      listen: async () => {
        const server = await listen(front, config);
        stack.push({ name: 'http', stop: () => closeServer(server) });
        const address = server.address() as AddressInfo;
        const httpUrl = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
        logger.info({ http: httpUrl }, 'site ready');
        return httpUrl;
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

interface Mesh {
  readonly heartbeats: Heartbeats;
  readonly redialer: Redialer;
  readonly docSync: DocSync;
  stop(): Promise<void>;
}

interface MeshDeps {
  readonly transport: Transport;
  readonly documents: DocumentStore;
  readonly components: SiteComponents;
  readonly logger: Logger;
  readonly sharePolicy: SharePolicy;
  /** Replica statuses wait while the reconciler has a backlog (p2p/background-hold.ts). */
  readonly background?: BackgroundGate;
  /** Told of each document message refused from a peer outside the document's scope. */
  readonly onRefused?: (peer: PeerIdString, doc: DocumentId) => boolean;
}

/** Heartbeats, redials and document sync, all on the Transport port. */
function startMesh(config: NodeConfig, deps: MeshDeps): Mesh {
  const { transport, documents, components, logger, sharePolicy, background, onRefused } = deps;
  const heartbeats = createHeartbeats(
    { intervalMs: config.heartbeatIntervalMs, downAfterMs: config.peerDownAfterMs },
    { transport, clock: components.clock, logger },
  );
  const redialer = createRedialer(
    { maxDelayMs: config.redialMaxDelayMs },
    { transport, clock: components.clock, random: components.random, logger },
  );
  const docSync = createDocSync(
    { sharedWith: sharePolicy, antiEntropyIntervalMs: config.antiEntropyIntervalMs },
    { transport, documents, clock: components.clock, logger, liveness: heartbeats, ...(background === undefined ? {} : { background }), ...(onRefused === undefined ? {} : { onRefused }) },
  );
  heartbeats.start();
  docSync.start();
  for (const peer of config.peers) redialer.add(peer);
  redialer.start();
  return {
    heartbeats,
    redialer,
    docSync,
    stop: async () => {
      redialer.stop();
      await docSync.stop();
      heartbeats.stop();
    },
  };
}

/**
 * Which peers may hold a document. The site directory is shared with every site; replicants with
 * the sites of their scope (the replication engine decides). Anything else stays local (fail closed).
 */
function sharePolicyOf(engine: ReplicationEngine | undefined): SharePolicy {
  return (docId: DocumentId): SharedWith => {
    if (docId === siteDirectoryId) return 'all';
    return engine?.sharePolicy(docId) ?? new Set();
  };
}

interface ReplicationDeps {
  readonly components: SiteComponents;
  /** True while a heal's document sync has much received work waiting (read once the mesh exists). */
  readonly syncBusy: () => boolean;
  readonly documents: DocumentStore;
  readonly sites: SitesView;
  readonly registry: Registry;
  readonly logger: Logger;
  /** False while the site's store refuses writes (StorageHealth). */
  readonly storageWritable: () => boolean;
}

/** The replication engine and what it owns, or undefined for a site without an application. */
interface RunningReplication {
  readonly engine: ReplicationEngine;
  /** Closes the connections to the application and to the other fronts. */
  stop(): Promise<void>;
}

/** The glue of an application kind; a URL without a kind is taken for a Kubernetes API. */
/**
 * Received sync bytes waiting to be applied and written above which reconcile passes wait (up to
 * 2 s in a row): a heal's bursts (hundreds of KiB of whole documents and sync messages) are far
 * above it, the pushes of everyday writes (a few KiB) far below, so a write is reconciled at once.
 */
const syncBusyBacklogBytes = 64 * 1024;

function glueFor(kind: string): ReplicationGlue | undefined {
  return kind === 'kubernetes' || kind === 'http' ? kubernetesReplicationGlue : undefined;
}

/** Builds the replication engine and loads its index (before document sync starts). */
async function openReplication(config: NodeConfig, app: LocalApplication, deps: ReplicationDeps): Promise<RunningReplication | undefined> {
  const glue = glueFor(app.kind);
  const { components, documents, sites, registry, logger } = deps;
  const localApp = components.localApp ?? (app.url === undefined ? undefined : httpLocalApp(app.url));
  if (localApp === undefined || glue === undefined) return undefined;
  const remote = components.remoteFetch === undefined ? httpRemoteFetch() : { fetch: components.remoteFetch, close: () => Promise.resolve() };
  const engine = new ReplicationEngine(
    {
      documents, storage: components.storage, localApp, glue, sites: sitesPort(config.site, sites), remote: remote.fetch,
      ...(components.stagingLog === undefined ? {} : { stagingLog: components.stagingLog }),
      clock: components.clock, random: components.random, logger, registry, yieldTo: deps.syncBusy, storageWritable: deps.storageWritable,
    },
    { site: config.site },
  );
  await engine.open();
  return {
    engine,
    stop: async () => {
      // An injected application belongs to its creator; only the pool made here is closed here.
      if (components.localApp === undefined) await localApp.close();
      await remote.close();
    },
  };
}

/** The synchronous view of the sites replication asks (SitesView adapted). */
function sitesPort(self: SiteName, sites: SitesView): SitesPort {
  return {
    self,
    names: () => sites.names(),
    peerIdOf: (site) => sites.byName(site)?.peerId,
    httpOf: (site) => sites.byName(site)?.http,
    isUp: (site) => site === self || sites.byName(site)?.state === 'up',
    rttMs: (site) => sites.byName(site)?.rttMs ?? undefined,
  };
}

interface DirectoryWatchDeps {
  readonly documents: DocumentStore;
  readonly directory: SiteDirectory;
  readonly mesh: Mesh;
  readonly sites: SitesView;
  readonly self: SiteEntry;
  readonly logger: Logger;
}

/**
 * Follows the site directory: every site it lists is tracked by heartbeats and kept connected by
 * the redialer (so a site learnt through a peer, or restarted with its directory from disk, dials
 * the others itself), and a lost claim of our own name is reported loudly.
 */
function watchDirectory(deps: DirectoryWatchDeps): () => void {
  const { documents, directory, mesh, sites, self, logger } = deps;
  let refreshing = Promise.resolve();
  const refresh = (): void => {
    refreshing = refreshing
      .then(async () => {
        const view = await directory.view();
        for (const entry of view.sites) {
          if (entry.peerId === self.peerId) continue;
          mesh.heartbeats.track(entry.peerId);
          for (const address of entry.addresses) mesh.redialer.add(address, entry.peerId);
        }
        for (const conflict of view.conflicts) {
          if (conflict.losers.some((loser) => loser.peerId === self.peerId)) {
            logger.error(
              { name: conflict.name, winner: conflict.winner.peerId },
              `site name ${conflict.name} is bound to another peer id; this site's claim lost`,
            );
          }
        }
        sites.update(view.sites);
      })
      .catch((error: unknown) => logger.warn({ error: errorMessage(error) }, 'site directory refresh failed'));
  };
  const unsubscribe = documents.onChange((event) => {
    if (event.docId === siteDirectoryId) refresh();
  });
  refresh();
  return unsubscribe;
}

function listen(front: Front, config: NodeConfig): Promise<FrontServer> {
  const server = createFrontServer(front);
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new CheopsError(ErrorCode.ConfigInvalid, `cannot listen on --http ${config.http.host}:${config.http.port}: ${error.code ?? error.message}`, {
          cause: error,
        }),
      );
    });
    server.listen(config.http.port, config.http.host, () => resolve(server));
  });
}

function closeServer(server: FrontServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
