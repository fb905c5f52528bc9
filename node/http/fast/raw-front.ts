/**
 * The raw path of the front: a `net` connection listener that reads HTTP/1.1 itself and sends
 * pure passthrough requests straight to the application, and everything else to the front's
 * node:http request listener (router.ts), which stays the one place where owned routes, scopes
 * and the interceptor are handled. bench/front.ts measures what this saves.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Clock, Logger } from '../../../core/index.js';
import type { InterceptFilter, Interceptor } from '../interceptor.js';
import type { FrontMetrics } from '../metrics.js';
import type { UpstreamTlsOptions } from '../passthrough.js';
import type { ScopeFreeFilter } from '../request-scope.js';
import { isOwnedPath } from '../router.js';
import { ClientConnection, type ClientConnectionParts, type ClientLimits, type Route } from './client-connection.js';
import { headerReader, type RequestHead } from './request-head.js';
import { UpstreamPool } from './upstream-pool.js';

/** What the raw path needs from the front. */
export interface RawFrontDeps {
  /** The application over HTTP; undefined when it is in-process (then nothing is forwarded raw). */
  readonly upstream: URL | undefined;
  readonly tls?: UpstreamTlsOptions;
  /** The front's node:http listeners, for everything not forwarded raw. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  readonly handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  readonly interceptor: Interceptor | undefined;
  readonly wants: InterceptFilter | undefined;
  readonly scopeFree: ScopeFreeFilter | undefined;
  readonly logger: Logger;
  readonly metrics: FrontMetrics;
  readonly clock: Pick<Clock, 'now'>;
}

export interface RawFrontOptions {
  readonly connections: number | null;
  readonly keepAliveTimeoutMs: number;
  readonly maxResponseHeadBytes: number;
  readonly clients: ClientLimits;
}

export interface RawFront {
  /** Serves one client connection (`net.createServer(handleConnection)`). */
  readonly handleConnection: (socket: Socket) => void;
  /** Closes the connections to the application; exchanges in flight are cut. */
  close(): void;
}

export function createRawFront(deps: RawFrontDeps, options: RawFrontOptions): RawFront {
  const internalServer = createServer(deps.handle);
  internalServer.on('upgrade', deps.handleUpgrade);
  // Between requests, node:http closes its side of an idle connection after this long (the raw
  // path closes idle client connections after the same time, with its own timer).
  internalServer.keepAliveTimeout = options.clients.idleTimeoutMs;
  const { upstream } = deps;
  const pool =
    upstream === undefined
      ? undefined
      : new UpstreamPool({
          upstream,
          ...(deps.tls === undefined ? {} : { tls: deps.tls }),
          connections: options.connections,
          keepAliveTimeoutMs: options.keepAliveTimeoutMs,
          clock: deps.clock,
        });
  const parts: ClientConnectionParts = {
    pool,
    internalServer,
    route: router(pool !== undefined, deps.interceptor, deps.wants),
    intercept: { interceptor: deps.interceptor, wants: deps.wants, scopeFree: deps.scopeFree },
    targetPrefix: upstream === undefined ? '' : upstream.pathname.replace(/\/+$/, ''),
    upstreamOrigin: upstream?.origin ?? 'in-process',
    limits: options.clients,
    maxResponseHeadBytes: options.maxResponseHeadBytes,
    logger: deps.logger,
    metrics: deps.metrics,
    clock: deps.clock,
  };
  return {
    handleConnection: (socket) => {
      new ClientConnection(socket, parts);
    },
    close() {
      pool?.close();
    },
  };
}

/**
 * The cheap decision, on every request: a request that nothing in the front needs to see (no
 * owned path, no scope carrier, no upgrade, not HTTP/1.0, and not wanted by the engine) is
 * forwarded raw; one with a scope carrier, or wanted, is offered to the engine here
 * (`intercept`); the rest goes to node:http. A `wants` that throws sends the request to
 * node:http, whose router answers the failure.
 */
function router(canForward: boolean, interceptor: Interceptor | undefined, wants: InterceptFilter | undefined): (head: RequestHead) => Route {
  return (head) => {
    if (head.upgrade || head.method === 'CONNECT') return 'handoff';
    // Without a pool (an in-process application) nothing is forwarded raw, declined requests included.
    if (!canForward || head.minor === 0 || head.expect === 'other') return 'internal';
    const target = head.target;
    // Not origin-form (`http://x/…`, `*`): node:http's path answers those.
    if (target.charCodeAt(0) !== 47 || isOwnedPath(target)) return 'internal';
    if (head.scoped || target.startsWith('/scope/')) return 'intercept';
    if (interceptor === undefined) return 'forward';
    if (wants === undefined) return 'intercept';
    const question = target.indexOf('?');
    try {
      return wants(head.method, question === -1 ? target : target.slice(0, question), headerReader(head)) ? 'intercept' : 'forward';
    } catch {
      return 'internal';
    }
  };
}
