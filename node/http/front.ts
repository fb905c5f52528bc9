/**
 * The HTTP front of a site, assembled: owned routes (Hono), the passthrough pool, the upgrade
 * tunnel, the node:http router that sorts requests between them (router.ts), the raw path that
 * forwards plain passthrough without node:http (fast/), and the in-process entry (`fetch`).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Hono } from 'hono';
import type { Registry } from 'prom-client';
import { CheopsError, ErrorCode, type Clock, type Logger } from '../../core/index.js';
import type { LocalApp } from '../local-app.js';
import { createAppPassthrough } from './app-passthrough.js';
import { createRawFront } from './fast/raw-front.js';
import { createFetchEntry } from './fetch-entry.js';
import type { InterceptFilter, Interceptor, RequestScope } from './interceptor.js';
import { createFrontMetrics } from './metrics.js';
import { createOwnedRoutes, type AdminRoutes, type ReadinessCheck } from './owned-routes.js';
import { createPassthrough, type Passthrough, type PassthroughOptions } from './passthrough.js';
import { resolveScope as resolveRequestScope, type ScopeFreeFilter } from './request-scope.js';
import { RequestRouter } from './router.js';
import { scopeHeader } from './scope-carrier.js';
import { createUpgradeTunnel, refuseUpgrade, type UpgradeElsewhere } from './upgrade.js';

/** What the front needs from its node. */
export interface FrontDeps {
  /**
   * Base URL of the local application (`http://127.0.0.1:8001`). May be left out when `app` is
   * given: then it is `app.url`, or there is none and the application is called in process.
   */
  readonly upstream?: string | URL;
  /**
   * The local application as the node's port (node/local-app.ts). Without a `url` (the stand-in
   * in process) every passthrough, from `fetch` and from sockets alike, is an `app.fetch` call.
   * With one, the passthrough goes over HTTP sockets as without `app`.
   */
  readonly app?: LocalApp;
  readonly logger: Logger;
  /** The node's own metrics registry; the front registers its metrics and the process metrics on it. */
  readonly registry: Registry;
  /** Times requests for the latency histogram, and idle upstream connections. */
  readonly clock: Pick<Clock, 'now'>;
  /** The node's readiness for `/readyz`; ready when absent. */
  readonly ready?: ReadinessCheck;
  /** The admin API under `/cheops/v1/`. */
  readonly admin?: AdminRoutes;
  /** The dashboard page (`/cheops/dashboard`): its HTML, made at each request. */
  readonly dashboard?: () => string | Promise<string>;
  /** Consulted before every passthrough it `wants`; see interceptor.ts. */
  readonly interceptor?: Interceptor;
  /**
   * Which unscoped requests the interceptor wants to be offered (scoped ones always are); every
   * one when absent. What it declines is forwarded by the raw path without node:http.
   */
  readonly wants?: InterceptFilter;
  /**
   * Requests no scope applies to (the application's discovery): a malformed scope on them is
   * ignored rather than refused, so that the client shows the 400 on the call that matters.
   */
  readonly scopeFree?: ScopeFreeFilter;
  /**
   * Consulted for an upgrade (exec, attach, port-forward) that carries a scope: undefined tunnels it
   * to the local application; an `UpgradeElsewhere` to another site's front (whose application
   * runs it); an error refuses it. Without it, a scope on an upgrade is only removed.
   */
  readonly upgradeRoute?: (method: string, url: string, scope: RequestScope, headers: IncomingHttpHeaders) => CheopsError | UpgradeElsewhere | undefined;
}

/** Limits on client connections of the raw path; every field has a default. */
export interface ClientOptions {
  /**
   * Closes a connection idle this long between requests. 65 s: longer than the 60 s idle timeout
   * of common load balancers and client pools, so that the client side closes first and never
   * sends a request on a connection the front is closing.
   */
  readonly idleTimeoutMs?: number;
  /** Answers 408 and closes when a request head is still incomplete after this long; 60 s, node's `headersTimeout`. */
  readonly headTimeoutMs?: number;
  /** Largest request head; 431 beyond. 16 KiB, node's default `maxHeaderSize`. */
  readonly maxHeadBytes?: number;
}

/** Tuning; every field has a default. */
export interface FrontOptions {
  /**
   * The connections to the application. The raw path implements `connections`,
   * `keepAliveTimeoutMs` and `tls`; with `headersTimeoutMs` or `bodyTimeoutMs` set, passthrough
   * goes through node:http and undici, which implement them.
   */
  readonly passthrough?: PassthroughOptions;
  readonly clients?: ClientOptions;
}

/** A site's HTTP front. */
export interface Front {
  /** The node:http request listener: `http.createServer(front.handle)`. Owned routes, scopes, interceptor, passthrough. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * The node:http `upgrade` listener (kubectl exec, attach, port-forward): the connection is
   * tunnelled to the local application as is. `server.on('upgrade', front.handleUpgrade)`.
   */
  readonly handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /**
   * The raw connection listener: `net.createServer(front.handleConnection)`, or
   * `createFrontServer(front)`. It reads HTTP/1.1 itself, forwards plain passthrough straight to
   * the application, and hands everything else to `handle` and `handleUpgrade`: the same
   * answers as a node:http server with `handle`, at a fraction of the cost per passthrough.
   */
  readonly handleConnection: (socket: Socket) => void;
  /**
   * Answers one request in process, exactly as `handle` would over a socket: owned routes,
   * scope carriers and their 400s, the interceptor, the passthrough (`app.fetch` for an
   * in-process application). Rejects only when `request.signal` aborts.
   */
  readonly fetch: (request: Request) => Promise<Response>;
  /** The owned routes as a Hono app, for in-process tests (`front.app.request('/livez')`). */
  readonly app: Hono;
  /**
   * Closes the connections to the local application; passthrough requests still in flight are
   * cut. Close the server first so that no new request arrives.
   */
  close(): Promise<void>;
}

