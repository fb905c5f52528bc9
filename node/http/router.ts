/**
 * The front's node:http request listener. It sorts every request cheaply by its target, with
 * plain string tests: owned paths go to the Hono app; everything else has its scope carrier read,
 * parsed and removed, is offered to the interceptor (the collaboration engine) when scoped or
 * wanted (`FrontDeps.wants`), and otherwise passes through to the local application without ever
 * becoming a web Request. On the raw path (fast/) only what that path does not forward itself
 * comes here.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Hono } from 'hono';
import { errorMessage, type Clock, type Logger } from '../../core/index.js';
import { failureLogLevel, writeError } from './errors.js';
import { hasRequestBody } from './forward-headers.js';
import { declinedAfterReading, isOffered, NodeFrontCall, type HeaderReader, type InterceptFilter, type Interceptor, type RequestScope } from './interceptor.js';
import type { FrontMetrics, RequestKind } from './metrics.js';
import { adminPrefix, dashboardPath } from './owned-routes.js';
import type { Passthrough } from './passthrough.js';
import { pathOf, resolveScope, type ScopeFreeFilter } from './request-scope.js';
import { scopeHeader } from './scope-carrier.js';
import { sendWebResponse, toWebRequest } from './web-bridge.js';

/** What the router sends requests to. */
export interface RouterParts {
  readonly logger: Logger;
  readonly app: Hono;
  readonly passthrough: Passthrough;
  readonly metrics: FrontMetrics;
  readonly clock: Pick<Clock, 'now'>;
  readonly interceptor?: Interceptor;
  readonly wants?: InterceptFilter;
  readonly scopeFree?: ScopeFreeFilter;
}

/** A request's target with the carrier removed, and its parsed scope. */
interface Routed {
  readonly url: string;
  readonly scope: RequestScope | undefined;
}

/** True for the paths the front answers itself. */
export function isOwnedPath(target: string): boolean {
  const question = target.indexOf('?');
  const path = question === -1 ? target : target.slice(0, question);
  return (
    path === '/livez' ||
    path === '/readyz' ||
    path === '/metrics' ||
    path === adminPrefix ||
    path === dashboardPath ||
    path.startsWith(`${adminPrefix}/`)
  );
}

/** The front's node:http request listener and the steps behind it. */
export class RequestRouter {
  constructor(private readonly parts: RouterParts) {}

  /** The request listener (an arrow, so it can be handed to `createServer` as is). */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const startMs = this.parts.clock.now();
    const target = req.url ?? '/';
    if (isOwnedPath(target)) {
      this.observe(req, res, 'owned', startMs);
      this.serveOwned(req, res, target);
      return;
    }
    const routed = this.readScope(req, res, target, startMs);
    if (routed === undefined) return;
    const { interceptor, wants } = this.parts;
    if (interceptor !== undefined) {
      let offered: boolean;
      try {
        offered = isOffered(routed.scope, wants, req.method ?? 'GET', pathOf(routed.url), nodeHeaders(req.headers));
      } catch (error) {
        this.failIntercept(req, res, routed, startMs, error);
        return;
      }
      if (offered) {
        this.intercept(interceptor, req, res, routed, startMs);
        return;
      }
    }
    this.observe(req, res, 'passthrough', startMs);
    this.parts.passthrough.forward(req, res, routed.url);
  };

  private serveOwned(req: IncomingMessage, res: ServerResponse, url: string): void {
    const { app, logger } = this.parts;
    Promise.resolve()
      .then(() => app.fetch(toWebRequest(req, url)))
      .then(
        (response) => sendWebResponse(res, response, logger),
        (error: unknown) => writeError(res, error),
      )
      .catch((error: unknown) => logger.error({ error: errorMessage(error) }, 'owned route answer failed'));
  }

  /** Finds, removes and parses the scope; answers 400 itself (and returns undefined) when it is bad. */
  private readScope(req: IncomingMessage, res: ServerResponse, target: string, startMs: number): Routed | undefined {
    const outcome = resolveScope(req.method ?? 'GET', target, req.headers[scopeHeader], this.parts.logger, this.parts.scopeFree);
    if (outcome.ok) return outcome;
    this.observe(req, res, 'intercepted', startMs);
    writeError(res, outcome.error);
    return undefined;
  }

  private intercept(interceptor: Interceptor, req: IncomingMessage, res: ServerResponse, routed: Routed, startMs: number): void {
    const { logger, passthrough } = this.parts;
    const call = new NodeFrontCall(req, res, routed.url, routed.scope, logger);
    const settle = (response: Response | undefined): void => {
      if (response !== undefined) {
        this.observe(req, res, 'intercepted', startMs);
        void sendWebResponse(res, response, logger);
      } else if (call.bodyTaken && hasRequestBody(req)) {
        this.observe(req, res, 'intercepted', startMs);
        writeError(res, declinedAfterReading());
      } else if (!res.closed) {
        this.observe(req, res, 'passthrough', startMs);
        passthrough.forward(req, res, routed.url);
      }
    };
    const fail = (error: unknown): void => this.failIntercept(req, res, routed, startMs, error);
    let result: ReturnType<Interceptor>;
    try {
      result = interceptor(call);
    } catch (error) {
      fail(error);
      return;
    }
    // A synchronous answer (the usual `undefined`) costs no promise and no extra tick.
    if (result === undefined || result instanceof Response) settle(result);
    else result.then(settle, fail);
  }

  private failIntercept(req: IncomingMessage, res: ServerResponse, routed: Routed, startMs: number, error: unknown): void {
    this.observe(req, res, 'intercepted', startMs);
    this.parts.logger[failureLogLevel(error)]({ method: req.method, url: routed.url, error: errorMessage(error) }, 'interceptor failed');
    writeError(res, error);
  }

  /** Counts a request in flight now, and as finished when its response closes. */
  private observe(req: IncomingMessage, res: ServerResponse, kind: RequestKind, startMs: number): void {
    const { metrics, clock } = this.parts;
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
  }
}

/** node's parsed headers as a HeaderReader (names are lower-case already). */
function nodeHeaders(headers: IncomingHttpHeaders): HeaderReader {
  return {
    get(name) {
      const value = headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}
