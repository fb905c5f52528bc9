/**
 * Test support for the front: a real upstream node:http server on an ephemeral port that records
 * what reaches it, and a front served on another one. Used by node/http/*.test.ts only.
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { MemoryLogger } from '../../core/index.js';
import type { Server as NetServer } from 'node:net';
import { parseResponseHead, responseFramer } from './fast/response-head.js';
import { createFront, createFrontServer, type Front, type FrontDeps, type FrontOptions, type FrontServer } from './front.js';

/** What the upstream saw of one request (the body is read by the handler, if it wants it). */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
}

/** A real application stand-in: swap `handler` per test. */
export interface TestUpstream {
  readonly url: string;
  readonly server: Server;
  readonly seen: SeenRequest[];
  handler: RequestListener;
  close(): Promise<void>;
}

/** Reads a whole request or response body. */
export async function readBody(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function listen(server: NetServer): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function closeServer(server: Server | FrontServer): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Starts an upstream that answers `{ method, url, headers }` as JSON unless told otherwise. */
export async function startUpstream(): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const upstream: { handler: RequestListener } = {
    handler: (req, res) => {
      void readBody(req).then(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
      });
    },
  };
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders });
    upstream.handler(req, res);
  });
  const url = await listen(server);
  return Object.assign(upstream, { url, server, seen, close: () => closeServer(server) });
}

/** A front on an ephemeral port, with a memory logger and its own registry. */
export interface TestFront {
  readonly url: string;
  readonly port: number;
  readonly front: Front;
  readonly server: Server | FrontServer;
  readonly logger: MemoryLogger;
  readonly registry: Registry;
  close(): Promise<void>;
}

/**
 * How the front is served: `raw` by its raw path (createFrontServer, what production uses), `node`
 * by node:http with `front.handle` (the path the raw one hands everything but passthrough to).
 */
export type ServerKind = 'raw' | 'node';

export const serverKinds: readonly ServerKind[] = ['raw', 'node'];

/** Starts a front before `upstreamUrl`; `extra` adds or replaces deps. */
export async function startFront(
  upstreamUrl: string | undefined,
  extra: Partial<FrontDeps> = {},
  how: { readonly server?: ServerKind; readonly options?: FrontOptions } = {},
): Promise<TestFront> {
  const logger = new MemoryLogger();
  const registry = new Registry();
  let tick = 0;
  // A clock that moves 1 ms per reading: durations are positive and the test stays deterministic.
  const clock = { now: () => ++tick };
  const deps = { ...(upstreamUrl === undefined ? {} : { upstream: upstreamUrl }), logger, registry, clock, ...extra };
  const front = createFront(deps, how.options);
  const server = how.server === 'node' ? nodeServer(front) : createFrontServer(front);
  const url = await listen(server);
  const port = Number(new URL(url).port);
  return {
    url,
    port,
    front,
    server,
    logger,
    registry,
    close: async () => {
      await closeServer(server);
      await front.close();
    },
  };
}

/** The upstream and the front of `frontOverEcho`, readable once its `beforeAll` has run. */
export interface FrontOverEcho {
  readonly upstream: TestUpstream;
  readonly front: TestFront;
  /** The upstream's own handler, which answers what it got as JSON. */
  readonly echo: RequestListener;
}

/**
 * For a test file or describe block: an echoing upstream and a front before it, started before
 * the tests and closed after them. After each test the upstream forgets what it saw and echoes
 * again (a test may replace its handler), and `afterEachTest` clears the test's own records.
 */
