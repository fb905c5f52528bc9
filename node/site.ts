/**
 * The composition root of one site: it builds the object graph (store, documents, transport,
 * heartbeats, redialer, document sync, site directory, HTTP front) from a config and the injected
 * ports, and starts and stops it in order. Nothing else in Cheops wires components together.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { CheopsError, ErrorCode, errorMessage, type Clock, type Logger, type Random } from '../core/index.js';
import { DocumentStore } from '../crdt/document-store.js';
import { SiteDirectory, siteDirectoryId, type SiteEntry } from '../crdt/site-directory.js';
import type { Storage } from '../crdt/storage.js';
import { createDocSync, type DocSync } from '../p2p/doc-sync.js';
import { createHeartbeats, type Heartbeats } from '../p2p/heartbeat.js';
import { createRedialer, type Redialer } from '../p2p/redialer.js';
import type { Transport } from '../p2p/transport.js';
import type { SharedWith, SharePolicy } from '../p2p/share-policy.js';
import type { DocumentId, SiteName } from '../core/ids.js';
import { kubernetesReplicationGlue } from '../glue/kubernetes/index.js';
import type { ReplicationGlue } from '../glue/types.js';
import type { NodeConfig } from './config.js';
import { createFront, type AdminRoutes, type Front } from './http/index.js';
import { httpLocalApp } from './local-app.js';
import { noApplication } from './no-application.js';
import { httpRemoteFetch, ReplicationEngine, type SitesPort } from './replication/index.js';
import { createSiteMetrics } from './site-metrics.js';
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
  /** Started by the caller before the site starts. */
  readonly transport: Transport;
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
  /** Where the HTTP front listens, with the port chosen when the config said 0. */
  readonly httpUrl: string;
  /** libp2p addresses, each ending in `/p2p/<peer id>`. */
  readonly p2pAddresses: readonly string[];
  readonly sites: SitesView;
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
    const { storage, transport } = components;
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
    const late: { heartbeats?: Heartbeats } = {};
    const sites = new SitesView({ heartbeats: { peer: (peer) => late.heartbeats?.peer(peer) }, self: self.peerId });
    sites.update((await directory.view()).sites);

    const registry = new Registry();
    const replication = await openReplication(config, app, { components, documents, sites, registry, logger });
    if (replication !== undefined) stack.push({ name: 'replication', stop: () => replication.stop() });

    const mesh = startMesh(config, { transport, documents, components, logger, sharePolicy: sharePolicyOf(replication?.engine) });
    late.heartbeats = mesh.heartbeats;
    stack.push({ name: 'mesh', stop: () => mesh.stop() });
    // Stopped before the mesh (the stack runs backwards): no pass starts on a closing store.
    if (replication !== undefined) {
      replication.engine.start();
      stack.push({ name: 'reconciler', stop: () => replication.engine.stop() });
    }

    const watcher = watchDirectory({ documents, directory, mesh, sites, self, logger });
    stack.push({ name: 'directory-watch', stop: watcher });

    createSiteMetrics(registry, { sites, docSync: mesh.docSync, documents });
    const admin: AdminRoutes = {
      'GET /sites': (c) => c.json({ items: sites.list() }),
      ...(replication === undefined ? {} : replication.engine.adminRoutes()),
    };
    const front = createFront({
      upstream: app.url ?? 'http://127.0.0.1:9',
      logger,
      registry,
      clock: components.clock,
      ready: () => true,
      admin,
      ...(replication !== undefined
        ? { interceptor: replication.engine.interceptor, wants: replication.engine.wants }
        : app.url === undefined
          ? { interceptor: noApplication }
          : {}),
    });
    stack.push({ name: 'front', stop: () => front.close() });
    const server = await listen(front, config, logger);
    stack.push({ name: 'http', stop: () => closeServer(server) });
    const address = server.address() as AddressInfo;
    const httpUrl = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
    logger.info({ http: httpUrl, app: app.url ?? 'none' }, 'site ready');

    return {
      config,
      peerId: transport.peerId,
      httpUrl,
      p2pAddresses: transport.addresses(),
      sites,
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
}

/** Heartbeats, redials and document sync, all on the Transport port. */
function startMesh(config: NodeConfig, deps: MeshDeps): Mesh {
  const { transport, documents, components, logger, sharePolicy } = deps;
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
    { transport, documents, clock: components.clock, logger, liveness: heartbeats },
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
  readonly documents: DocumentStore;
  readonly sites: SitesView;
  readonly registry: Registry;
  readonly logger: Logger;
}

/** The replication engine and what it owns, or undefined for a site without an application. */
interface RunningReplication {
  readonly engine: ReplicationEngine;
  /** Closes the connections to the application and to the other fronts. */
  stop(): Promise<void>;
}

/** The glue of an application kind; a URL without a kind is taken for a Kubernetes API. */
function glueFor(kind: string): ReplicationGlue | undefined {
  return kind === 'kubernetes' || kind === 'http' ? kubernetesReplicationGlue : undefined;
}

/** Builds the replication engine and loads its index (before document sync starts). */
async function openReplication(config: NodeConfig, app: LocalApplication, deps: ReplicationDeps): Promise<RunningReplication | undefined> {
  const glue = glueFor(app.kind);
  if (app.url === undefined || glue === undefined) return undefined;
  const { components, documents, sites, registry, logger } = deps;
  const localApp = httpLocalApp(app.url);
  const remote = httpRemoteFetch();
  const engine = new ReplicationEngine(
    {
      documents, storage: components.storage, localApp, glue, sites: sitesPort(config.site, sites), remote: remote.fetch,
      clock: components.clock, random: components.random, logger, registry,
    },
    { site: config.site },
  );
  await engine.open();
  return {
    engine,
    stop: async () => {
      await localApp.close();
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

function listen(front: Front, config: NodeConfig, logger: Logger): Promise<Server> {
  const server = createServer({ keepAliveTimeout: 65_000 }, front.handle);
  server.on('upgrade', front.handleUpgrade);
  server.on('clientError', (error, socket) => {
    logger.debug({ error: errorMessage(error) }, 'bad HTTP request from a client');
    socket.destroy();
  });
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

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
