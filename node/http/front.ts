/**
 * The HTTP front of a site: one node:http request listener that sorts every request cheaply by
 * its target. Owned paths go to a Hono app; everything else has its scope carrier read and
 * removed, is offered to the interceptor (the collaboration engine), and otherwise passes
 * through to the local application without ever becoming a web Request (bench/front.ts measures
 * why).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Hono } from 'hono';
import type { Registry } from 'prom-client';
import { CheopsError, errorMessage, type Clock, type Logger } from '../../core/index.js';
import { parseScope } from '../../scope/index.js';
import { writeError } from './errors.js';
import { hasRequestBody } from './forward-headers.js';
import { NodeFrontCall, type Interceptor, type RequestScope } from './interceptor.js';
import { createFrontMetrics, type FrontMetrics, type RequestKind } from './metrics.js';
import { adminPrefix, createOwnedRoutes, type AdminRoutes, type ReadinessCheck } from './owned-routes.js';
import { createPassthrough, type PassthroughOptions } from './passthrough.js';
import { readScopeCarrier, scopeHeader, type ScopeSource } from './scope-carrier.js';
import { createUpgradeTunnel } from './upgrade.js';
import { sendWebResponse, toWebRequest } from './web-bridge.js';

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
  const tunnel = createUpgradeTunnel({ upstream, logger });
  const observe = observer(metrics, deps.clock);
  const { interceptor } = deps;

  const serveOwned = (req: IncomingMessage, res: ServerResponse, url: string): void => {
    Promise.resolve()
      .then(() => app.fetch(toWebRequest(req, url)))
      .then(
        (response) => sendWebResponse(res, response, logger),
        (error: unknown) => writeError(res, error),
      )
      .catch((error: unknown) => logger.error({ error: errorMessage(error) }, 'owned route answer failed'));
  };

  const intercept = (req: IncomingMessage, res: ServerResponse, url: string, scope: RequestScope | undefined, startMs: number): void => {
    const call = new NodeFrontCall(req, res, url, scope, logger);
    const settle = (response: Response | undefined): void => {
      if (response !== undefined) {
        observe(req, res, 'intercepted', startMs);
        void sendWebResponse(res, response, logger);
      } else if (call.bodyTaken && hasRequestBody(req)) {
        observe(req, res, 'intercepted', startMs);
        writeError(res, new Error('the interceptor read the request body and then declined the request'));
      } else if (!res.closed) {
        observe(req, res, 'passthrough', startMs);
        passthrough.forward(req, res, url);
      }
    };
    const fail = (error: unknown): void => {
      observe(req, res, 'intercepted', startMs);
      logger.error({ method: req.method, url, error: errorMessage(error) }, 'interceptor failed');
      writeError(res, error);
    };
    let result: ReturnType<Interceptor>;
    try {
      result = (interceptor as Interceptor)(call);
    } catch (error) {
      fail(error);
      return;
    }
    if (result === undefined || result instanceof Response) settle(result);
    else result.then(settle, fail);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const startMs = deps.clock.now();
    const target = req.url ?? '/';
    if (isOwnedPath(target)) {
      observe(req, res, 'owned', startMs);
      serveOwned(req, res, target);
      return;
    }
    const carried = readScopeCarrier(target, req.headers[scopeHeader]);
    if (!carried.ok) {
      observe(req, res, 'intercepted', startMs);
      logger.info({ method: req.method, url: target, error: carried.error.message }, 'bad scope carrier');
      writeError(res, carried.error);
      return;
    }
    const { url, source } = carried.value;
    let scope: RequestScope | undefined;
    if (source !== undefined) {
      const parsed = parseScope(source.text);
      if (!parsed.ok) {
        observe(req, res, 'intercepted', startMs);
        const error = scopeError(parsed.error, source);
        logger.info({ method: req.method, url: target, scope: source.text, error: error.message }, 'malformed scope');
        writeError(res, error);
        return;
      }
      scope = { text: source.text, scope: parsed.scope, carrier: source.carrier };
      logger.info({ method: req.method, url, scope: source.text, carrier: source.carrier }, 'scoped request');
    }
    if (interceptor !== undefined) {
      intercept(req, res, url, scope, startMs);
      return;
    }
    observe(req, res, 'passthrough', startMs);
    passthrough.forward(req, res, url);
  };

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const carried = readScopeCarrier(req.url ?? '/', req.headers[scopeHeader]);
    tunnel.open(req, socket, head, carried.ok ? carried.value.url : (req.url ?? '/'));
  };

  return { handle, handleUpgrade, app, close: () => passthrough.close() };
}

/** True for the paths the front answers itself. Plain string tests: this runs on every request. */
export function isOwnedPath(target: string): boolean {
  const question = target.indexOf('?');
  const path = question === -1 ? target : target.slice(0, question);
  return (
    path === '/livez' ||
    path === '/readyz' ||
    path === '/metrics' ||
    path === adminPrefix ||
    path.startsWith(`${adminPrefix}/`)
  );
}

/** Counts a request in flight now, and as finished when its response closes. */
function observer(metrics: FrontMetrics, clock: Pick<Clock, 'now'>) {
  return (req: IncomingMessage, res: ServerResponse, kind: RequestKind, startMs: number): void => {
    const done = (): void => {
      metrics.ended(kind);
      // 499 (nginx's "client closed request"): the client left before any answer was sent.
      const code = res.headersSent ? res.statusCode : 499;
      metrics.finished(kind, req.method ?? 'GET', code, (clock.now() - startMs) / 1000);
    };
    metrics.started(kind);
    // An interceptor may answer after the client left: then 'close' has fired already.
    if (res.closed) done();
    else res.once('close', done);
  };
}

/**
 * The parser's error, with the carrier and the text in the message so that the user sees what
 * was read, and the column guaranteed to be named (kubectl shows only the message).
 */
function scopeError(error: CheopsError, source: ScopeSource): CheopsError {
  const where = source.carrier === 'header' ? 'the X-Cheops-Scope header' : 'the /scope/ path prefix';
  const column = error.details['column'];
  let message = `invalid scope ${JSON.stringify(source.text)} in ${where}: ${error.message}`;
  if (typeof column === 'number' && !error.message.includes(`column ${column}`)) message += ` (at column ${column})`;
  return new CheopsError(error.code, message, {
    cause: error,
    details: { ...error.details, scope: source.text, carrier: source.carrier },
  });
}
