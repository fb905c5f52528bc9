/**
 * The hook by which the collaboration engine takes requests away from the passthrough. The front
 * consults it for every request it does not own, scoped or not (an update of a replicated
 * resource reaches every replica even without a scope, DESIGN.md §7), after the scope carrier has
 * been removed and the scope parsed. Returning `undefined` lets the request pass through.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../core/index.js';
import type { Scope } from '../../scope/index.js';
import type { ScopeCarrierKind } from './scope-carrier.js';
import { readRequestBody, toWebRequest } from './web-bridge.js';

/** A scope read from a request and parsed. */
export interface RequestScope {
  /** The scope as the client wrote it. */
  readonly text: string;
  readonly scope: Scope;
  readonly carrier: ScopeCarrierKind;
}

/** One intercepted request, as the engine sees it. */
export interface FrontCall {
  readonly method: string;
  /** Path and query as they would be forwarded: the `/scope/…/` prefix removed (`/api/v1/pods?watch=true`). */
  readonly url: string;
  /** The path part of `url`, still percent-encoded as sent (`/api/v1/namespaces/default/pods`). */
  readonly path: string;
  /** The query part of `url` without `?` (`watch=true`), or `''`. */
  readonly query: string;
  /** Request headers as node parsed them (lower-case names), `X-Cheops-Scope` removed. */
  readonly headers: IncomingHttpHeaders;
  /** The request's scope, or undefined when it has none. */
  readonly scope: RequestScope | undefined;
  /** Aborts when the client goes away before the answer is complete. */
  readonly signal: AbortSignal;
  /** A logger bound to this request. */
  readonly logger: Logger;
  /**
   * The request as a web Request for `url` (body streamed, readable once). Call it only when
   * answering: once the body has been read the request cannot pass through any more, and the
   * front answers 500 if the interceptor then returns `undefined`.
   */
  request(): Request;
  /**
   * The whole request body (readable once, like `request()`), or undefined when it exceeds
   * `maxBytes`. Cheaper than reading `request()`'s stream when the body is wanted whole.
   */
  readBody(maxBytes: number): Promise<Uint8Array | undefined>;
}

/**
 * Read access to a request's headers by name, case-insensitively, repeated headers joined with
 * `, `, `null` when absent. A web `Headers` is one.
 */
export interface HeaderReader {
  get(name: string): string | null;
}

/**
 * `FrontDeps.wants`: whether the engine wants to be offered an *unscoped* request (scoped ones are
 * always offered). Called on every unscoped request the front does not own, before anything else
 * is built for it, so it must be cheap and synchronous: a method and path test, a header read.
 * `path` is the target's path, percent-encoded as sent, without the query. A request it declines
 * never reaches the interceptor and is forwarded by the raw path, which is what makes plain
 * passthrough cheap (bench/front.ts). Without it, the engine is offered every request.
 */
export type InterceptFilter = (method: string, path: string, headers: HeaderReader) => boolean;

/**
 * Takes a request (returns the answer) or leaves it to the passthrough (returns `undefined`).
 * A synchronous `undefined` keeps the passthrough free of a promise per request. A throw or a
 * rejection is answered through the central error mapper (node/http/errors.ts).
 */
export type Interceptor = (call: FrontCall) => Response | undefined | Promise<Response | undefined>;

/**
 * Whether the front offers a request to the interceptor: every scoped one; an unscoped one when
 * `wants` accepts it, or when there is no filter. The same rule at every entry (router.ts,
 * fetch-entry.ts, fast/intercepted-exchange.ts); `wants` may throw, and each entry answers that.
 */
export function isOffered(scope: RequestScope | undefined, wants: InterceptFilter | undefined, method: string, path: string, headers: HeaderReader): boolean {
  return scope !== undefined || wants === undefined || wants(method, path, headers);
}

/** What the front answers (500) when the interceptor read a request's body and then declined it: it cannot pass through any more. */
export function declinedAfterReading(): Error {
  return new Error('the interceptor read the request body and then declined the request');
}

/** A FrontCall over a node request; builds the signal and the web Request only if asked. */
export class NodeFrontCall implements FrontCall {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  /** True once `request()` handed the body out. */
  bodyTaken = false;
  private controller: AbortController | undefined;
  private headersWithoutScope: IncomingHttpHeaders | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    readonly url: string,
    readonly scope: RequestScope | undefined,
    readonly logger: Logger,
  ) {
    this.method = req.method ?? 'GET';
    const question = url.indexOf('?');
    this.path = question === -1 ? url : url.slice(0, question);
    this.query = question === -1 ? '' : url.slice(question + 1);
  }

  get headers(): IncomingHttpHeaders {
    if (this.headersWithoutScope === undefined) {
      const { 'x-cheops-scope': _scope, ...rest } = this.req.headers;
      this.headersWithoutScope = rest;
    }
    return this.headersWithoutScope;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const controller = new AbortController();
      this.controller = controller;
      const onClose = (): void => {
        if (!this.res.writableFinished) controller.abort(clientGone());
      };
      if (this.res.closed) onClose();
      else this.res.once('close', onClose);
    }
    return this.controller.signal;
  }

  request(): Request {
    this.bodyTaken = true;
    return toWebRequest(this.req, this.url, this.signal);
  }

  readBody(maxBytes: number): Promise<Uint8Array | undefined> {
    this.bodyTaken = true;
    return readRequestBody(this.req, maxBytes);
  }
}

function clientGone(): Error {
  return new DOMException('the client closed the connection', 'AbortError');
}
