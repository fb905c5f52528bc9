/**
 * One request and its response over a channel, in one of two modes:
 * - `forward`: straight to the local application. The head is rewritten (forward rules), the
 *   body relayed as it came, interim 1xx answers dropped (the front answered `Expect` itself),
 *   the response head cleaned of hop-by-hop headers, and the exchange counted in the metrics.
 * - `internal`: to the front's own node:http side over an in-memory pipe, bytes both ways as they
 *   are; node:http does the rest (and counts the request itself).
 * Both ways keep backpressure: a slow application pauses the client, a slow client pauses the
 * application, and nothing is buffered beyond what one read brought.
 */
import { CheopsError, ErrorCode, errorMessage, type Clock, type Logger } from '../../../core/index.js';
import { httpErrorBytes, toHttpError } from '../errors.js';
import { upstreamErrorReason, type FrontMetrics } from '../metrics.js';
import { ChunkedFramer, FramingError, LengthFramer, type BodyFramer } from './body-framing.js';
import type { Channel, ChannelUser } from './channel.js';
import type { RequestHead } from './request-head.js';
import { clientResponseHead, parseResponseHead, responseFramer } from './response-head.js';
import type { UpstreamPool } from './upstream-pool.js';

/** What an exchange needs of its client connection (client-connection.ts). */
export interface ExchangeHost {
  /** Writes to the client; false when the client is slow (then `onClientDrain` follows). */
  write(data: string | Uint8Array): boolean;
  writeHead(head: string, body: Uint8Array | undefined): boolean;
  /** Stops and restarts reading the client while the channel cannot take its body. */
  pauseBody(): void;
  resumeBody(): void;
  /** The exchange is over; `close` when the client connection must close after what was written. */
  exchangeDone(close: boolean): void;
  /** Cuts the client connection (a response failed midway). */
  cut(): void;
  /** The connection's channel to the node:http side, opened on first use. */
  internalChannel(): Channel;
}

/** The parts every exchange shares. */
export interface ExchangeParts {
  readonly pool: UpstreamPool | undefined;
  readonly logger: Logger;
  readonly metrics: FrontMetrics;
  readonly clock: Pick<Clock, 'now'>;
  /** The application's origin, for error messages. */
  readonly upstreamOrigin: string;
  readonly maxResponseHeadBytes: number;
}

export type ExchangeMode = 'forward' | 'internal';

/** An exchange as its client connection drives it (this one, and intercepted-exchange.ts). */
export interface ClientExchange {
  /** True while the request body is still coming from the client. */
  readonly wantsBody: boolean;
  /** More request body from the client; returns where the body ends in `bytes`. */
  requestData(bytes: Buffer, from: number): number;
  /** The client can take more. */
  onClientDrain(): void;
  /** The client went away. */
  abort(): void;
}

