/**
 * A request the collaboration engine may take (a scope carrier, or one `wants` accepts), answered
 * by the raw path itself: its scope read and removed, the request offered to the interceptor, and
 * the interceptor's web Response written straight to the client. What the interceptor declines
 * goes to the application as raw passthrough (exchange.ts, `forward`).
 *
 * Only a request whose whole body came with its head comes here (the client connection checks;
 * an API call's body nearly always does); one whose body is still coming goes over the in-memory
 * channel to node:http (router.ts), which takes the same steps with a streamed body. Why not
 * node:http for all: for a scoped create, its parser, its request and response objects and the
 * channel between were ~0.45 ms of a ~8 ms create (bench/local-first.ts).
 */
import { STATUS_CODES } from 'node:http';
import { errorMessage } from '../../../core/index.js';
import { failureLogLevel, httpErrorBytes, toHttpError } from '../errors.js';
import { declinedAfterReading, isOffered, type InterceptFilter, type Interceptor } from '../interceptor.js';
import type { RequestKind } from '../metrics.js';
import { resolveScope, type ScopeFreeFilter } from '../request-scope.js';
import { scopeHeader } from '../scope-carrier.js';
import { wholeAnswerOf } from '../web-bridge.js';
import { Exchange, type ClientExchange, type ExchangeHost, type ExchangeParts } from './exchange.js';
import { hopByHop } from './head-syntax.js';
import { RawFrontCall } from './raw-front-call.js';
import { headerReader, headerValue, type RequestHead } from './request-head.js';
import { upstreamRequestHead, type ClientOrigin } from './upstream-head.js';

/** What the raw path hands to the engine. */
export interface InterceptParts {
  readonly interceptor: Interceptor | undefined;
  readonly wants: InterceptFilter | undefined;
  readonly scopeFree: ScopeFreeFilter | undefined;
}

export interface InterceptedExchangeParts extends ExchangeParts {
  readonly intercept: InterceptParts;
  /** The application's base path, prefixed to a forwarded target. */
  readonly targetPrefix: string;
}

const lastChunk = '0\r\n\r\n';

export class InterceptedExchange implements ClientExchange {
  readonly wantsBody = false;
  private call: RawFrontCall | undefined;
  private readonly startMs: number;
  private readonly closeClient: boolean;
  /** Set when the request was declined: that exchange has the client from then on. */
  private forward: Exchange | undefined;
  private kind: RequestKind | undefined;
  private status = 0;
  private headSent = false;
  private finished = false;
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private onDrain: (() => void) | undefined;

  constructor(
    private readonly host: ExchangeHost,
    private readonly head: RequestHead,
    /** The whole request body (a copy), or undefined when there is none. */
    private readonly body: Buffer | undefined,
    private readonly origin: ClientOrigin,
    private readonly parts: InterceptedExchangeParts,
  ) {
    this.startMs = parts.clock.now();
    this.closeClient = !head.keepAlive;
  }

  start(): void {
    this.run().catch((error: unknown) => this.fail(error));
  }

  requestData(_bytes: Buffer, from: number): number {
    // The whole body came with the head: whatever follows is the next request.
    return from;
  }

  onClientDrain(): void {
    this.forward?.onClientDrain();
    const resume = this.onDrain;
    this.onDrain = undefined;
    resume?.();
  }

  abort(): void {
    if (this.forward !== undefined) {
      this.forward.abort();
      return;
    }
    if (this.finished) return;
    this.finished = true;
    this.call?.clientLeft();
    this.reader?.cancel().catch(() => undefined);
    this.onDrain?.();
    if (this.kind !== undefined) this.count(this.headSent ? this.status : 499);
  }

  private async run(): Promise<void> {
    const { head, parts } = this;
    const { interceptor, wants, scopeFree } = parts.intercept;
    const scoped = resolveScope(head.method, head.target, headerValue(head, scopeHeader) ?? undefined, parts.logger, scopeFree);
    if (!scoped.ok) {
      this.answerError(scoped.error);
      return;
    }
    const call = new RawFrontCall(head, scoped.url, scoped.scope, this.body, parts.logger);
    this.call = call;
    let offered = false;
    if (interceptor !== undefined) {
      try {
        offered = isOffered(scoped.scope, wants, head.method, call.path, headerReader(head));
      } catch (error) {
        this.interceptFailed(scoped.url, error);
        return;
      }
    }
    if (!offered) {
      this.passThrough(scoped.url);
      return;
    }
    let response: Response | undefined;
    try {
      response = await (interceptor as Interceptor)(call);
    } catch (error) {
      if (!this.finished) this.interceptFailed(scoped.url, error);
      return;
    }
    if (this.finished) {
      // The client left while the engine worked: counted as the router counts it, 499.
      if (response !== undefined) {
        this.kind = 'intercepted';
        this.parts.metrics.started('intercepted');
        this.count(499);
      }
      await response?.body?.cancel().catch(() => undefined);
      return;
    }
    if (response !== undefined) {
      this.kind = 'intercepted';
      this.parts.metrics.started('intercepted');
      await this.send(response);
    } else if (call.bodyTaken && this.body !== undefined) {
      this.answerError(declinedAfterReading());
    } else {
      this.passThrough(scoped.url);
    }
  }

