/**
 * The processes of the front benchmark, one role each (in CHEOPS_BENCH_ROLE, arguments after it),
 * started by bench/front.ts with `fork`:
 *   upstream            a node:http server answering a ~1 KB JSON body (the "application")
 *   front <url>         the Cheops front (node/http) before <url>, on its raw path (createFrontServer)
 *   front-node <url>    the same front served by node:http (`http.createServer(front.handle)`): the
 *                       design before the raw path, and what the raw path hands non-passthrough to
 *   node-floor <url>    the least a node proxy can do (undici dispatch, no rules), for scale
 *   front-web <url>     the road not taken: Hono's node adapter turning every request into a web
 *                       Request, forwarded with undici `pool.request` and answered as a web
 *                       Response; kept to show what the raw handler saves
 *   load <plan as JSON>  the load generator (bench/front-load.ts)
 * Servers report `{ type: 'ready', url }` over IPC; the load generator reports its result.
 */
import '../core/polyfills.js';
import { createServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { Registry } from 'prom-client';
import { Pool, type Dispatcher } from 'undici';
import { silentLogger } from '../core/index.js';
import { systemClock } from '../core/system.js';
import { createFront, createFrontServer } from '../node/http/index.js';
import { runLoad, type LoadPlan } from './front-load.js';

/** The message a server sends when it listens. */
export interface ReadyMessage {
  readonly type: 'ready';
  readonly url: string;
}

/** A Pod-like JSON body of about 1 KB, as a list or get on a Kubernetes API returns. */
export function podBody(): Buffer {
  const pod = {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name: 'purple',
      namespace: 'default',
      uid: '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f',
      resourceVersion: '123456',
      creationTimestamp: '2026-11-22T10:00:00Z',
      labels: { app: 'purple', tier: 'backend', 'cheops.io/site': 'Site1' },
      annotations: { 'cheops.io/scope': '{Site1 & Site2}' },
    },
    spec: {
      containers: [
        {
          name: 'main',
          image: 'registry.example/purple:1.2.3',
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
        },
      ],
      restartPolicy: 'Always',
      nodeName: 'site1-worker-1',
    },
    status: { phase: 'Running', podIP: '10.244.1.17', hostIP: '192.168.1.10', startTime: '2026-11-22T10:00:01Z' },
  };
  const text = JSON.stringify(pod);
  return Buffer.from(text + ' '.repeat(Math.max(0, 1024 - text.length)));
}

function listen(server: Server): void {
  if ('keepAliveTimeout' in server) server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const ready: ReadyMessage = { type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    process.send?.(ready);
  });
}

function upstream(): void {
  const body = podBody();
  const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };
  listen(
    createServer((req, res) => {
      req.resume();
      res.writeHead(200, headers);
      res.end(body);
    }),
  );
}

function front(target: string): void {
  const cheops = createFront({ upstream: target, logger: silentLogger, registry: new Registry(), clock: systemClock });
  listen(createFrontServer(cheops));
}

function frontNode(target: string): void {
  const cheops = createFront({ upstream: target, logger: silentLogger, registry: new Registry(), clock: systemClock });
  const server = createServer(cheops.handle);
  server.on('upgrade', cheops.handleUpgrade);
  listen(server);
}

/**
 * The least a node proxy can do, for comparison only: undici `dispatch` straight into node's
 * response, no header rules, no scope, no metrics. The gap between it and `front` is the cost of
 * the front's own logic; the gap between it and HAProxy is Node's.
 */
function nodeFloor(target: string): void {
  const pool = new Pool(target, { connections: null, pipelining: 1, bodyTimeout: 0, headersTimeout: 0 });
  listen(
    createServer((req, res) => {
      const handler: Dispatcher.DispatchHandler = {
        // undici tells its handler APIs apart by this method; without it, the legacy one is assumed.
        onRequestStart: () => undefined,
        onResponseStart: (_controller, statusCode, headers) => void res.writeHead(statusCode, headers),
        onResponseData: (_controller, chunk) => void res.write(chunk),
        onResponseEnd: () => void res.end(),
        onResponseError: (_controller, error) => void res.destroy(error),
      };
      pool.dispatch({ path: req.url ?? '/', method: req.method ?? 'GET', headers: [] }, handler);
    }),
  );
}

/** The web-Request design, for comparison only: everything through Hono's adapter and fetch types. */
function frontWeb(target: string): void {
  const pool = new Pool(target, { connections: null, pipelining: 1, bodyTimeout: 0, headersTimeout: 0 });
  const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'expect']);
  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      if (!hopByHop.has(name)) headers[name] = value;
    });
    const answer = await pool.request({
      path: url.pathname + url.search,
      method: request.method,
      headers,
      body: request.body === null ? null : Buffer.from(await request.arrayBuffer()),
    });
    const out = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value === undefined || hopByHop.has(name)) continue;
      for (const one of Array.isArray(value) ? value : [value]) out.append(name, one);
    }
    const reader = answer.body;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        for await (const chunk of reader) controller.enqueue(chunk as Uint8Array);
        controller.close();
      },
      cancel() {
        reader.destroy();
      },
    });
    return new Response(body, { status: answer.statusCode, headers: out });
  };
  const listener = getRequestListener(handler);
  listen(createServer((req, res) => void listener(req, res)));
}

// The role comes from the environment, so that importing this module (for its types) never
// starts anything by accident.
const role = process.env['CHEOPS_BENCH_ROLE'];
const args = process.argv.slice(2);
switch (role) {
  case 'upstream':
    upstream();
    break;
  case 'front':
    front(args[0] ?? '');
    break;
  case 'front-node':
    frontNode(args[0] ?? '');
    break;
  case 'node-floor':
    nodeFloor(args[0] ?? '');
    break;
  case 'front-web':
    frontWeb(args[0] ?? '');
    break;
  case 'load':
    process.send?.(await runLoad(JSON.parse(args[0] ?? '{}') as LoadPlan));
    process.disconnect?.();
    break;
  default:
    break;
}
