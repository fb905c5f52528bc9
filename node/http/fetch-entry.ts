/**
 * `Front.fetch`: the front as a function from web Request to Response, for the simulator and for
 * tests that drive the real front in process, without sockets. It takes the same steps as the
 * node:http router (router.ts), in the same order and with the same answers: owned routes, scope
 * carriers and their 400s, the interceptor (offered scoped requests and those `wants` accepts),
 * then the passthrough (`app.fetch` for an in-process application, the HTTP pool otherwise).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { errorMessage, type Logger } from '../../core/index.js';
import { errorResponse, failureLogLevel } from './errors.js';
import { declinedAfterReading, isOffered, type FrontCall, type RequestScope } from './interceptor.js';
import type { RequestKind } from './metrics.js';
import { pathOf, resolveScope } from './request-scope.js';
import { isOwnedPath, type RouterParts } from './router.js';
import { scopeHeader } from './scope-carrier.js';

/** What `Front.fetch` sends requests to: the same parts as the node:http router's. */
export type FetchParts = RouterParts;

/** Builds `Front.fetch`. Its promise rejects only when the request's signal aborts. */
export function createFetchEntry(parts: FetchParts): (request: Request) => Promise<Response> {
  return async (request) => {
    const startMs = parts.clock.now();
    const count = (kind: RequestKind, response: Response): Response => {
      // In process there is no socket to watch: a request counts as done when its answer is handed over.
      parts.metrics.started(kind);
      parts.metrics.ended(kind);
      parts.metrics.finished(kind, request.method, response.status, (parts.clock.now() - startMs) / 1000);
      return response;
    };
    const { pathname, search } = new URL(request.url);
    const target = pathname + search;
    if (isOwnedPath(target)) return count('owned', await owned(parts, request));
    const scoped = resolveScope(request.method, target, request.headers.get(scopeHeader) ?? undefined, parts.logger, parts.scopeFree);
    if (!scoped.ok) return count('intercepted', errorResponse(scoped.error));
    const { interceptor, wants } = parts;
    if (interceptor !== undefined) {
      const call = new WebFrontCall(request, scoped.url, scoped.scope, parts.logger);
      let answer: Response | undefined;
      try {
        const offered = isOffered(scoped.scope, wants, request.method, call.path, request.headers);
        answer = offered ? await interceptor(call) : undefined;
      } catch (error) {
        if (request.signal.aborted) throw error;
        parts.logger[failureLogLevel(error)]({ method: request.method, url: scoped.url, error: errorMessage(error) }, 'interceptor failed');
        return count('intercepted', errorResponse(error));
      }
      if (answer !== undefined) return count('intercepted', answer);
      if (call.bodyTaken && request.body !== null) {
        return count('intercepted', errorResponse(declinedAfterReading()));
      }
    }
    return count('passthrough', await parts.passthrough.fetch(request, scoped.url));
  };
}

async function owned(parts: FetchParts, request: Request): Promise<Response> {
  try {
    return await parts.app.fetch(request);
  } catch (error) {
    parts.logger.error({ error: errorMessage(error) }, 'owned route answer failed');
    return errorResponse(error);
  }
}

/** A FrontCall over a web Request. */
export class WebFrontCall implements FrontCall {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly signal: AbortSignal;
  /** True once `request()` handed the body out. */
  bodyTaken = false;
  private headersWithoutScope: IncomingHttpHeaders | undefined;

  constructor(
    private readonly original: Request,
    readonly url: string,
    readonly scope: RequestScope | undefined,
    readonly logger: Logger,
  ) {
    this.method = original.method;
    this.path = pathOf(url);
    this.query = url.length === this.path.length ? '' : url.slice(this.path.length + 1);
    this.signal = original.signal;
  }

  /** Lower-case names, as node would have parsed them; `set-cookie` as a list, others joined. */
  get headers(): IncomingHttpHeaders {
    if (this.headersWithoutScope === undefined) {
      const out: IncomingHttpHeaders = {};
      this.original.headers.forEach((value, name) => {
        if (name === scopeHeader) return;
        if (name === 'set-cookie') (out['set-cookie'] ??= []).push(value);
        else out[name] = value;
      });
      this.headersWithoutScope = out;
    }
    return this.headersWithoutScope;
  }

  request(): Request {
    this.bodyTaken = true;
    const { protocol, host } = new URL(this.original.url);
    const headers = new Headers(this.original.headers);
    headers.delete(scopeHeader);
    const init: RequestInit & { duplex?: 'half' } = { method: this.method, headers, signal: this.signal };
    if (this.original.body !== null && this.method !== 'GET' && this.method !== 'HEAD') {
      init.body = this.original.body;
      init.duplex = 'half';
    }
    return new Request(`${protocol}//${host}${this.url}`, init);
  }

  async readBody(maxBytes: number): Promise<Uint8Array | undefined> {
    this.bodyTaken = true;
    return readWebBody(this.original, maxBytes);
  }
}

/** The whole body of `request`, or undefined once it exceeds `maxBytes` (the rest is not read). */
export async function readWebBody(request: Request, maxBytes: number): Promise<Uint8Array | undefined> {
  if (request.body === null) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  // undici types a Request body as ReadableStream<any>; bodies are bytes.
  const reader = (request.body as ReadableStream<Uint8Array>).getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.length;
    if (size > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(read.value);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}
