/**
 * The local-application port: how the node itself talks to the application of its site (the
 * replication reconciler applying a desired state, the write path reading back an object). It is
 * fetch-shaped so that the simulator can plug the stand-in in-process, and the production
 * implementation talks HTTP over one keep-alive pool. Over sockets the front's passthrough does
 * not use it (it relays bytes to the application itself, node/http/fast/); the front's in-process
 * `fetch` entry does, when the application has no URL.
 */
import { STATUS_CODES } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { Agent, type Dispatcher } from 'undici';
import { relayFetch } from './relay-fetch.js';

/** A request the node sends whole, and whose answer it reads whole. */
export interface LocalExchange {
  readonly method: string;
  /** Path and query, as sent to the application. */
  readonly path: string;
  readonly headers: Headers;
  readonly body?: Uint8Array | undefined;
}

/** An application's answer, read whole. */
export interface LocalAnswer {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

export interface LocalApp {
  /** Base URL of the application's HTTP API, when it has one (production); absent in-process. */
  readonly url: string | undefined;
  /**
   * Sends one request to the application; rejects only when it cannot be reached. `signal`: the
   * one `request` was made with, when the caller has it. Over HTTP it is the one followed: a
   * Request holds its own signal only weakly (undici #3644), so a watch whose client left could
   * stay open upstream.
   */
  fetch(request: Request, signal?: AbortSignal): Promise<Response>;
  /**
   * `fetch` for a request and an answer read whole, which is all the node's own calls are. Over
   * HTTP it skips web streams and chunked bodies (~1 ms of CPU on a small write). A wrapper that
   * changes `fetch` must change this too: build it with `wrapLocalApp`.
   */
  exchange(call: LocalExchange): Promise<LocalAnswer>;
  close(): Promise<void>;
}

/** Request headers undici's `request` sets itself or refuses, and `accept-encoding`: the answer must be readable as it comes. */
const headersNotSent = new Set(['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect', 'accept-encoding']);

export interface HttpLocalAppOptions {
  /**
   * How long one of the node's own calls (`exchange`) waits for the answer's head, then for each
   * chunk of its body, before it fails as unreachable. A pass or a write waiting on a stuck
   * application would otherwise hold its slot or its key's lock for undici's default, 5 minutes.
   * `fetch` (reads relayed whole, watches included) is not bounded: a quiet watch is not stuck.
   */
  readonly callTimeoutMs?: number;
}

/** What the Kubernetes API server gives a request (`--request-timeout`) before it answers 504. */
export const defaultCallTimeoutMs = 60_000;

/** The application at `baseUrl`, over a keep-alive connection pool. */
export function httpLocalApp(baseUrl: string, options: HttpLocalAppOptions = {}): LocalApp {
  const timeoutMs = options.callTimeoutMs ?? defaultCallTimeoutMs;
  const base = new URL(baseUrl);
  const prefix = base.pathname.replace(/\/$/, '');
  const agent = new Agent({ keepAliveTimeout: 4_000, connections: 64 });
  return {
    url: base.href.replace(/\/$/, ''),
    fetch(request: Request, signal?: AbortSignal): Promise<Response> {
      const incoming = new URL(request.url);
      return relayFetch(new URL(`${prefix}${incoming.pathname}${incoming.search}`, base.origin), request, agent, signal);
    },
    exchange: (call) => exchangeOver(agent, base.origin, `${prefix}${call.path}`, call, timeoutMs),
    close: () => agent.close(),
  };
}

async function exchangeOver(dispatcher: Dispatcher, origin: string, path: string, call: LocalExchange, timeoutMs: number): Promise<LocalAnswer> {
  const headers: string[] = [];
  call.headers.forEach((value, name) => {
    if (!headersNotSent.has(name)) headers.push(name, value);
  });
  const body = bodyOf(call);
  const answer = await dispatcher.request({
    origin, path, method: call.method, headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, ...(body === undefined ? {} : { body }),
  });
  const received = new Uint8Array(await answer.body.arrayBuffer());
  const responseHeaders = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (Array.isArray(value)) for (const item of value) responseHeaders.append(name, item);
    else if (value !== undefined) responseHeaders.append(name, value);
  }
  return { status: answer.statusCode, statusText: STATUS_CODES[answer.statusCode] ?? '', headers: responseHeaders, body: decoded(received, responseHeaders) };
}

/** The body a call sends: none for GET and HEAD. */
function bodyOf(call: LocalExchange): Uint8Array | undefined {
  return call.method === 'GET' || call.method === 'HEAD' ? undefined : call.body;
}

/** The body as the application meant it: an application that compresses although not asked to is decoded here. */
function decoded(body: Uint8Array, headers: Headers): Uint8Array {
  const encoding = (headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (body.length === 0 || encoding === 'identity') return body;
  const decode = encoding === 'gzip' || encoding === 'x-gzip' ? gunzipSync : encoding === 'deflate' ? inflateSync : encoding === 'br' ? brotliDecompressSync : undefined;
  if (decode === undefined) return body;
  headers.delete('content-encoding');
  return new Uint8Array(decode(body));
}

/** A web Response read whole. */
export async function readAnswer(response: Response): Promise<LocalAnswer> {
  const body = new Uint8Array(await response.arrayBuffer());
  return { status: response.status, statusText: response.statusText, headers: response.headers, body };
}

/** `exchange` over a `fetch`: the call as a web Request, the answer read whole. */
export function exchangeVia(fetch: (request: Request) => Promise<Response>): (call: LocalExchange) => Promise<LocalAnswer> {
  return async (call) => {
    const request = new Request(`http://local-application${call.path}`, { method: call.method, headers: call.headers, body: bodyOf(call) ?? null });
    return readAnswer(await fetch(request));
  };
}

/** An in-process application (the stand-in in the simulator and in tests). */
export function inProcessLocalApp(handler: (request: Request) => Promise<Response>): LocalApp {
  return { url: undefined, fetch: handler, exchange: exchangeVia(handler), close: () => Promise.resolve() };
}

/** `app` seen through `fetch` (which may call `app.fetch`): both of its entries go through it. */
export function wrapLocalApp(app: LocalApp, fetch: (request: Request) => Promise<Response>): LocalApp {
  return { url: app.url, fetch, exchange: exchangeVia(fetch), close: () => app.close() };
}