/** Builds the front. It starts nothing: serve it with `createFrontServer` (or `handle`) to use it. */
export function createFront(deps: FrontDeps, options: FrontOptions = {}): Front {
  const logger = deps.logger.child({ component: 'http-front' });
  const upstream = upstreamOf(deps);
  const metrics = createFrontMetrics(deps.registry);
  const app = createOwnedRoutes({
    registry: deps.registry,
    logger,
    ...(deps.ready === undefined ? {} : { ready: deps.ready }),
    ...(deps.admin === undefined ? {} : { admin: deps.admin }),
    ...(deps.dashboard === undefined ? {} : { dashboard: deps.dashboard }),
  });
  const tls = options.passthrough?.tls;
  const passthrough: Passthrough =
    upstream === undefined
      ? createAppPassthrough({ app: deps.app as LocalApp, logger, metrics })
      : createPassthrough({ upstream, logger, metrics }, options.passthrough);
  const tunnel = upstream === undefined ? undefined : createUpgradeTunnel({ upstream, logger, ...(tls === undefined ? {} : { tls }) });
  const interception = {
    ...(deps.interceptor === undefined ? {} : { interceptor: deps.interceptor }),
    ...(deps.wants === undefined ? {} : { wants: deps.wants }),
    ...(deps.scopeFree === undefined ? {} : { scopeFree: deps.scopeFree }),
  };
  const router = new RequestRouter({ logger, app, passthrough, metrics, clock: deps.clock, ...interception });

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (tunnel === undefined) {
      refuseUpgrade(socket, new CheopsError(ErrorCode.AppUnreachable, 'upgrades (exec, attach, port-forward) need the local application over HTTP'));
      return;
    }
    const method = req.method ?? 'GET';
    const scoped = resolveRequestScope(method, req.url ?? '/', req.headers[scopeHeader], logger, deps.scopeFree);
    if (!scoped.ok) {
      refuseUpgrade(socket, scoped.error);
      return;
    }
    const route = scoped.scope === undefined ? undefined : deps.upgradeRoute?.(method, scoped.url, scoped.scope, req.headers);
    if (route instanceof CheopsError) {
      logger.info({ method, url: scoped.url, scope: scoped.scope?.text, error: route.message }, 'upgrade refused');
      refuseUpgrade(socket, route);
      return;
    }
    tunnel.open(req, socket, head, scoped.url, route);
  };
  const raw = createRawFront(
    {
      // Timeouts on the application's answers are undici's: without them there, nothing is forwarded raw.
      upstream: (options.passthrough?.headersTimeoutMs ?? 0) > 0 || (options.passthrough?.bodyTimeoutMs ?? 0) > 0 ? undefined : upstream,
      ...(tls === undefined ? {} : { tls }),
      handle: router.handle,
      handleUpgrade,
      interceptor: deps.interceptor,
      wants: deps.wants,
      scopeFree: deps.scopeFree,
      logger,
      metrics,
      clock: deps.clock,
    },
    {
      connections: options.passthrough?.connections ?? null,
      keepAliveTimeoutMs: options.passthrough?.keepAliveTimeoutMs ?? 4_000,
      maxResponseHeadBytes: 64 * 1024,
      clients: {
        idleTimeoutMs: options.clients?.idleTimeoutMs ?? 65_000,
        headTimeoutMs: options.clients?.headTimeoutMs ?? 60_000,
        maxHeadBytes: options.clients?.maxHeadBytes ?? 16 * 1024,
      },
    },
  );

  return {
    handle: router.handle,
    handleUpgrade,
    handleConnection: raw.handleConnection,
    fetch: createFetchEntry({ logger, app, passthrough, metrics, clock: deps.clock, ...interception }),
    app,
    close: async () => {
      raw.close();
      await passthrough.close();
    },
  };
}

/** The application's URL, or undefined for an in-process one. */
function upstreamOf(deps: FrontDeps): URL | undefined {
  if (deps.upstream !== undefined) return new URL(deps.upstream);
  if (deps.app === undefined) {
    throw new CheopsError(ErrorCode.ConfigInvalid, 'the HTTP front needs the local application: an upstream URL or a LocalApp');
  }
  return deps.app.url === undefined ? undefined : new URL(deps.app.url);
}

/**
 * A TCP server serving `front` on its raw path (`front.handleConnection`), with node:http behind
 * it for what the raw path does not forward (upgrades included). Not listening yet.
 */
export class FrontServer extends NetServer {
  private readonly sockets = new Set<Socket>();

  constructor(front: Pick<Front, 'handleConnection'>) {
    super({ noDelay: true }, (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      front.handleConnection(socket);
    });
  }

  /** Destroys every client connection, idle or not (node:http's `closeAllConnections`). */
  closeAllConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}

/** A FrontServer for `front`. Not listening yet. */
export function createFrontServer(front: Pick<Front, 'handleConnection'>): FrontServer {
  return new FrontServer(front);
}
