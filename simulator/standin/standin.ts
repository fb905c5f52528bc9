/**
 * The stand-in Kubernetes API of one site: a fetch-shaped handler over the store, the registry and
 * the controllers. Every site's server makes its own uids and resource versions; with a Storage it
 * keeps its objects across restarts, as a real cluster's etcd does.
 */
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import type { Random } from '../../core/random.js';
import type { Storage } from '../../crdt/storage.js';
import { ControllerManager } from './controllers/controller-manager.js';
import { nodeIdentityOf } from './controllers/kubelet.js';
import { internalError } from './errors.js';
import { errorResponse } from './http/negotiation.js';
import { route, type RouterContext } from './http/router.js';
import { kubernetesServiceIp } from './cluster-ip.js';
import { Registry } from './registry.js';
import { resourceType } from './resources.js';
import { ObjectStore } from './store.js';

export interface StandinOptions {
  /** The site's name; it names the simulated node (`site1-control-plane`). */
  readonly site: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** Where objects persist; in memory when absent. The stand-in does not close it. */
  readonly storage?: Storage;
  /** How many recent changes a watch may resume from (default 4096); older ones get 410 Expired. */
  readonly watchHistorySize?: number;
}

export interface Standin {
  /** Answers one Kubernetes API request. Waits for the state to load first; never rejects. */
  fetch(request: Request): Promise<Response>;
  /** Resolves when the persisted state is loaded and the bootstrap objects exist. */
  readonly ready: Promise<void>;
  /** Resolves when the controllers have nothing left to do (tests, simulator). */
  idle(): Promise<void>;
  /** Ends open watches, stops the controllers and waits for pending writes. */
  close(): Promise<void>;
}

/** The namespaces every cluster starts with. */
const systemNamespaces = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

async function bootstrap(registry: Registry, site: string): Promise<void> {
  if (registry.store.list(resourceType('namespaces')).length > 0) return;
  for (const name of systemNamespaces) {
    await registry.createInternal('namespaces', '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  await registry.createInternal('services', 'default', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { clusterIP: kubernetesServiceIp, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
  });
  await registry.createInternal('endpoints', 'default', {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: nodeIdentityOf(site).hostIp }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] }],
  });
}

/** Builds the stand-in of one site. */
export function createStandin(options: StandinOptions): Standin {
  const logger = options.logger.child({ component: 'standin', site: options.site });
  const store = new ObjectStore({
    logger,
    ...(options.storage === undefined ? {} : { storage: options.storage }),
    ...(options.watchHistorySize === undefined ? {} : { historySize: options.watchHistorySize }),
  });
  const registry = new Registry({ store, clock: options.clock, random: options.random.fork('standin-registry') });
  const controllers = new ControllerManager({ registry, random: options.random.fork('standin-kubelet'), logger, site: options.site });
  const context: RouterContext = { registry, clock: options.clock, logger, open: new Set() };
  let closed = false;
  const ready = (async () => {
    await store.load();
    controllers.start();
    await bootstrap(registry, options.site);
  })();
  ready.catch((error: unknown) => logger.error({ err: error }, 'stand-in failed to start'));
  return {
    ready,
    async fetch(request: Request): Promise<Response> {
      try {
        await ready;
      } catch (error) {
        return errorResponse(internalError(`the stand-in failed to start: ${error instanceof Error ? error.message : String(error)}`));
      }
      if (closed) return errorResponse(internalError('the stand-in is closed'));
      return route(context, request);
    },
    idle: async () => {
      await ready.catch(() => undefined);
      await controllers.idle();
      await store.settled();
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await ready.catch(() => undefined);
      for (const close of [...context.open]) close();
      controllers.stop();
      await store.settled();
    },
  };
}
