/**
 * The HTTP front of a site, assembled: owned routes (Hono), the passthrough pool, the upgrade
 * tunnel, and the router that sorts every request between them (router.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Hono } from 'hono';
import type { Registry } from 'prom-client';
import type { Clock, Logger } from '../../core/index.js';
import type { Interceptor } from './interceptor.js';
import { createFrontMetrics } from './metrics.js';
import { createOwnedRoutes, type AdminRoutes, type ReadinessCheck } from './owned-routes.js';
import { createPassthrough, type PassthroughOptions } from './passthrough.js';
import { RequestRouter } from './router.js';
import { readScopeCarrier, scopeHeader } from './scope-carrier.js';
import { createUpgradeTunnel } from './upgrade.js';

/** What the front needs from its node. */
export interface FrontDeps {
  /** Base URL of the local application (`http://127.0.0.1:8001`). */
  readonly upstream: string | URL;
  readonly logger: Logger;
  /** The node's own metrics registry; the front registers its metrics and the process metrics on it. */
  readonly registry: Registry;
  /** Times requests for the latency histogram. */
  readonly clock: Pick<Clock, 'now'>;
  /** The node's readiness for `/readyz`; ready when absent. */
  readonly ready?: ReadinessCheck;
  /** The admin API under `/cheops/v1/`. */
  readonly admin?: AdminRoutes;
  /** Consulted before every passthrough; see interceptor.ts. */
  readonly interceptor?: Interceptor;
}

/** Tuning; every field has a default. */
export interface FrontOptions {
  readonly passthrough?: PassthroughOptions;
}

/** A site's HTTP front. */
export interface Front {
  /** The node:http request listener: `http.createServer(front.handle)`. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * The node:http `upgrade` listener (kubectl exec, attach, port-forward): the connection is
   * tunnelled to the local application as is. `server.on('upgrade', front.handleUpgrade)`.
   */
  readonly handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** The owned routes as a Hono app, for in-process tests (`front.app.request('/livez')`). */
  readonly app: Hono;
  /**
   * Closes the connections to the local application; passthrough requests still in flight are
   * cut. Close the server first so that no new request arrives.
   */
  close(): Promise<void>;
}

/** Builds the front. It starts nothing: serve `handle` on a server to use it. */
export function createFront(deps: FrontDeps, options: FrontOptions = {}): Front {
  const logger = deps.logger.child({ component: 'http-front' });
  const upstream = new URL(deps.upstream);
  const metrics = createFrontMetrics(deps.registry);
  const app = createOwnedRoutes({
    registry: deps.registry,
    logger,
    ...(deps.ready === undefined ? {} : { ready: deps.ready }),
    ...(deps.admin === undefined ? {} : { admin: deps.admin }),
  });
  const passthrough = createPassthrough({ upstream, logger, metrics }, options.passthrough);
  const tls = options.passthrough?.tls;
  const tunnel = createUpgradeTunnel({ upstream, logger, ...(tls === undefined ? {} : { tls }) });
  const router = new RequestRouter({
    logger,
    app,
    passthrough,
    metrics,
    clock: deps.clock,
    ...(deps.interceptor === undefined ? {} : { interceptor: deps.interceptor }),
  });

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const carried = readScopeCarrier(req.url ?? '/', req.headers[scopeHeader]);
    tunnel.open(req, socket, head, carried.ok ? carried.value.url : (req.url ?? '/'));
  };

  return { handle: router.handle, handleUpgrade, app, close: () => passthrough.close() };
}

/**
 * A node:http server serving `front`, upgrades included (without an `upgrade` listener, node
 * would hand `kubectl exec` to the request listener, which cannot tunnel it). Not listening yet.
 */
export function createFrontServer(front: Front): Server {
  const server = createServer(front.handle);
  server.on('upgrade', front.handleUpgrade);
  return server;
}
