import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { httpLocalApp, inProcessLocalApp, wrapLocalApp, type LocalApp } from './local-app.js';

interface Seen {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

const servers: Server[] = [];
const apps: LocalApp[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** An application on loopback that records each request and answers with `answer`. */
async function application(answer: (seen: Seen, res: ServerResponse) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const one = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(one);
      answer(one, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/base`, seen };
}

describe('httpLocalApp exchange', () => {
  it('sends the body whole with its length, under the base path, and reads the answer whole', async () => {
    const { url, seen } = await application((_, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"made":true}');
    });
    const app = httpLocalApp(url);
    apps.push(app);
    const headers = new Headers({ 'content-type': 'application/json', 'user-agent': 'kubectl', host: 'front:6443', 'content-length': '999' });
    const answer = await app.exchange({ method: 'POST', path: '/api/v1/pods?dryRun=All', headers, body: new TextEncoder().encode('{"a":1}') });
    expect(answer.status).toBe(201);
    expect(answer.statusText).toBe('Created');
    expect(new TextDecoder().decode(answer.body)).toBe('{"made":true}');
    expect(answer.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    const [request] = seen;
    expect(request).toMatchObject({ method: 'POST', url: '/base/api/v1/pods?dryRun=All', body: '{"a":1}' });
    // Its own length, not the one the client's request declared; no chunked framing.
    expect(request?.headers['content-length']).toBe('7');
    expect(request?.headers['transfer-encoding']).toBeUndefined();
    expect(request?.headers['user-agent']).toBe('kubectl');
  });

  it('asks for an uncompressed answer, and decodes one compressed anyway', async () => {
    const { url, seen } = await application((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync('{"kind":"Pod"}'));
    });
    const app = httpLocalApp(url);
    apps.push(app);
    const answer = await app.exchange({ method: 'GET', path: '/api/v1/pods/x', headers: new Headers({ 'accept-encoding': 'gzip' }) });
    expect(seen[0]?.headers['accept-encoding']).toBeUndefined();
    expect(new TextDecoder().decode(answer.body)).toBe('{"kind":"Pod"}');
    expect(answer.headers.get('content-encoding')).toBeNull();
  });

  it('gives up on an application that takes the call and never answers', async () => {
    const { url } = await application(() => undefined);
    const app = httpLocalApp(url, { callTimeoutMs: 200 });
    apps.push(app);
    const started = Date.now();
    await expect(app.exchange({ method: 'GET', path: '/api/v1/pods/x', headers: new Headers() })).rejects.toThrow(/timeout/i);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('rejects when the application cannot be reached', async () => {
    const app = httpLocalApp('http://127.0.0.1:1');
    apps.push(app);
    await expect(app.exchange({ method: 'GET', path: '/healthz', headers: new Headers() })).rejects.toThrow();
  });
});

describe('httpLocalApp fetch', () => {
  it('closes the upstream request when the signal given with the call aborts (a watch whose client left)', async () => {
    let closed = false;
    const { url } = await application((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED"}\n');
      res.on('close', () => (closed = true));
    });
    const app = httpLocalApp(url);
    apps.push(app);
    const client = new AbortController();
    // The Request itself carries no signal: only the one handed beside it can end the watch.
    const response = await app.fetch(new Request('http://local-application/api/v1/pods?watch=true'), client.signal);
    expect(response.status).toBe(200);
    client.abort();
    await expect.poll(() => closed, { timeout: 5_000 }).toBe(true);
  });
});

describe('wrapLocalApp', () => {
  it('sends both entries of the wrapped application through the wrapper', async () => {
    const inner = inProcessLocalApp(() => Promise.resolve(new Response('inner', { status: 200 })));
    const methods: string[] = [];
    const wrapped = wrapLocalApp(inner, async (request) => {
      methods.push(request.method);
      return request.method === 'DELETE' ? new Response('wrapped', { status: 202 }) : inner.fetch(request);
    });
    const answer = await wrapped.exchange({ method: 'DELETE', path: '/x', headers: new Headers() });
    expect(answer.status).toBe(202);
    expect(new TextDecoder().decode(answer.body)).toBe('wrapped');
    expect((await wrapped.fetch(new Request('http://app/x'))).status).toBe(200);
    expect(methods).toEqual(['DELETE', 'GET']);
  });
});