const continueLine = 'HTTP/1.1 100 Continue\r\n\r\n';
/** Methods that may be sent again when a reused connection turns out closed (RFC 9110 §9.2.2). */
const idempotent = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export class Exchange implements ChannelUser, ClientExchange {
  private channel: Channel | undefined;
  private readonly requestFramer: BodyFramer | undefined;
  private requestDone: boolean;
  private responseFramer: BodyFramer | undefined;
  /** The response's body ends when the channel closes (no length, no chunks). */
  private untilClose = false;
  private pendingHead: Buffer | undefined;
  private waitingBody: Uint8Array | undefined;
  private cancelWait: (() => void) | undefined;
  private status = 0;
  private headSent = false;
  private sawResponse = false;
  private reusable = true;
  private closeClient: boolean;
  private finished = false;
  private retried = false;
  private lastChannelReused = false;
  private readonly startMs: number;

  constructor(
    private readonly host: ExchangeHost,
    private readonly head: RequestHead,
    private readonly outgoingHead: string,
    private readonly mode: ExchangeMode,
    private readonly parts: ExchangeParts,
  ) {
    const { framing } = head;
    this.requestFramer =
      framing.kind === 'length' ? new LengthFramer(framing.length) : framing.kind === 'chunked' ? new ChunkedFramer() : undefined;
    this.requestDone = this.requestFramer === undefined;
    this.closeClient = !head.keepAlive;
    this.startMs = mode === 'forward' ? parts.clock.now() : 0;
    if (mode === 'forward') parts.metrics.started('passthrough');
  }

  /** True while the request body is still coming from the client. */
  get wantsBody(): boolean {
    return !this.requestDone && !this.finished;
  }

  /**
   * Starts the exchange with the bytes after the head; returns where this request ends in them
   * (what follows is the next request).
   */
  start(bytes: Buffer, from: number): number {
    let end = from;
    try {
      end = this.requestFramer === undefined ? from : this.requestFramer.advance(bytes, from);
    } catch (error) {
      this.refuseBody(error);
      return bytes.length;
    }
    this.requestDone = this.requestFramer === undefined || this.requestFramer.done;
    if (this.mode === 'forward' && this.head.expect === 'continue' && !this.requestDone) this.host.write(continueLine);
    const body = end > from ? bytes.subarray(from, end) : undefined;
    if (this.mode === 'internal') this.begin(this.host.internalChannel(), body);
    else this.acquire(body, false);
    return end;
  }

  /** More request body from the client; returns where the body ends in `bytes`. */
  requestData(bytes: Buffer, from: number): number {
    const framer = this.requestFramer as BodyFramer;
    let end: number;
    try {
      end = framer.advance(bytes, from);
    } catch (error) {
      this.refuseBody(error);
      return bytes.length;
    }
    this.requestDone = framer.done;
    if (end > from) {
      const slice = bytes.subarray(from, end);
      const channel = this.channel;
      if (channel === undefined) {
        // Still waiting for a connection (pool at its limit): the client is paused meanwhile.
        this.waitingBody = this.waitingBody === undefined ? slice : Buffer.concat([this.waitingBody, slice]);
      } else if (!channel.write(slice)) this.host.pauseBody();
    }
    return end;
  }

  /** The client can take more: read the channel again. */
  onClientDrain(): void {
    if (!this.finished) this.channel?.resume();
  }

  /** The client went away: stop the request (the application sees its connection close). */
  abort(): void {
    if (this.finished) return;
    this.finished = true;
    this.cancelWait?.();
    this.channel?.destroy();
    this.count(this.headSent ? this.status : 499);
  }

  private acquire(body: Uint8Array | undefined, fresh: boolean): void {
    const pool = this.parts.pool as UpstreamPool;
    let ready = false;
    this.cancelWait = pool.acquire((channel) => {
      ready = true;
      this.cancelWait = undefined;
      if (this.finished) channel.release();
      else this.begin(channel, body);
    }, fresh);
    // The pool is at its limit: hold the client's body until a connection frees up.
    if (!ready) this.host.pauseBody();
  }

  private begin(channel: Channel, initial: Uint8Array | undefined): void {
    this.channel = channel;
    this.lastChannelReused = channel.reused;
    channel.attach(this);
    const waiting = this.waitingBody;
    this.waitingBody = undefined;
    const body = initial === undefined ? waiting : waiting === undefined ? initial : Buffer.concat([initial, waiting]);
    // Whatever paused the client before (waiting for this channel) is over; backpressure decides now.
    if (channel.writeHead(this.outgoingHead, body)) this.host.resumeBody();
    else this.host.pauseBody();
  }

  onChannelDrain(): void {
    if (!this.finished) this.host.resumeBody();
  }

  onChannelData(bytes: Buffer): boolean {
    if (this.finished) return false;
    this.sawResponse = true;
    try {
      return this.responseFramer === undefined ? this.readHead(bytes) : this.relay(bytes, 0);
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  /** Reads the response head (skipping interim answers), sends it on, then the body it came with. */
  private readHead(bytes: Buffer): boolean {
    let data = bytes;
    if (this.pendingHead !== undefined) {
      data = Buffer.concat([this.pendingHead, bytes]);
      this.pendingHead = undefined;
    }
    let offset = 0;
    for (;;) {
      const parsed = parseResponseHead(data, offset, this.parts.maxResponseHeadBytes, this.head.method);
      if (parsed.kind === 'incomplete') {
        // `bytes` may be the pool's shared read buffer: keep a copy.
        this.pendingHead = Buffer.from(data.subarray(offset));
        return true;
      }
      if (parsed.kind === 'error') throw new FramingError(parsed.message);
      if (parsed.status === 101) throw new FramingError('the application switched protocols on a request that did not ask to');
      if (parsed.status < 200) {
        if (this.mode === 'internal') this.host.write(data.toString('latin1', offset, offset + parsed.length));
        offset += parsed.length;
        if (offset === data.length) return true;
        continue;
      }
      this.status = parsed.status;
      const framer = responseFramer(parsed);
      this.responseFramer = framer;
      this.untilClose = parsed.bodyKind === 'close';
      // A response that comes before the whole request body leaves the rest of the body unread.
      this.closeClient ||= !this.requestDone || parsed.bodyKind === 'close' || (this.mode === 'internal' && parsed.connection.close);
      this.reusable = !parsed.connection.close && parsed.bodyKind !== 'close';
      const start = offset + parsed.length;
      const end = framer.advance(data, start);
      if (end < data.length) this.reusable = false; // bytes after the response: the connection is confused
      // node:http's own head is relayed as it is, unless it promises a connection the front is about to close.
      const verbatim = this.mode === 'internal' && (!this.closeClient || parsed.connection.close);
      const headText = verbatim ? data.toString('latin1', offset, start) : clientResponseHead(parsed, this.closeClient);
      this.headSent = true;
      const more = this.host.writeHead(headText, end > start ? data.subarray(start, end) : undefined);
      if (!framer.done) return more;
      // The channel is released (maybe to another exchange already): this client's pace no longer concerns it.
      this.finish();
      return true;
    }
  }

  private relay(bytes: Buffer, from: number): boolean {
    const framer = this.responseFramer as BodyFramer;
    const end = framer.advance(bytes, from);
    if (end < bytes.length) this.reusable = false;
    // Copied: `bytes` may be the pool's shared read buffer, and a socket write may keep its argument.
    const more = end > from ? this.host.write(Buffer.from(bytes.subarray(from, end))) : true;
    if (!framer.done) return more;
    this.finish();
    return true;
  }

  onChannelClose(error: Error | undefined): void {
    if (this.finished) return;
    this.channel = undefined;
    if (this.headSent && this.responseFramer !== undefined && !this.responseFramer.done) {
      if (this.untilClose && error === undefined) {
        this.reusable = false;
        this.finish();
        return;
      }
      this.fail(error ?? new Error('the connection closed before the end of the response'));
      return;
    }
    if (this.canRetry()) {
      this.retried = true;
      this.acquire(undefined, true);
      return;
    }
    this.fail(error ?? new Error('the connection closed before a response'));
  }

  /** A reused keep-alive connection may have been closed by the application just as it was taken. */
  private canRetry(): boolean {
    return (
      this.mode === 'forward' &&
      !this.retried &&
      !this.sawResponse &&
      this.requestFramer === undefined &&
      idempotent.has(this.head.method) &&
      this.lastChannelReused
    );
  }

  /** The exchange failed: answer an error if nothing was sent yet, else cut the client. */
  private fail(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    const channel = this.channel;
    this.channel = undefined;
    channel?.destroy();
    const { logger, metrics } = this.parts;
    const forward = this.mode === 'forward';
    if (forward) metrics.upstreamError(upstreamErrorReason(error));
    const where = { method: this.head.method, url: this.head.target, error: errorMessage(error) };
    if (this.headSent) {
      logger.warn(where, forward ? 'local application failed mid-response; cutting the answer' : 'front failed mid-response; cutting the answer');
      this.count(this.status);
      this.host.cut();
      return;
    }
    const answer = forward
      ? new CheopsError(ErrorCode.AppUnreachable, `the local application at ${this.parts.upstreamOrigin} is unreachable: ${errorMessage(error)}`, {
          cause: error,
          details: { reason: upstreamErrorReason(error) },
        })
      : error;
    if (forward) logger.warn({ ...where, upstream: this.parts.upstreamOrigin }, 'local application unreachable');
    else logger.error(where, 'front failed to answer');
    const httpError = toHttpError(answer);
    this.closeClient ||= !this.requestDone;
    this.host.write(httpErrorBytes(httpError, this.closeClient));
    this.count(httpError.status);
    this.host.exchangeDone(this.closeClient);
  }

  /** The request body cannot be framed: answer 400 if possible, and close either way. */
  private refuseBody(error: unknown): void {
    this.requestDone = true;
    this.closeClient = true;
    this.parts.logger.debug({ method: this.head.method, url: this.head.target, error: errorMessage(error) }, 'bad HTTP request from a client');
    if (this.headSent) {
      this.finished = true;
      this.channel?.destroy();
      this.count(this.status);
      this.host.cut();
      return;
    }
    this.finished = true;
    this.cancelWait?.();
    this.channel?.destroy();
    const httpError = toHttpError(new CheopsError(ErrorCode.HttpBadRequest, `invalid request body framing: ${errorMessage(error)}`));
    this.host.write(httpErrorBytes(httpError, true));
    this.count(httpError.status);
    this.host.exchangeDone(true);
  }

  private finish(): void {
    this.finished = true;
    const channel = this.channel;
    this.channel = undefined;
    if (channel !== undefined) {
      if (this.reusable && this.requestDone) channel.release();
      else channel.destroy();
    }
    this.count(this.status);
    this.host.exchangeDone(this.closeClient);
  }

  private count(status: number): void {
    if (this.mode !== 'forward') return;
    const { metrics, clock } = this.parts;
    metrics.ended('passthrough');
    metrics.finished('passthrough', this.head.method, status, (clock.now() - this.startMs) / 1000);
  }
}
