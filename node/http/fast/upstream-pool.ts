/**
 * The raw path's keep-alive connections to the local application. Plain TCP connections are read
 * with node's `onread` into one buffer shared by all of them: no Buffer is allocated per read and
 * no stream machinery runs, which is most of what a node proxy spends per request beyond the
 * system calls. Whoever reads (the exchange) consumes the bytes before returning. TLS connections
 * cannot use `onread` and are read with `data` events.
 */
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Clock } from '../../../core/index.js';
import type { UpstreamTlsOptions } from '../passthrough.js';
import { headWithBody, type Channel, type ChannelUser } from './channel.js';

/** Where and how to connect. */
export interface UpstreamPoolOptions {
  readonly upstream: URL;
  readonly tls?: UpstreamTlsOptions;
  /** Most connections; `null` for no limit (every watch holds one for its whole life). */
  readonly connections: number | null;
  /** How long an idle connection may be reused; under the application's own keep-alive timeout. */
  readonly keepAliveTimeoutMs: number;
  readonly clock: Pick<Clock, 'now'>;
}

/** 64 KiB: what node itself reads at most per system call. */
const readBufferBytes = 64 * 1024;

/** Pooled connections to the application. */
export class UpstreamPool {
  private readonly idle: UpstreamConnection[] = [];
  private readonly waiting: Array<(connection: UpstreamConnection) => void> = [];
  private readonly all = new Set<UpstreamConnection>();
  private readonly readBuffer = Buffer.allocUnsafe(readBufferBytes);
  private readonly host: string;
  private readonly port: number;
  private readonly secure: boolean;
  private closed = false;

  constructor(private readonly options: UpstreamPoolOptions) {
    const { upstream } = options;
    this.secure = upstream.protocol === 'https:';
    this.host = upstream.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(upstream.port === '' ? (this.secure ? 443 : 80) : upstream.port);
  }

  /**
   * Hands a connection to `ready`: at once (synchronously) when an idle one is fresh or a new one
   * may be opened, otherwise when one is released. `fresh` skips idle connections (a retry after
   * a stale one failed). Returns a function that withdraws the wait.
   */
  acquire(ready: (connection: UpstreamConnection) => void, fresh = false): () => void {
    if (!fresh) {
      const reusable = this.takeIdle();
      if (reusable !== undefined) {
        ready(reusable);
        return noop;
      }
    }
    const limit = this.options.connections;
    if (limit === null || this.all.size < limit || this.closed) {
      ready(this.open());
      return noop;
    }
    this.waiting.push(ready);
    return () => {
      const index = this.waiting.indexOf(ready);
      if (index !== -1) this.waiting.splice(index, 1);
    };
  }

  /**
   * Closes every connection, in use or idle: their users see them fail (a request in flight is
   * answered 503 or cut), and so do requests that come after.
   */
  close(): void {
    this.closed = true;
    for (const connection of [...this.all]) connection.abort(closedError());
    this.idle.length = 0;
  }

  /** @internal called by a connection that is free again. */
  recycle(connection: UpstreamConnection): void {
    const next = this.waiting.shift();
    if (next !== undefined) {
      next(connection);
      return;
    }
    connection.idleSinceMs = this.options.clock.now();
    this.idle.push(connection);
    this.expireOldest();
  }

  /** @internal called by a connection that closed. */
  forget(connection: UpstreamConnection): void {
    this.all.delete(connection);
    const next = this.waiting.shift();
    if (next !== undefined) next(this.open());
  }

  private takeIdle(): UpstreamConnection | undefined {
    const now = this.options.clock.now();
    for (;;) {
      const connection = this.idle.pop();
      if (connection === undefined) return undefined;
      if (!connection.isOpen) continue;
      if (now - connection.idleSinceMs < this.options.keepAliveTimeoutMs) return connection;
      connection.destroy();
    }
  }

  /** Idle connections are expired lazily, without a timer: the oldest ones, on every release. */
  private expireOldest(): void {
    const now = this.options.clock.now();
    while (this.idle.length > 0) {
      const oldest = this.idle[0] as UpstreamConnection;
      if (oldest.isOpen && now - oldest.idleSinceMs < this.options.keepAliveTimeoutMs) return;
      this.idle.shift();
      oldest.destroy();
    }
  }

  private open(): UpstreamConnection {
    const connection = new UpstreamConnection(this);
    const socket = this.secure
      ? tlsConnect({ host: this.host, port: this.port, ...serverName(this.host), ...this.options.tls }).setNoDelay(true)
      : netConnect({
          host: this.host,
          port: this.port,
          noDelay: true,
          onread: { buffer: this.readBuffer, callback: connection.onRead },
        });
    connection.bind(socket, this.secure);
    this.all.add(connection);
    // Its user attaches first, then hears of the failure (socket events come on a later tick).
    if (this.closed) connection.abort(closedError());
    return connection;
  }
}

function noop(): void {}

function closedError(): Error {
  return new Error('the HTTP front is closing');
}

/** SNI for a host name; none for an IP address (RFC 6066 forbids it, node warns). */
export function serverName(host: string): { servername?: string } {
  return isIP(host) === 0 ? { servername: host } : {};
}

/** One connection to the application. */
export class UpstreamConnection implements Channel {
  idleSinceMs = 0;
  reused = false;
  connected = false;
  private socket: Socket | undefined;
  private user: ChannelUser | undefined;
  private open = true;
  private paused = false;
  private error: Error | undefined;

  constructor(private readonly pool: UpstreamPool) {}

  get isOpen(): boolean {
    return this.open;
  }

  /** @internal */
  bind(socket: Socket, secure: boolean): void {
    this.socket = socket;
    socket.once(secure ? 'secureConnect' : 'connect', () => (this.connected = true));
    socket.on('error', (error) => (this.error ??= error));
    socket.on('drain', () => this.user?.onChannelDrain());
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    if (secure) {
      socket.on('data', (chunk: Buffer) => {
        if (!this.onData(chunk)) socket.pause();
      });
    }
  }

  /** The `onread` callback: `bytes` is the pool's shared buffer; returning false stops reading. */
  readonly onRead = (length: number, bytes: Buffer): boolean => this.onData(bytes.subarray(0, length));

  private onData(bytes: Buffer): boolean {
    const user = this.user;
    if (user === undefined) {
      // Bytes nobody asked for: the application broke the protocol; this connection is done.
      this.destroy();
      return false;
    }
    const more = user.onChannelData(bytes);
    if (!more) this.paused = true;
    return more;
  }

  private readonly onEnd = (): void => {
    if (!this.open) return;
    this.open = false;
    this.socket?.destroy();
    this.pool.forget(this);
    const user = this.user;
    this.user = undefined;
    user?.onChannelClose(this.error);
  };

  attach(user: ChannelUser): void {
    this.user = user;
  }

  write(data: string | Uint8Array): boolean {
    const socket = this.socket as Socket;
    return typeof data === 'string' ? socket.write(data, 'latin1') : socket.write(data);
  }

  writeHead(head: string, body: Uint8Array | undefined): boolean {
    return this.write(headWithBody(head, body));
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket?.resume();
  }

  release(): void {
    this.user = undefined;
    this.reused = true;
    this.resume();
    if (this.open) this.pool.recycle(this);
  }

  /** Closes the connection without a word to its user. */
  destroy(): void {
    this.user = undefined;
    this.socket?.destroy();
    this.onEnd();
  }

  /** Fails the connection: its user (if any) sees it close with `error`, on a later tick. */
  abort(error: Error): void {
    this.socket?.destroy(error);
  }
}