  /** Hands the request, its scope carrier removed, to a raw passthrough exchange. */
  private passThrough(url: string): void {
    const { head, parts, host } = this;
    const outgoing = upstreamRequestHead(url === head.target ? head : { ...head, target: url }, parts.targetPrefix, this.origin);
    const exchange = new Exchange(host, head, outgoing, 'forward', parts);
    this.forward = exchange;
    exchange.start(this.body ?? Buffer.alloc(0), 0);
  }

  private interceptFailed(url: string, error: unknown): void {
    this.parts.logger[failureLogLevel(error)]({ method: this.head.method, url, error: errorMessage(error) }, 'interceptor failed');
    this.answerError(error);
  }

  /** Answers `error` (a Status object); the request counts as intercepted, as the router counts it. */
  private answerError(error: unknown): void {
    if (this.finished) return;
    if (this.kind === undefined) {
      this.kind = 'intercepted';
      this.parts.metrics.started('intercepted');
    }
    const httpError = toHttpError(error);
    this.status = httpError.status;
    this.headSent = true;
    this.host.write(httpErrorBytes(httpError, this.closeClient));
    this.done();
  }

  /** Writes `response`: a body known whole with its head in one write, a stream chunk by chunk. */
  private async send(response: Response): Promise<void> {
    const { head, host } = this;
    const status = response.status;
    const bodiless = head.method === 'HEAD' || status === 204 || status === 304 || status < 200;
    // Known whole: neither `body` nor `statusText` is even looked at (see wholeResponse).
    const whole = wholeAnswerOf(response);
    const statusText = whole === undefined ? response.statusText : whole.statusText;
    let text = `HTTP/1.1 ${status} ${statusText === '' ? (STATUS_CODES[status] ?? 'Unknown') : statusText}\r\n`;
    text += responseFields(response, bodiless);
    // Wall time, as node:http writes it (the injected clock is for durations).
    text += `date: ${new Date().toUTCString()}\r\n`;
    if (this.closeClient) text += 'connection: close\r\n';
    this.status = status;
    this.headSent = true;
    if (bodiless || whole !== undefined || response.body === null) {
      if (bodiless && whole === undefined) await response.body?.cancel().catch(() => undefined);
      const bytes = bodiless ? undefined : (whole?.body ?? undefined);
      host.writeHead(bodiless ? `${text}\r\n` : `${text}content-length: ${bytes?.length ?? 0}\r\n\r\n`, bytes);
      this.done();
      return;
    }
    host.write(`${text}transfer-encoding: chunked\r\n\r\n`);
    // undici types a Response body as ReadableStream<any>; bodies are bytes.
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    this.reader = reader;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (this.finished) return;
        if (done) break;
        if (value.length === 0) continue;
        const frame = Buffer.allocUnsafe(value.length + 16);
        const size = frame.write(`${value.length.toString(16)}\r\n`, 0, 'latin1');
        frame.set(value, size);
        frame.write('\r\n', size + value.length, 'latin1');
        if (!host.write(frame.subarray(0, size + value.length + 2))) await new Promise<void>((resolve) => (this.onDrain = resolve));
        if (this.finished) return;
      }
      host.write(lastChunk);
      this.done();
    } catch (error) {
      if (this.finished) return;
      this.parts.logger.warn({ method: head.method, url: head.target, error: errorMessage(error) }, 'response body failed midway; cutting the answer');
      this.finished = true;
      this.count(status);
      host.cut();
    }
  }

  /** The run failed outside the interceptor (a bug): answer 500 if nothing was sent, else cut. */
  private fail(error: unknown): void {
    if (this.finished || this.forward !== undefined) return;
    this.parts.logger.error({ method: this.head.method, url: this.head.target, error: errorMessage(error) }, 'front failed to answer');
    if (!this.headSent) {
      this.answerError(error);
      return;
    }
    this.finished = true;
    if (this.kind !== undefined) this.count(this.status);
    this.host.cut();
  }

  private done(): void {
    this.finished = true;
    if (this.kind !== undefined) this.count(this.status);
    this.host.exchangeDone(this.closeClient);
  }

  private count(status: number): void {
    const kind = this.kind as RequestKind;
    const { metrics, clock } = this.parts;
    metrics.ended(kind);
    metrics.finished(kind, this.head.method, status, (clock.now() - this.startMs) / 1000);
  }
}

/**
 * The response's header lines, less those the front writes itself: hop-by-hop ones and the
 * framing (`transfer-encoding`; `content-length` but on a bodiless answer, where it describes
 * the resource).
 */
function responseFields(response: Response, bodiless: boolean): string {
  let out = '';
  response.headers.forEach((value, name) => {
    if (hopByHop.has(name) || name === 'transfer-encoding' || name === 'set-cookie' || (name === 'content-length' && !bodiless)) return;
    out += `${name}: ${value}\r\n`;
  });
  for (const cookie of response.headers.getSetCookie()) out += `set-cookie: ${cookie}\r\n`;
  return out;
}