export function frontOverEcho(
  extra: Partial<FrontDeps> = {},
  how: { readonly server?: ServerKind; readonly options?: FrontOptions } = {},
  afterEachTest: () => void = () => undefined,
): FrontOverEcho {
  let started: { upstream: TestUpstream; front: TestFront; echo: RequestListener } | undefined;
  const current = (): NonNullable<typeof started> => {
    if (started === undefined) throw new Error('frontOverEcho: read before its beforeAll ran');
    return started;
  };
  beforeAll(async () => {
    const upstream = await startUpstream();
    started = { upstream, echo: upstream.handler, front: await startFront(upstream.url, extra, how) };
  });
  afterAll(async () => {
    await started?.front.close();
    await started?.upstream.close();
  });
  afterEach(() => {
    if (started !== undefined) {
      started.upstream.seen.length = 0;
      started.upstream.handler = started.echo;
    }
    afterEachTest();
  });
  return {
    get upstream() {
      return current().upstream;
    },
    get front() {
      return current().front;
    },
    get echo() {
      return current().echo;
    },
  };
}

function nodeServer(front: Front): Server {
  const server = createServer(front.handle);
  server.on('upgrade', front.handleUpgrade);
  return server;
}

/** A response read whole: status, headers as node parsed them, raw headers, body bytes. */
export interface FullResponse {
  readonly status: number;
  readonly statusMessage: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

/** Sends one request with node:http (exact path, raw headers, optional body) and reads the answer. */
export function send(
  base: string,
  options: { method?: string; path: string; headers?: Record<string, string | string[]>; body?: Buffer | string },
): Promise<FullResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const headers = { ...options.headers };
    // Node's client frames a DELETE or OPTIONS body with nothing unless told its length.
    if (options.body !== undefined) headers['content-length'] ??= String(Buffer.byteLength(options.body));
    const req = request(
      { host: url.hostname, port: url.port, method: options.method ?? 'GET', path: options.path, headers },
      (res) => {
        readBody(res).then(
          (body) =>
            resolve({
              status: res.statusCode ?? 0,
              statusMessage: res.statusMessage ?? '',
              headers: res.headers,
              rawHeaders: res.rawHeaders,
              body,
            }),
          reject,
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** One response read off a raw connection. */
export interface RawResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  /** The head as received, without the final empty line. */
  readonly head: string;
  readonly body: Buffer;
}

/**
 * A client that writes exact bytes on one TCP connection and reads the responses in order, for
 * what node's HTTP client will not send (pipelining, smuggling attempts, malformed heads).
 */
export class RawClient {
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  private ended = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.ended = true;
        this.wake();
        resolve();
      });
    });
  }

  static async connect(base: string): Promise<RawClient> {
    const url = new URL(base);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  write(text: string | Buffer): void {
    this.socket.write(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  }

  /** The next response; `method` is the request's (a HEAD answer has no body). Rejects if the connection closes first. */
  async response(method = 'GET'): Promise<RawResponse> {
    for (;;) {
      const parsed = this.tryParse(method);
      if (parsed !== undefined) return parsed;
      if (this.ended) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer.toString('latin1').slice(0, 200))}`);
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  /** Every byte received until the connection closes. */
  async rest(): Promise<Buffer> {
    await this.closed;
    return this.buffer;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  private tryParse(method: string): RawResponse | undefined {
    const parsed = parseResponseHead(this.buffer, 0, 1 << 20, method);
    if (parsed.kind === 'incomplete') return undefined;
    if (parsed.kind === 'error') throw new Error(`bad response: ${parsed.message}`);
    const framer = responseFramer(parsed);
    const end = framer.advance(this.buffer, parsed.length);
    if (!framer.done && !(parsed.bodyKind === 'close' && this.ended)) return undefined;
    const headers: Record<string, string> = {};
    const lines = parsed.text.split('\r\n').slice(1, -1);
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    let body = this.buffer.subarray(parsed.length, end);
    if (parsed.bodyKind === 'chunked') body = dechunk(body);
    this.buffer = this.buffer.subarray(end);
    return { status: parsed.status, headers, head: parsed.text.slice(0, -2), body: Buffer.from(body) };
  }
}

/** The data of a chunked body (extensions and trailers dropped). */
function dechunk(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    const size = Number.parseInt(bytes.toString('latin1', at, lineEnd).split(';')[0] ?? '0', 16);
    if (size === 0) return Buffer.concat(parts);
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
