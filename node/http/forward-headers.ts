/**
 * Header rules of a forwarding proxy (RFC 9110 §7.6): hop-by-hop headers describe one connection
 * and stop here; everything else passes in its original spelling and order. Works on node's flat
 * `rawHeaders` arrays so that no header object is built on the hot path.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { scopeHeader } from './scope-carrier.js';

/**
 * Hop-by-hop headers, plus two that undici refuses in a request because it sets them itself
 * (`expect`: node already answered `100 Continue` to the client; `host` is kept, see below).
 */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

/** Headers the front adds or extends. */
const forwardedFor = 'x-forwarded-for';
const forwardedProto = 'x-forwarded-proto';
const forwardedHost = 'x-forwarded-host';

/** Header names listed in `Connection` are hop-by-hop too; usually there are none beyond the set. */
function connectionTokens(value: string | undefined): Set<string> | undefined {
  // What nearly every client sends: nothing to split (this runs on every request).
  if (value === undefined || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive') return undefined;
  let tokens: Set<string> | undefined;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive' && !hopByHop.has(name)) {
      (tokens ??= new Set()).add(name);
    }
  }
  return tokens;
}

/**
 * The headers to send to the local application for `req`, as a flat `[name, value, …]` list.
 * `Host` is kept as the client sent it, so applications that build links from it (OpenStack)
 * keep pointing clients at the front; `X-Forwarded-For` gets the client's address appended;
 * `X-Forwarded-Proto` and `X-Forwarded-Host` are set unless an earlier proxy set them. Names in
 * `keep` pass although hop-by-hop (the upgrade tunnel needs `Connection` and `Upgrade`).
 */
export function upstreamRequestHeaders(req: IncomingMessage, keep: ReadonlySet<string> = emptySet): string[] {
  const raw = req.rawHeaders;
  const listed = connectionTokens(req.headers.connection);
  const out: string[] = [];
  let xff: string | undefined;
  let hasProto = false;
  let hasHost = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if ((hopByHop.has(lower) && !keep.has(lower)) || lower === scopeHeader || listed?.has(lower) === true) continue;
    if (lower === forwardedFor) {
      xff = xff === undefined ? value : `${xff}, ${value}`;
      continue;
    }
    if (lower === forwardedProto) hasProto = true;
    else if (lower === forwardedHost) hasHost = true;
    out.push(name, value);
  }
  const client = req.socket.remoteAddress;
  if (client !== undefined) out.push('X-Forwarded-For', xff === undefined ? client : `${xff}, ${client}`);
  else if (xff !== undefined) out.push('X-Forwarded-For', xff);
  if (!hasProto) out.push('X-Forwarded-Proto', isEncrypted(req) ? 'https' : 'http');
  const host = req.headers.host;
  if (!hasHost && host !== undefined) out.push('X-Forwarded-Host', host);
  return out;
}

const emptySet: ReadonlySet<string> = new Set();

function isEncrypted(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true;
}

/**
 * The application's response headers minus hop-by-hop ones, as node's `writeHead` takes them.
 * `transfer-encoding` goes because node frames the body again for its own connection; the body
 * bytes, `content-length` and `content-encoding` are untouched.
 */
export function downstreamResponseHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const listed = connectionTokens(typeof headers.connection === 'string' ? headers.connection : undefined);
  const out: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (hopByHop.has(name) || listed?.has(name) === true) continue;
    out[name] = headers[name];
  }
  return out;
}

/**
 * The headers to send to the local application for a web request (`Front.fetch`): the same rules
 * as `upstreamRequestHeaders`, but there is no socket, so `X-Forwarded-For` passes as it came and
 * `Host` is the URL's authority when not given.
 */
export function webUpstreamHeaders(request: Request): Headers {
  const listed = connectionTokens(request.headers.get('connection') ?? undefined);
  const url = new URL(request.url);
  const out = new Headers();
  request.headers.forEach((value, name) => {
    if (hopByHop.has(name) || name === scopeHeader || listed?.has(name) === true) return;
    out.append(name, value);
  });
  const host = request.headers.get('host') ?? url.host;
  if (!out.has('host')) out.set('host', host);
  if (!out.has(forwardedProto)) out.set(forwardedProto, url.protocol === 'https:' ? 'https' : 'http');
  if (!out.has(forwardedHost)) out.set(forwardedHost, host);
  return out;
}

/**
 * The application's response headers minus hop-by-hop ones, as web Headers (`Front.fetch`); a
 * Response whose headers need no change is returned as it is.
 */
export function withoutHopByHop(response: Response): Response {
  const listed = connectionTokens(response.headers.get('connection') ?? undefined);
  let clean = true;
  response.headers.forEach((_value, name) => {
    if (hopByHop.has(name) || listed?.has(name) === true) clean = false;
  });
  if (clean) return response;
  const headers = new Headers();
  // Iteration yields each Set-Cookie on its own (Fetch's "sort and combine"), so they stay apart.
  response.headers.forEach((value, name) => {
    if (!hopByHop.has(name) && listed?.has(name) !== true) headers.append(name, value);
  });
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** True when the request carries a body: HTTP/1.1 says so by a length or a transfer coding. */
export function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
