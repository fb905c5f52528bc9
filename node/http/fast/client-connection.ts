/**
 * One client connection on the raw path. It reads request heads itself (request-head.ts), one
 * request at a time (pipelined requests wait their turn, as RFC 9112 §9.3.2 requires answers in
 * order), and routes each:
 * - `forward`: pure passthrough, straight to a pooled connection to the application;
 * - `intercept`: what the engine may take (a scope carrier, or what `wants` accepts), answered
 *   here when its whole body came with the head (intercepted-exchange.ts), else as `internal`;
 * - `internal`: everything else the front must look at (owned routes, HTTP/1.0, a body still
 *   coming), over an in-memory connection to the front's node:http side;
 * - `handoff`: upgrades and CONNECT leave HTTP for good, so the socket itself is handed to
 *   node:http with the bytes read so far put back.
 * Malformed requests are refused with a Status answer and the connection is closed.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { errorMessage, type Clock, type Logger } from '../../../core/index.js';
import { badRequest, httpErrorBytes, protocolError, toHttpError, type HttpError } from '../errors.js';
import { headWithBody, type Channel } from './channel.js';
import { Exchange, type ClientExchange, type ExchangeHost, type ExchangeMode } from './exchange.js';
import { InterceptedExchange, type InterceptedExchangeParts } from './intercepted-exchange.js';
import { InternalChannel } from './internal-channel.js';
import { parseRequestHead, type RequestHead } from './request-head.js';
import { upstreamRequestHead, type ClientOrigin } from './upstream-head.js';

/** Where a request goes (see the module comment). */
export type Route = ExchangeMode | 'intercept' | 'handoff';

/** Limits on what a client may send; see FrontOptions.clients. */
export interface ClientLimits {
  readonly maxHeadBytes: number;
  readonly headTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

/** What every client connection shares. */
export interface ClientConnectionParts extends InterceptedExchangeParts {
  readonly internalServer: Server;
  readonly route: (head: RequestHead) => Route;
  readonly limits: ClientLimits;
  readonly logger: Logger;
  readonly clock: Pick<Clock, 'now'>;
}

/**
 * Where the request whose head is `head` ends in a buffer of `available` bytes, when its whole
 * body is there (no body, or all of a Content-Length one); undefined otherwise.
 */
function wholeRequestEnd(head: RequestHead, available: number): number | undefined {
  const { framing } = head;
  if (framing.kind === 'none') return head.length;
  if (framing.kind === 'length' && head.length + framing.length <= available) return head.length + framing.length;
  return undefined;
}

/** Reasons to stop reading the client, as bits: reading resumes when none is left. */
const pausedForBody = 1;
const pausedForPipeline = 2;

export class ClientConnection implements ExchangeHost {
  private buffer: Buffer | undefined;
  private exchange: ClientExchange | undefined;
  private internal: InternalChannel | undefined;
  private headStartMs = -1;
  private paused = 0;
  /** An answer that closes the connection was written: what the client sends now is dropped. */
  private closing = false;
  private gone = false;
  private processing = false;
  private readonly origin: ClientOrigin;

  constructor(
    private readonly socket: Socket,
    private readonly parts: ClientConnectionParts,
  ) {
    // A TLS server may hand its sockets here too: X-Forwarded-Proto must say so.
    this.origin = { address: socket.remoteAddress, encrypted: (socket as { encrypted?: boolean }).encrypted === true };
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
    socket.on('drain', this.onDrain);
    socket.on('timeout', this.onTimeout);
    socket.setTimeout(parts.limits.idleTimeoutMs);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closing) return;
    let bytes = chunk;
    const exchange = this.exchange;
    if (exchange?.wantsBody === true) {
      const end = exchange.requestData(bytes, 0);
      if (end === bytes.length || this.closing) return;
      bytes = bytes.subarray(end);
    }
    this.buffer = this.buffer === undefined ? bytes : Buffer.concat([this.buffer, bytes]);
    if (this.exchange === undefined) this.next();
    // Pipelined requests wait for the current answer; a client sending more than a head's worth
    // meanwhile is held back by TCP rather than by our memory.
    else if (this.buffer.length > this.parts.limits.maxHeadBytes) this.pause(pausedForPipeline);
  };

