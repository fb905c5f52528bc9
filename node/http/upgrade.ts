/**
 * Protocol upgrades (`Connection: Upgrade`: kubectl exec, attach and port-forward over SPDY or
 * WebSocket) leave HTTP after the handshake, so they cannot go through the pool: the front opens
 * a connection of their own to the local application (or, for one whose scope names another
 * site, to that site's front, which tunnels it to its own application), replays the request head,
 * and then copies bytes both ways until either side closes.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { CheopsError, ErrorCode, errorMessage, type Logger } from '../../core/index.js';
import { toHttpError } from './errors.js';
import { upstreamRequestHeaders } from './forward-headers.js';
import { serverName } from './fast/upstream-pool.js';
import type { UpstreamTlsOptions } from './passthrough.js';

/** What the tunnel needs. */
export interface UpgradeTunnelDeps {
  readonly upstream: URL;
  readonly logger: Logger;
  readonly tls?: UpstreamTlsOptions;
}

/** Another site's front an upgrade goes to instead of the local application, and the headers it adds. */
export interface UpgradeElsewhere {
  readonly upstream: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** Opens upgrade tunnels to the local application, or to another site's front. */
export interface UpgradeTunnel {
  /** Tunnels the upgrade request `req` (target rewritten to `url`) arriving on `socket`; to `elsewhere` when given. */
  open(req: IncomingMessage, socket: Duplex, head: Buffer, url: string, elsewhere?: UpgradeElsewhere): void;
}

interface Endpoint {
  readonly origin: string;
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
  /** The base path, prefixed to every target. */
  readonly prefix: string;
}

function endpointOf(upstream: URL): Endpoint {
  const secure = upstream.protocol === 'https:';
  return {
    origin: upstream.origin,
    secure,
    host: upstream.hostname.replace(/^\[|\]$/g, ''),
    port: Number(upstream.port === '' ? (secure ? 443 : 80) : upstream.port),
    prefix: upstream.pathname.replace(/\/+$/, ''),
  };
}

/** The upgrade handshake needs these two hop-by-hop headers to reach the application. */
const keepForUpgrade: ReadonlySet<string> = new Set(['connection', 'upgrade']);

/** Creates the tunnel opener. */
export function createUpgradeTunnel(deps: UpgradeTunnelDeps): UpgradeTunnel {
  const local = endpointOf(deps.upstream);
  return {
    open(req, socket, head, url, elsewhere) {
      const to = elsewhere === undefined ? local : endpointOf(new URL(elsewhere.upstream));
      const { secure, host, port } = to;
      const upstream: Socket = secure
        ? tlsConnect({ host, port, ...serverName(host), ...(elsewhere === undefined ? deps.tls : {}) })
        : netConnect({ host, port });
      let connected = false;
      upstream.once(secure ? 'secureConnect' : 'connect', () => {
        connected = true;
        upstream.write(requestHead(req, to.prefix + url, elsewhere?.headers ?? []));
        if (head.length > 0) upstream.write(head);
        socket.pipe(upstream);
        upstream.pipe(socket);
      });
      upstream.on('error', (error) => {
        if (connected) {
          socket.destroy();
          return;
        }
        if (elsewhere !== undefined) {
          deps.logger.warn({ url, upstream: to.origin, error: errorMessage(error) }, 'site unreachable for an upgrade');
          refuseUpgrade(socket, new CheopsError(ErrorCode.SiteUnreachable, `the site at ${to.origin} is unreachable: ${errorMessage(error)}`));
          return;
        }
        deps.logger.warn({ url, upstream: to.origin, error: errorMessage(error) }, 'local application unreachable for an upgrade');
        refuseUpgrade(socket, new CheopsError(ErrorCode.AppUnreachable, `the local application at ${to.origin} is unreachable: ${errorMessage(error)}`));
      });
      upstream.on('close', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
      socket.on('close', () => upstream.destroy());
    },
  };
}

function requestHead(req: IncomingMessage, target: string, extra: ReadonlyArray<readonly [string, string]>): string {
  const headers = upstreamRequestHeaders(req, keepForUpgrade);
  let head = `${req.method ?? 'GET'} ${target} HTTP/1.1\r\n`;
  for (let i = 0; i + 1 < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  for (const [name, value] of extra) head += `${name}: ${value}\r\n`;
  return `${head}\r\n`;
}

/** Answers an upgrade that cannot be tunnelled with a plain HTTP error, then closes. */
export function refuseUpgrade(socket: Duplex, error: CheopsError): void {
  const { status, body } = toHttpError(error);
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  );
}
