/**
 * The engine's view (FrontCall) of a request read by the raw path, whose whole body came with its
 * head: headers as node:http would have parsed them, the web Request built only if asked.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '../../../core/index.js';
import type { FrontCall, RequestScope } from '../interceptor.js';
import { pathOf } from '../request-scope.js';
import { scopeHeader } from '../scope-carrier.js';
import { fieldValue } from './head-syntax.js';
import type { RequestHead } from './request-head.js';

/** Headers node:http keeps the first of when repeated (its `matchKnownFields`); others are joined. */
const firstWins: ReadonlySet<string> = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after',
  'server', 'user-agent',
]);

/** Calls `visit` with each field line's name (as sent) and value, in order. */
export function forEachField(head: RequestHead, visit: (name: string, value: string) => void): void {
  const { text } = head;
  for (let pos = head.fieldsStart; pos < text.length; ) {
    const colon = text.indexOf(':', pos);
    if (colon === -1) return;
    const next = text.indexOf('\r\n', colon) + 2;
    visit(text.slice(pos, colon), fieldValue(text, colon, next - 2));
    pos = next;
  }
}

/** The head's headers as node:http's `req.headers`: lower-case names, repeats merged its way. */
export function nodeStyleHeaders(head: RequestHead, skip: string): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  forEachField(head, (rawName, value) => {
    const name = rawName.toLowerCase();
    // `__proto__` would set the object's prototype, not a header: node:http drops it too.
    if (name === skip || name === '__proto__') return;
    const previous = Object.hasOwn(out, name) ? out[name] : undefined;
    if (name === 'set-cookie') {
      if (previous === undefined) out[name] = [value];
      else (previous as string[]).push(value);
    } else if (previous === undefined) out[name] = value;
    else if (!firstWins.has(name)) out[name] = `${previous as string}${name === 'cookie' ? '; ' : ', '}${value}`;
  });
  return out;
}

export class RawFrontCall implements FrontCall {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  /** True once `request()` or `readBody()` handed the body out. */
  bodyTaken = false;
  private parsedHeaders: IncomingHttpHeaders | undefined;
  /** Made on first use of `signal`: most calls never look at it. */
  private controller: AbortController | undefined;
  private gone = false;

  constructor(
    private readonly head: RequestHead,
    readonly url: string,
    readonly scope: RequestScope | undefined,
    /** The whole body, or undefined when the request has none. */
    private readonly body: Uint8Array | undefined,
    readonly logger: Logger,
  ) {
    this.method = head.method;
    this.path = pathOf(url);
    this.query = url.length === this.path.length ? '' : url.slice(this.path.length + 1);
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.gone) this.controller.abort(clientGone());
    }
    return this.controller.signal;
  }

  /** The client went away before the answer was complete. */
  clientLeft(): void {
    this.gone = true;
    this.controller?.abort(clientGone());
  }

  get headers(): IncomingHttpHeaders {
    this.parsedHeaders ??= nodeStyleHeaders(this.head, scopeHeader);
    return this.parsedHeaders;
  }

  request(): Request {
    this.bodyTaken = true;
    const headers = new Headers();
    forEachField(this.head, (name, value) => {
      if (name.length !== scopeHeader.length || name.toLowerCase() !== scopeHeader) headers.append(name, value);
    });
    const init: RequestInit = { method: this.method, headers, signal: this.signal };
    if (this.body !== undefined && this.method !== 'GET' && this.method !== 'HEAD') init.body = this.body;
    return new Request(`http://${this.head.host ?? 'localhost'}${this.url}`, init);
  }

  readBody(maxBytes: number): Promise<Uint8Array | undefined> {
    this.bodyTaken = true;
    const body = this.body ?? new Uint8Array();
    return Promise.resolve(body.length > maxBytes ? undefined : body);
  }
}

function clientGone(): Error {
  return new DOMException('the client closed the connection', 'AbortError');
}