  /** Starts the requests waiting in the buffer, one at a time. */
  private next(): void {
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.buffer !== undefined && this.exchange === undefined && !this.closing && !this.gone) {
        const buffer = this.buffer;
        const parsed = parseRequestHead(buffer, 0, this.parts.limits.maxHeadBytes);
        if (parsed.kind === 'incomplete') {
          this.checkHeadTime();
          return;
        }
        if (parsed.kind === 'error') {
          const error = parsed.status === 400 ? toHttpError(badRequest(parsed.message)) : protocolError(parsed.status, parsed.message);
          this.refuse(error, parsed.message);
          return;
        }
        this.headStartMs = -1;
        let route = this.parts.route(parsed);
        if (route === 'handoff') {
          this.handOff();
          return;
        }
        if (route === 'intercept') {
          const end = wholeRequestEnd(parsed, buffer.length);
          if (end !== undefined) {
            const body = end > parsed.length ? Buffer.from(buffer.subarray(parsed.length, end)) : undefined;
            const exchange = new InterceptedExchange(this, parsed, body, this.origin, this.parts);
            this.exchange = exchange;
            // Before starting: an answer given at once (a bad scope) goes on to what follows.
            this.buffer = end < buffer.length ? buffer.subarray(end) : undefined;
            exchange.start();
            continue;
          }
          route = 'internal';
        }
        const outgoing = route === 'forward' ? upstreamRequestHead(parsed, this.parts.targetPrefix, this.origin) : `${parsed.text}\r\n`;
        const exchange = new Exchange(this, parsed, outgoing, route, this.parts);
        this.exchange = exchange;
        const end = exchange.start(buffer, parsed.length);
        if (!this.closing) this.buffer = end < buffer.length ? buffer.subarray(end) : undefined;
      }
    } finally {
      this.processing = false;
    }
  }

  /** A head that trickles in for too long is a slow-loris, not a client. */
  private checkHeadTime(): void {
    const now = this.parts.clock.now();
    if (this.headStartMs === -1) this.headStartMs = now;
    else if (now - this.headStartMs > this.parts.limits.headTimeoutMs) {
      this.refuse(protocolError(408, 'the request head took too long to arrive'), 'request head timeout');
    }
  }

  /** Answers a request that cannot be read, then closes. */
  private refuse(error: HttpError, reason: string): void {
    this.parts.logger.debug({ client: this.origin.address, status: error.status, error: reason }, 'bad HTTP request from a client');
    this.buffer = undefined;
    if (!this.socket.writable) return;
    this.socket.write(httpErrorBytes(error, true));
    this.closeAfterWrites();
  }

  /**
   * Ends the connection once what was written has gone. Reading goes on, discarding, until the
   * client closes too: closing with unread bytes would send a reset that can destroy the answer
   * before the client reads it.
   */
  private closeAfterWrites(): void {
    this.closing = true;
    this.buffer = undefined;
    this.paused = 0;
    this.socket.resume();
    this.socket.end();
  }

  /** Gives the socket to node:http for good, with every unprocessed byte put back. */
  private handOff(): void {
    const socket = this.socket;
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onClose);
    socket.off('error', this.onError);
    socket.off('drain', this.onDrain);
    socket.off('timeout', this.onTimeout);
    socket.setTimeout(0);
    this.internal?.destroy();
    this.internal = undefined;
    const rest = this.buffer;
    this.buffer = undefined;
    if (rest !== undefined) socket.unshift(rest);
    this.parts.internalServer.emit('connection', socket);
    // node:http's own 'data' listener does not resume a socket paused before it came.
    socket.resume();
  }

  private readonly onEnd = (): void => {
    // Like node:http (without httpAllowHalfOpen): a client that stops sending is gone.
    this.exchange?.abort();
    this.exchange = undefined;
    this.socket.destroy();
  };

  private readonly onClose = (): void => {
    this.gone = true;
    this.buffer = undefined;
    const exchange = this.exchange;
    this.exchange = undefined;
    exchange?.abort();
    this.internal?.destroy();
    this.internal = undefined;
  };

  private readonly onError = (error: Error): void => {
    this.parts.logger.debug({ client: this.origin.address, error: errorMessage(error) }, 'client connection error');
  };

  private readonly onDrain = (): void => {
    this.exchange?.onClientDrain();
  };

  private readonly onTimeout = (): void => {
    // Idle between requests (or closing): close. A long answer in progress (a quiet watch) stays.
    if (this.exchange === undefined) this.socket.destroy();
  };

  private pause(reason: number): void {
    if (this.paused === 0 && !this.closing) this.socket.pause();
    this.paused |= reason;
  }

  private resume(reason: number): void {
    if (this.paused === 0) return;
    this.paused &= ~reason;
    if (this.paused === 0) this.socket.resume();
  }

  // ExchangeHost

  write(data: string | Uint8Array): boolean {
    if (this.gone) return true;
    return typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data);
  }

  writeHead(head: string, body: Uint8Array | undefined): boolean {
    return this.write(headWithBody(head, body));
  }

  pauseBody(): void {
    this.pause(pausedForBody);
  }

  resumeBody(): void {
    this.resume(pausedForBody);
  }

  exchangeDone(close: boolean): void {
    this.exchange = undefined;
    if (this.gone) return;
    if (close) {
      this.closeAfterWrites();
      return;
    }
    this.resume(pausedForBody | pausedForPipeline);
    if (this.buffer !== undefined) this.next();
  }

  cut(): void {
    this.socket.destroy();
  }

  internalChannel(): Channel {
    if (this.internal?.isOpen !== true) this.internal = new InternalChannel(this.parts.internalServer, this.origin);
    return this.internal;
  }
}
