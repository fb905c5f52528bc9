import { describe, expect, it } from 'vitest';
import { parseRequestHead, headerValue, type RequestHead } from './request-head.js';
import { clientResponseHead, parseResponseHead, type ResponseHead } from './response-head.js';
import { upstreamRequestHead } from './upstream-head.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

function head(text: string): RequestHead {
  const parsed = parseRequestHead(bytes(text), 0, 16 * 1024);
  if (parsed.kind !== 'head') throw new Error(`expected a head, got ${JSON.stringify(parsed)}`);
  return parsed;
}

function refused(text: string, maxBytes = 16 * 1024): { status: number; message: string } {
  const parsed = parseRequestHead(bytes(text), 0, maxBytes);
  if (parsed.kind !== 'error') throw new Error(`expected a refusal, got ${parsed.kind}`);
  return { status: parsed.status, message: parsed.message };
}

describe('request heads', () => {
  it('reads method, target, version, framing and connection options', () => {
    const parsed = head('POST /api/v1/pods?dryRun=All HTTP/1.1\r\nHost: h:1\r\nContent-Length: 12\r\nConnection: close\r\n\r\nbody');
    expect(parsed).toMatchObject({
      method: 'POST',
      target: '/api/v1/pods?dryRun=All',
      minor: 1,
      framing: { kind: 'length', length: 12 },
      keepAlive: false,
      upgrade: false,
      scoped: false,
      host: 'h:1',
    });
    expect(parsed.length).toBe(parsed.text.length + 2);
  });

  it('waits for the rest of a head', () => {
    expect(parseRequestHead(bytes('GET / HTTP/1.1\r\nHost: h\r\n'), 0, 1024).kind).toBe('incomplete');
  });

  it('reads chunked framing, Expect, upgrades and the scope header', () => {
    expect(head('PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\nExpect: 100-continue\r\n\r\n')).toMatchObject({
      framing: { kind: 'chunked' },
      expect: 'continue',
    });
    expect(head('GET /x HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n').upgrade).toBe(true);
    expect(head('GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: SPDY/3.1\r\n\r\n').upgrade).toBe(false);
    expect(head('GET /x HTTP/1.1\r\nHost: h\r\nx-cheops-scope: {A}\r\n\r\n').scoped).toBe(true);
    expect(head('GET /x HTTP/1.1\r\nHost: h\r\nExpect: something\r\n\r\n').expect).toBe('other');
  });

  it('keeps HTTP/1.0 connections only when asked, and skips empty lines before a request', () => {
    expect(head('GET / HTTP/1.0\r\n\r\n')).toMatchObject({ minor: 0, keepAlive: false });
    expect(head('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n').keepAlive).toBe(true);
    const after = head('\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(after.method).toBe('GET');
    expect(after.length).toBe('\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n'.length);
  });

  it('finds header values case-insensitively, repeated ones joined', () => {
    const parsed = head('GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a:  2 \r\nContent-Type: application/json\r\n\r\n');
    expect(headerValue(parsed, 'X-A')).toBe('1, 2');
    expect(headerValue(parsed, 'content-type')).toBe('application/json');
    expect(headerValue(parsed, 'missing')).toBeNull();
  });

  it.each([
    ['both Content-Length and Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    ['two Content-Lengths', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n', 400],
    ['a Content-Length list', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n', 400],
    ['a signed Content-Length', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n', 400],
    ['two Transfer-Encodings', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    ['chunked not last', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', 400],
    ['an unknown coding before chunked', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501],
    ['Transfer-Encoding in HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n', 400],
    ['a space before the colon', 'GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n', 400],
    ['a bare CR in a value', 'GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r2\r\n\r\n', 400],
    ['a bare LF inside the head', 'GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\nX-B: 2\r\n\r\n', 400],
    ['a NUL in a value', 'GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x00b\r\n\r\n', 400],
    ['an empty header name', 'GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n', 400],
    ['no Host in HTTP/1.1', 'GET / HTTP/1.1\r\nX-A: 1\r\n\r\n', 400],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
    ['a request line without version', 'GET /\r\nHost: h\r\n\r\n', 400],
    ['a request line with two spaces', 'GET  / HTTP/1.1\r\nHost: h\r\n\r\n', 400],
    ['a space in the target', 'GET /a b HTTP/1.1\r\nHost: h\r\n\r\n', 400],
    ['a bad method', 'G(T / HTTP/1.1\r\nHost: h\r\n\r\n', 400],
    ['a lower-case version', 'GET / http/1.1\r\nHost: h\r\n\r\n', 400],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: h\r\n\r\n', 505],
    ['garbage', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n', 400],
  ])('refuses %s', (_what, text, status) => {
    expect(refused(text).status).toBe(status);
  });

  it('refuses a head larger than the limit with 431, complete or not', () => {
    const big = `GET / HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`;
    expect(refused(big, 1024).status).toBe(431);
    expect(refused(big.slice(0, 1500), 1024).status).toBe(431);
  });

  it('refuses lines ending in a bare LF before the head is complete', () => {
    expect(refused('GET / HTTP/1.1\nHost: h\n').status).toBe(400);
  });
});

describe('the head sent to the application', () => {
  const origin = { address: '10.0.0.9', encrypted: false };

  it('keeps end-to-end lines as sent, drops hop-by-hop and listed ones, extends X-Forwarded-*', () => {
    const parsed = head(
      'GET /api?x=1 HTTP/1.1\r\nHost: site:6443\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n' +
        'X-Custom:  spaced \r\nTE: trailers\r\nX-Forwarded-For: 10.0.0.1\r\nx-forwarded-for: 10.0.0.2\r\nProxy-Authorization: x\r\n\r\n',
    );
    expect(upstreamRequestHead(parsed, '/prefix', origin)).toBe(
      'GET /prefix/api?x=1 HTTP/1.1\r\nHost: site:6443\r\nX-Custom:  spaced \r\n' +
        'X-Forwarded-For: 10.0.0.1, 10.0.0.2, 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: site:6443\r\n\r\n',
    );
  });

  it('keeps the framing headers of a body and an earlier proxy\'s X-Forwarded-Proto and -Host', () => {
    const parsed = head('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: outer\r\nExpect: 100-continue\r\n\r\n');
    expect(upstreamRequestHead(parsed, '', origin)).toBe(
      'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: outer\r\nX-Forwarded-For: 10.0.0.9\r\n\r\n',
    );
  });
});

function response(text: string, method = 'GET'): ResponseHead {
  const parsed = parseResponseHead(bytes(text), 0, 64 * 1024, method);
  if (parsed.kind !== 'head') throw new Error(`expected a head, got ${JSON.stringify(parsed)}`);
  return parsed;
}

describe('response heads', () => {
  it.each([
    ['a length', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', 'GET', 'length', 10],
    ['chunks', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'GET', 'chunked', 0],
    ['neither (until close)', 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n', 'GET', 'close', 0],
    ['an unknown coding (until close)', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', 'GET', 'close', 0],
    ['a HEAD answer', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', 'HEAD', 'length', 0],
    ['a 204', 'HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n', 'GET', 'length', 0],
    ['a 304', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n', 'GET', 'length', 0],
    ['a 1xx', 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n', 'GET', 'length', 0],
    ['two equal lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n', 'GET', 'length', 3],
  ])('frames a body by %s', (_what, text, method, bodyKind, bodyLength) => {
    expect(response(text, method)).toMatchObject({ bodyKind, bodyLength });
  });

  it.each([
    ['both framings', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['conflicting lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n'],
    ['a bad status line', 'HTTP/1.1 2000 OK\r\n\r\n'],
    ['not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n'],
    ['a malformed header', 'HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n'],
  ])('refuses %s with 502', (_what, text) => {
    const parsed = parseResponseHead(bytes(text), 0, 64 * 1024, 'GET');
    expect(parsed.kind === 'error' && parsed.status).toBe(502);
  });

  it('writes the client head: HTTP/1.1, hop-by-hop and listed headers out, framing kept', () => {
    const parsed = response(
      'HTTP/1.0 418 I Am A Teapot\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nSet-Cookie: a=1\r\nTransfer-Encoding: chunked\r\nSet-Cookie: b=2\r\n\r\n',
    );
    expect(clientResponseHead(parsed, false)).toBe('HTTP/1.1 418 I Am A Teapot\r\nSet-Cookie: a=1\r\nTransfer-Encoding: chunked\r\nSet-Cookie: b=2\r\n\r\n');
    expect(clientResponseHead(response('HTTP/1.1 200\r\n\r\n'), true)).toBe('HTTP/1.1 200\r\nConnection: close\r\n\r\n');
  });
});
