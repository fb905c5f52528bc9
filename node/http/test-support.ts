/**
 * Test support for the front: a real upstream node:http server on an ephemeral port that records
 * what reaches it, and a front served on another one. Used by node/http/*.test.ts only.
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { MemoryLogger } from '../../core/index.js';
import { createFront, createFrontServer, type Front, type FrontDeps } from './front.js';

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

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function closeServer(server: Server): Promise<void> {
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
  readonly server: Server;
  readonly logger: MemoryLogger;
  readonly registry: Registry;
  close(): Promise<void>;
}

/** Starts a front before `upstreamUrl`; `extra` adds or replaces deps. */
export async function startFront(upstreamUrl: string, extra: Partial<FrontDeps> = {}): Promise<TestFront> {
  const logger = new MemoryLogger();
  const registry = new Registry();
  let tick = 0;
  // A clock that moves 1 ms per reading: durations are positive and the test stays deterministic.
  const clock = { now: () => ++tick };
  const front = createFront({ upstream: upstreamUrl, logger, registry, clock, ...extra });
  const server = createFrontServer(front);
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
