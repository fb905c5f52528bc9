import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLogger } from '../../core/logger.js';
import { readRequestBody, sendWebResponse, wholeResponse } from './web-bridge.js';

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A server answering each request with what readRequestBody made of its body (limit 10 bytes). */
async function bodyServer(): Promise<number> {
  const server = createServer((req, res) => {
    readRequestBody(req, 10).then(
      (body) => res.end(body === undefined ? 'too large' : `read ${Buffer.from(body).toString()}`),
      (error: unknown) => res.end(`failed ${String(error)}`),
    );
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Sends `pieces` as a chunked body and resolves with the answer. */
function post(port: number, pieces: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    req.on('error', reject);
    for (const piece of pieces) req.write(piece);
    req.end();
  });
}

describe('readRequestBody', () => {
  it('reads a body sent in pieces whole, and an absent one as empty', async () => {
    const port = await bodyServer();
    expect(await post(port, ['{"a"', ':1}'])).toBe('read {"a":1}');
    expect(await post(port, [])).toBe('read ');
  });

  it('stops at the limit and still lets the answer go out', async () => {
    const port = await bodyServer();
    expect(await post(port, ['0123456789', 'abc'])).toBe('too large');
  });
});

describe('wholeResponse', () => {
  it('goes out with its head in one piece, its body never read as a stream', async () => {
    const sent: Response[] = [];
    const server = createServer((_req, res) => {
      const body = new TextEncoder().encode('{"kind":"Pod"}');
      const response = wholeResponse(body, { status: 201, headers: { 'content-type': 'application/json', 'content-length': String(body.length) } });
      sent.push(response);
      void sendWebResponse(res, response, new MemoryLogger());
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const answer = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    expect(answer.status).toBe(201);
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect(answer.headers.get('content-length')).toBe('14');
    expect(await answer.text()).toBe('{"kind":"Pod"}');
    expect(sent[0]?.bodyUsed).toBe(false);
  });

  it('is an ordinary Response to anyone else', async () => {
    const response = wholeResponse(new TextEncoder().encode('hello'), { status: 200 });
    expect(await response.text()).toBe('hello');
    expect(wholeResponse(null, { status: 204 }).body).toBeNull();
  });
});
