/**
 * The raw path's way into the front's node:http side without a socket: a pair of in-memory
 * streams, one end handed to node's HTTP server as a connection (`server.emit('connection')`),
 * the other written and read by the raw path like a connection to the application. A client
 * connection opens one when it first needs the node:http side, and keeps it while both stay up,
 * so keep-alive connections can mix requests for either side freely.
 */
import type { Server } from 'node:http';
import { Duplex } from 'node:stream';
import type { Channel, ChannelUser } from './channel.js';
import { headWithBody } from './channel.js';
import type { ClientOrigin } from './upstream-head.js';

/** One end of an in-memory byte pipe: what is written to it is read from its peer. */
class PipeEnd extends Duplex {
  peer: PipeEnd | undefined;
  /** The write waiting for the peer's reader to want more (backpressure). */
  private pendingWrite: ((error?: Error | null) => void) | undefined;

  constructor() {
    super({ allowHalfOpen: false });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pushToPeer(chunk, callback);
  }

  /**
   * What was written while corked (node:http corks a response's head, body and chunked framing
   * together) goes to the peer as one chunk: the raw path then reads the whole response at once
   * and sends it to the client in one socket write rather than one per piece.
   */
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.pushToPeer(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map(({ chunk }) => chunk)), callback);
  }

  private pushToPeer(chunk: Buffer, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (peer === undefined || peer.destroyed) {
      callback(new Error('the other end of the pipe is closed'));
      return;
    }
    if (peer.push(chunk)) callback();
    else this.pendingWrite = callback;
  }

  override _read(): void {
    const peer = this.peer;
    const pending = peer?.pendingWrite;
    if (peer !== undefined && pending !== undefined) {
      peer.pendingWrite = undefined;
      pending();
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer?.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = undefined;
    if (peer !== undefined && !peer.destroyed) peer.destroy();
    callback(error);
  }
}

/**
 * The end node:http sees: a socket as far as it cares, with the client's address for
 * `X-Forwarded-For` and whether its connection is TLS.
 */
class ServerSideEnd extends PipeEnd {
  readonly remoteAddress: string | undefined;
  readonly encrypted: boolean | undefined;

  constructor(origin: ClientOrigin) {
    super();
    this.remoteAddress = origin.address;
    this.encrypted = origin.encrypted ? true : undefined;
  }

  // node:http sets these on sockets; they mean nothing in memory.
  setTimeout(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }
}

/** A Channel to the front's node:http server over an in-memory pipe. */
export class InternalChannel implements Channel {
  reused = false;
  readonly connected = true;
  private readonly end = new PipeEnd();
  private user: ChannelUser | undefined;
  private open = true;
  private paused = false;
  private error: Error | undefined;

  constructor(server: Server, origin: ClientOrigin) {
    const serverEnd = new ServerSideEnd(origin);
    this.end.peer = serverEnd;
    serverEnd.peer = this.end;
    this.end.on('data', (chunk: Buffer) => {
      const user = this.user;
      if (user === undefined) {
        this.destroy();
        return;
      }
      if (!user.onChannelData(chunk)) {
        this.paused = true;
        this.end.pause();
      }
    });
    this.end.on('drain', () => this.user?.onChannelDrain());
    this.end.on('error', (error) => (this.error ??= error));
    this.end.on('end', this.onEnd);
    this.end.on('close', this.onEnd);
    server.emit('connection', serverEnd);
  }

  get isOpen(): boolean {
    return this.open;
  }

  private readonly onEnd = (): void => {
    if (!this.open) return;
    this.open = false;
    this.end.destroy();
    const user = this.user;
    this.user = undefined;
    user?.onChannelClose(this.error);
  };

  attach(user: ChannelUser): void {
    this.user = user;
  }

  write(data: string | Uint8Array): boolean {
    return typeof data === 'string' ? this.end.write(data, 'latin1') : this.end.write(data);
  }

  writeHead(head: string, body: Uint8Array | undefined): boolean {
    return this.write(headWithBody(head, body));
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.end.resume();
  }

  release(): void {
    this.user = undefined;
    this.reused = true;
    this.resume();
  }

  destroy(): void {
    this.user = undefined;
    this.onEnd();
  }
}
