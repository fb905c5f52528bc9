/**
 * The node of one simulated site: the whole production node, built by `startSite` (node/site.ts)
 * over the simulated ports, with the stand-in Kubernetes API in process as its application:
 * document store, site directory, heartbeats, redialer, document sync, the replication engine
 * (write path, reconciler, key index, share policy) and the HTTP front, driven in process through
 * `Site.fetch`. The simulator never calls `listen()`: no socket is opened.
 */
import type { Clock } from '../../core/clock.js';
import type { PeerIdString, SiteName } from '../../core/ids.js';
import type { Logger } from '../../core/logger.js';
import type { Random } from '../../core/random.js';
import type { DocumentChangedEvent } from '../../crdt/documents.js';
import type { StagingLog } from '../../crdt/staging-log.js';
import type { Storage } from '../../crdt/storage.js';
import { configDefaults, type NodeConfig } from '../../node/config.js';
import type { RemoteFetch } from '../../node/replication/index.js';
import { startSite, type Site } from '../../node/site.js';
import type { MemoryTransport } from '../../p2p/memory-transport.js';
import { sampleLatency, type LatencyDistribution } from '../core/distributions.js';
import type { SeededRandom } from '../core/seeded-random.js';
import type { ClockScope } from '../core/sim-clock.js';
import type { Trace } from '../core/trace.js';
import { createStandin, type Standin } from '../standin/index.js';
import { OutageGate, type AppAvailability } from './app-availability.js';
import { observedApp, type AppLatency, type AppLog } from './app-log.js';
import type { SiteHookContext, SiteHooks } from './site-hooks.js';

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

/** The URL a site's front is known by (in the site directory, and to the simulated HTTP). */
export function simHttpUrl(site: SiteName): string {
  return `http://${site.toLowerCase()}.sim`;
}

export interface SimNodeInit {
  readonly site: SiteName;
  readonly incarnation: number;
  /** Addresses to dial and stay connected to (`--peer`). */
  readonly peers: readonly string[];
  readonly settings: SimNodeSettings;
  readonly hooks: SiteHooks;
  /** How long the application takes to answer a call; absent: at once. */
  readonly appLatency?: LatencyDistribution;
}

export interface SimNodeDeps {
  /** The process's clock scope: killed when the process crashes. */
  readonly clock: ClockScope;
  /** The process's randomness (a new stream per incarnation, as a restarted process's OS entropy). */
  readonly random: SeededRandom;
  readonly logger: Logger;
  /** The node's store. */
  readonly storage: Storage;
  /** The node's staging log, on the same disk. */
  readonly stagingLog: StagingLog;
  /** The stand-in's store (its etcd). */
  readonly appStorage: Storage;
  /** Whether the site's application answers (held by the site: an outage outlives the node's crash). */
  readonly appAvailability: AppAvailability;
  /** Not started: the node starts it. */
  readonly transport: MemoryTransport;
  /** How this node reaches other sites' fronts. */
  readonly remoteFetch: RemoteFetch;
  readonly trace: Trace;
  readonly apps: AppLog;
  /** Told every change stored on this node (checkers watch where documents go). */
  readonly onDocumentChange: (site: SiteName, event: DocumentChangedEvent) => void;
  /** Virtual milliseconds since the start of the run. */
  readonly elapsedMs: () => number;
  /** The site name of a peer, for the timeline. */
  readonly label: (peer: PeerIdString) => string;
}

/** One running node. */
export interface SimNode {
  /** The production site, as `startSite` answered it. */
  readonly site: Site;
  readonly documents: Site['documents'];
  readonly heartbeats: Site['heartbeats'];
  readonly docSync: Site['docSync'];
  /** The real transport (the node may see a hook's wrapper of it). */
  readonly transport: MemoryTransport;
  readonly standin: Standin;
  readonly incarnation: number;
  /** The front as clients reach it: the site's own, or a hook's wrapper of it. */
  readonly fetch: (request: Request) => Promise<Response>;
}

/** The node's config as `cheops node` would resolve it, on the simulated addresses. */
function nodeConfig(init: SimNodeInit): NodeConfig {
  return {
    site: init.site,
    dataDir: `/sim/${init.site}`,
    http: { host: `${init.site.toLowerCase()}.sim`, port: 80 },
    advertisedHttp: simHttpUrl(init.site),
    p2p: `/memory/${init.site}`,
    peers: init.peers,
    announce: [],
    app: { kind: 'standin' },
    ...init.settings,
    logLevel: 'info',
    // startSite never warms up (cli/run-site.ts does), and simulated time charges no CPU anyway.
    warmUp: false,
  };
}

/** Starts the stand-in, then the node through `startSite`; resolves once it is registered and its mesh runs. */
export async function startSimNode(init: SimNodeInit, deps: SimNodeDeps): Promise<SimNode> {
  const { clock, random, logger, transport } = deps;
  const context: SiteHookContext = { site: init.site, incarnation: init.incarnation, clock, random: random.fork('hooks') };
  const standin = createStandin({ site: init.site, clock, random, logger, storage: deps.appStorage });
  await standin.ready;
  const observed = observedApp(standin, {
    site: init.site, incarnation: init.incarnation, elapsedMs: deps.elapsedMs, log: deps.apps,
    ...(init.appLatency === undefined ? {} : { latency: appLatency(init.appLatency, clock, random.fork('app-latency')) }),
    outages: new OutageGate(deps.appAvailability, clock, init.site),
  });
  const localApp = init.hooks.localApp?.(observed, context) ?? observed;
  const storage = init.hooks.storage?.(deps.storage, context) ?? deps.storage;
  await transport.start();
  const nodeTransport = init.hooks.transport?.(transport, context) ?? transport;
  const site = await startSite(
    nodeConfig(init),
    { url: undefined, kind: 'kubernetes' },
    { clock, random, logger, storage, stagingLog: deps.stagingLog, transport: nodeTransport, localApp, remoteFetch: init.hooks.remoteFetch?.(deps.remoteFetch, context) ?? deps.remoteFetch },
  );
  traceDocuments(site, deps, init.site);
  const front = (request: Request): Promise<Response> => site.fetch(request);
  return {
    site, documents: site.documents, heartbeats: site.heartbeats, docSync: site.docSync, transport, standin, incarnation: init.incarnation,
    fetch: init.hooks.front?.(front, context) ?? front,
  };
}

function traceDocuments(site: Site, deps: SimNodeDeps, name: SiteName): void {
  site.documents.onChange((event) => {
    if (!deps.clock.alive) return;
    deps.onDocumentChange(name, event);
    // Folded into the hash, not kept: replication makes several changes per write on every site.
    deps.trace.digest('doc:change', { site: name, doc: event.docId, origin: event.origin, heads: [...event.heads] });
  });
}

/**
 * Each call's delay drawn from `latency`, part of it before the call reaches the stand-in and the
 * rest after, as a real application's work lies between the two. On the process's clock: a crash
 * before the call reaches the stand-in loses it; one after leaves the object made, unanswered.
 */
function appLatency(latency: LatencyDistribution, clock: Clock, random: Random): AppLatency {
  return {
    clock,
    draw: () => {
      const totalMs = sampleLatency(latency, random);
      const beforeMs = totalMs * random.float();
      return { beforeMs, afterMs: totalMs - beforeMs };
    },
  };
}
