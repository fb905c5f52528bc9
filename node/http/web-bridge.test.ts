import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readRequestBody } from './web-bridge.js';

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
