/**
 * Passthrough on the node:http side: a request Cheops does not own goes to the local application
 * as it came, and the answer comes back as it was sent. Node's request is handed straight to
 * undici's `dispatch` (no web Request/Response in between: see bench/front.ts for what that
 * saves); bytes are never decoded, so gzip'd, binary and chunked bodies pass unchanged, and each
 * chunk of a watch is written to the client as soon as it arrives. Plain passthrough served by
 * `createFrontServer` does not come here: the raw path (fast/) forwards it without node:http;
 * this handles what the interceptor was offered and declined, and fronts served by node:http.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { Pool, type Dispatcher } from 'undici';
import { CheopsError, ErrorCode, errorMessage, type Logger } from '../../core/index.js';
import { badRequest, errorResponse, writeError } from './errors.js';
import { downstreamResponseHeaders, hasRequestBody, upstreamRequestHeaders, webUpstreamHeaders } from './forward-headers.js';
import { upstreamErrorReason, type FrontMetrics } from './metrics.js';
import { requestBodyStream } from './web-bridge.js';

/** Tuning of the connection pool to the local application. */
export interface PassthroughOptions {
  /**
   * Most connections to the application; `null` (the default) means no limit, because every open
   * watch holds one connection for its whole life and a limit would starve the other requests.
   */
  readonly connections?: number | null;
  /** How long an idle keep-alive connection is kept; 4 s, under node's default server timeout of 5 s. */
  readonly keepAliveTimeoutMs?: number;
  /** Longest wait for the response headers; 0 (the default) leaves it to the application. */
  readonly headersTimeoutMs?: number;
  /** Longest silence inside a response body; 0 (the default), since a quiet watch is normal. */
  readonly bodyTimeoutMs?: number;
  /** TLS settings for an `https:` application (a real cluster's CA, a client certificate). */
  readonly tls?: UpstreamTlsOptions;
}

/** The TLS settings the front may need to reach the application; node's own meaning for each. */
export type UpstreamTlsOptions = Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername'>;

/** What the passthrough needs. */
export interface PassthroughDeps {
  /** Base URL of the local application; a path in it is prefixed to every forwarded path. */
  readonly upstream: URL;
  readonly logger: Logger;
  readonly metrics: FrontMetrics;
}

/** Forwards requests to the local application over one keep-alive pool. */
export interface Passthrough {
  /** Forwards `req` with request target `url` (path and query, scope prefix removed) and answers on `res`. */
  forward(req: IncomingMessage, res: ServerResponse, url: string): void;
  /**
   * Forwards a web request (`Front.fetch`) with target `url`; resolves with the application's
   * answer, or a Status answer when it cannot be reached; rejects only when `request.signal` aborts.
   */
  fetch(request: Request, url: string): Promise<Response>;
  /**
   * Closes every connection to the application. Requests still in flight (open watches) are
   * aborted and their answers cut, so that stopping a node never waits on a watch.
   */
  close(): Promise<void>;
}

/** Creates the pool and the forwarding function. */
export function createPassthrough(deps: PassthroughDeps, options: PassthroughOptions = {}): Passthrough {
  const pool = new Pool(deps.upstream.origin, {
    connections: options.connections ?? null,
    pipelining: 1,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
    headersTimeout: options.headersTimeoutMs ?? 0,
    bodyTimeout: options.bodyTimeoutMs ?? 0,
    ...(options.tls === undefined ? {} : { connect: options.tls }),
  });
  const prefix = deps.upstream.pathname.replace(/\/+$/, '');
  return {
    forward(req, res, url) {
      if (!url.startsWith('/')) {
        // An absolute-form target (`GET http://x/ HTTP/1.1`) or `OPTIONS *`: not for an API server.
        writeError(res, badRequest(`unsupported request target ${JSON.stringify(url.slice(0, 100))}`));
        return;
      }
      const method: Dispatcher.HttpMethod = req.method ?? 'GET';
      const options: Dispatcher.DispatchOptions = {
        path: prefix + url,
        method,
        headers: upstreamRequestHeaders(req),
        body: hasRequestBody(req) ? req : null,
      };
      pool.dispatch(options, new ForwardHandler(req, res, deps));
    },
    fetch: (request, url) => fetchThrough(pool, prefix, request, url, deps),
    close: () => pool.destroy(),
  };
}

