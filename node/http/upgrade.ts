/**
 * Protocol upgrades (`Connection: Upgrade`: kubectl exec, attach and port-forward over SPDY or
 * WebSocket) leave HTTP after the handshake, so they cannot go through the pool: the front opens
 * a connection of their own to the local application, replays the request head, and then copies
 * bytes both ways until either side closes.
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

/** Opens upgrade tunnels to the local application. */
export interface UpgradeTunnel {
  /** Tunnels the upgrade request `req` (target rewritten to `url`) arriving on `socket`. */
  open(req: IncomingMessage, socket: Duplex, head: Buffer, url: string): void;
}

/** The upgrade handshake needs these two hop-by-hop headers to reach the application. */
const keepForUpgrade: ReadonlySet<string> = new Set(['connection', 'upgrade']);

/** Creates the tunnel opener. */
export function createUpgradeTunnel(deps: UpgradeTunnelDeps): UpgradeTunnel {
  const secure = deps.upstream.protocol === 'https:';
  const host = deps.upstream.hostname.replace(/^\[|\]$/g, '');
  const port = Number(deps.upstream.port === '' ? (secure ? 443 : 80) : deps.upstream.port);
  const prefix = deps.upstream.pathname.replace(/\/+$/, '');
  return {
    open(req, socket, head, url) {
      const upstream: Socket = secure
        ? tlsConnect({ host, port, ...serverName(host), ...deps.tls })
        : netConnect({ host, port });
      let connected = false;
      upstream.once(secure ? 'secureConnect' : 'connect', () => {
        connected = true;
        upstream.write(requestHead(req, prefix + url));
        if (head.length > 0) upstream.write(head);
        socket.pipe(upstream);
        upstream.pipe(socket);
      });
      upstream.on('error', (error) => {
        if (connected) {
          socket.destroy();
          return;
        }
        deps.logger.warn({ url, upstream: deps.upstream.origin, error: errorMessage(error) }, 'local application unreachable for an upgrade');
        refuseUpgrade(socket, new CheopsError(ErrorCode.AppUnreachable, `the local application at ${deps.upstream.origin} is unreachable: ${errorMessage(error)}`));
      });
      upstream.on('close', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
      socket.on('close', () => upstream.destroy());
    },
  };
}

function requestHead(req: IncomingMessage, target: string): string {
  const headers = upstreamRequestHeaders(req, keepForUpgrade);
  let head = `${req.method ?? 'GET'} ${target} HTTP/1.1\r\n`;
  for (let i = 0; i + 1 < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
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