/** Statuses whose response has no body, whatever its headers say. */
const nullBodyStatus = new Set([101, 103, 204, 205, 304]);

async function fetchThrough(pool: Pool, prefix: string, request: Request, url: string, deps: PassthroughDeps): Promise<Response> {
  if (!url.startsWith('/')) return errorResponse(badRequest(`unsupported request target ${JSON.stringify(url.slice(0, 100))}`));
  const headers: string[] = [];
  webUpstreamHeaders(request).forEach((value, name) => void headers.push(name, value));
  const hasBody = request.body !== null && request.method !== 'GET' && request.method !== 'HEAD';
  try {
    const answer = await pool.request({
      path: prefix + url,
      method: request.method,
      headers,
      body: hasBody ? Readable.from(request.body, { objectMode: false }) : null,
      signal: request.signal,
    });
    const out = new Headers();
    for (const [name, value] of Object.entries(downstreamResponseHeaders(answer.headers))) {
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) out.append(name, one);
    }
    const empty = request.method === 'HEAD' || nullBodyStatus.has(answer.statusCode);
    if (empty) answer.body.resume();
    return new Response(empty ? null : requestBodyStream(answer.body), { status: answer.statusCode, headers: out });
  } catch (error) {
    if (request.signal.aborted) throw error;
    deps.metrics.upstreamError(upstreamErrorReason(error));
    deps.logger.warn({ method: request.method, url, upstream: deps.upstream.origin, error: errorMessage(error) }, 'local application unreachable');
    return errorResponse(
      new CheopsError(ErrorCode.AppUnreachable, `the local application at ${deps.upstream.origin} is unreachable: ${errorMessage(error)}`, {
        cause: error,
        details: { reason: upstreamErrorReason(error) },
      }),
    );
  }
}

/**
 * Streams one response from undici to node, both ways of backpressure included: when the client
 * reads slowly, `res.write` returns false and the upstream socket is paused until `drain`.
 */
class ForwardHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private clientGone = false;
  private wroteBody = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly deps: PassthroughDeps,
  ) {
    res.once('close', this.onClientClose);
  }

  /** The client left before the end of the answer: stop the upstream request. */
  private readonly onClientClose = (): void => {
    if (this.res.writableFinished) return;
    this.clientGone = true;
    this.controller?.abort(new Error('the client closed the connection'));
  };

  private readonly onDrain = (): void => {
    this.controller?.resume();
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new Error('the client closed the connection'));
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    if (statusCode < 200) return; // 1xx interim answers stay between the front and the app
    const out = downstreamResponseHeaders(headers);
    if (statusMessage === undefined || statusMessage === '') this.res.writeHead(statusCode, out);
    else this.res.writeHead(statusCode, statusMessage, out);
    // Node sends headers with the first body write. A watch may wait minutes for its first event
    // while the client waits for the headers: send them by themselves once undici has parsed
    // what it has (the microtask runs after the parse), unless body bytes already carried them.
    queueMicrotask(this.flushHeadersIfIdle);
  }

  private readonly flushHeadersIfIdle = (): void => {
    if (!this.wroteBody && !this.res.destroyed && !this.res.writableEnded) this.res.flushHeaders();
  };

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.wroteBody = true;
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', this.onDrain);
    }
  }

  onResponseEnd(): void {
    this.res.off('close', this.onClientClose);
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.res.off('close', this.onClientClose);
    if (this.clientGone || this.res.destroyed) {
      this.deps.logger.debug({ method: this.req.method, url: this.req.url }, 'client left; upstream request aborted');
      return;
    }
    this.deps.metrics.upstreamError(upstreamErrorReason(error));
    this.deps.logger.warn(
      { method: this.req.method, url: this.req.url, upstream: this.deps.upstream.origin, error: errorMessage(error) },
      this.res.headersSent ? 'local application failed mid-response; cutting the answer' : 'local application unreachable',
    );
    writeError(
      this.res,
      new CheopsError(
        ErrorCode.AppUnreachable,
        `the local application at ${this.deps.upstream.origin} is unreachable: ${errorMessage(error)}`,
        { cause: error, details: { reason: upstreamErrorReason(error) } },
      ),
    );
  }
}
