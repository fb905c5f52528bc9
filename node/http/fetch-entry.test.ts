/**
 * `Front.fetch` does what the front does over a socket: the same requests, sent both ways to one
 * front whose application is in process, must get the same answers.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, MemoryLogger } from '../../core/index.js';
import { inProcessLocalApp } from '../local-app.js';
import { createFront } from './front.js';
import type { FrontCall } from './interceptor.js';
import { send, startFront, startUpstream, type TestFront } from './test-support.js';

/** The in-process application: echoes what reached it. */
async function application(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === '/broken') throw new Error('the stand-in fell over');
  return Response.json(
    {
      method: request.method,
      url: url.pathname + url.search,
      body: await request.text(),
      scope: request.headers.get('x-cheops-scope'),
      custom: request.headers.get('x-custom'),
      hop: request.headers.get('x-hop'),
      proto: request.headers.get('x-forwarded-proto'),
      forwardedHost: request.headers.get('x-forwarded-host'),
    },
    { headers: { 'x-app': 'standin' } },
  );
}

const calls: FrontCall[] = [];

async function interceptor(call: FrontCall): Promise<Response | undefined> {
  calls.push(call);
  if (call.path === '/throws') throw new Error('engine exploded');
  if (call.path !== '/taken') return undefined;
  const request = call.request();
  return Response.json(
    {
      scope: call.scope?.text ?? null,
      carrier: call.scope?.carrier ?? null,
      url: call.url,
      query: call.query,
      body: await request.text(),
      scopeHeader: call.headers['x-cheops-scope'] ?? null,
      custom: call.headers['x-custom'] ?? null,
    },
    { status: 201 },
  );
}

const deps = {
  app: inProcessLocalApp(application),
  interceptor,
  wants: (method: string, path: string) => method !== 'GET' || path === '/taken' || path === '/throws',
  ready: () => ({ ready: true }),
  admin: { 'GET /sites': () => Response.json({ items: [{ name: 'Site1' }] }) },
};

interface Case {
  readonly name: string;
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

const cases: readonly Case[] = [
  { name: 'liveness', path: '/livez' },
  { name: 'readiness', path: '/readyz' },
  { name: 'an admin route', path: '/cheops/v1/sites' },
  { name: 'an unknown admin route', path: '/cheops/v1/nothing' },
  { name: 'a malformed scope header', path: '/api/v1/pods', headers: { 'x-cheops-scope': '{Site1 &}' } },
  { name: 'a malformed scope prefix', path: '/scope/%7BSite1%20%26%7D/api/v1/pods' },
  { name: 'two different scopes', path: '/scope/%7BSite1%7D/api', headers: { 'x-cheops-scope': '{Site2}' } },
  { name: 'bad percent-encoding in the prefix', path: '/scope/%7BSite1%ZZ/api' },
  {
    name: 'a scoped write the interceptor takes',
    method: 'POST',
    path: '/scope/%7BSite1%7D/taken?dryRun=All',
    headers: { 'content-type': 'application/json', 'x-custom': 'c' },
    body: '{"kind":"Pod"}',
  },
  { name: 'an interceptor that throws', path: '/throws' },
  { name: 'a plain read (not offered)', path: '/api/v1/pods?watch=1&x=%2F', headers: { 'x-custom': 'c', connection: 'keep-alive, x-hop', 'x-hop': 'h' } },
  { name: 'a declined scoped write', method: 'PUT', path: '/api/v1/pods/p', headers: { 'x-cheops-scope': '{Site1}', 'content-type': 'text/plain' }, body: 'abc' },
  { name: 'a declined read under a scope prefix', path: '/scope/%7BSite1%7D/api/v1/secrets' },
  { name: 'a DELETE with a body', method: 'DELETE', path: '/api/v1/pods/p', headers: { 'content-type': 'application/json' }, body: '{"propagationPolicy":"Background"}' },
  { name: 'an application that fails', path: '/broken' },
];

/** What must be the same both ways: status, content type, and the body (parsed when JSON). */
interface Outcome {
  readonly status: number;
  readonly contentType: string | null;
  readonly app: string | null;
  readonly body: unknown;
}

function outcome(status: number, contentType: string | null, app: string | null, text: string): Outcome {
  const json = contentType?.includes('json') === true;
  return { status, contentType: contentType?.split(';')[0] ?? null, app, body: json ? (JSON.parse(text) as unknown) : text };
}

describe('Front.fetch against the socket', () => {
  let served: TestFront;

  beforeAll(async () => {
    served = await startFront(undefined, deps);
  });

  afterAll(async () => {
    await served.close();
  });

  it.each(cases)('answers $name the same way', async (c) => {
    const method = c.method ?? 'GET';
    const headers = { host: 'front.test', ...c.headers };
    calls.length = 0;
    const overSocket = await send(served.url, { method, path: c.path, headers, ...(c.body === undefined ? {} : { body: c.body }) });
    const socketCalls = calls.map((call) => `${call.method} ${call.url}`);
    calls.length = 0;
    const { host: _host, ...webHeaders } = headers;
    const inProcess = await served.front.fetch(
      new Request(`http://front.test${c.path}`, { method, headers: webHeaders, ...(c.body === undefined ? {} : { body: c.body }) }),
    );
    const fetchCalls = calls.map((call) => `${call.method} ${call.url}`);
    const socketOutcome = outcome(
      overSocket.status,
      overSocket.headers['content-type'] ?? null,
      (overSocket.headers['x-app'] as string | undefined) ?? null,
      overSocket.body.toString(),
    );
    expect(outcome(inProcess.status, inProcess.headers.get('content-type'), inProcess.headers.get('x-app'), await inProcess.text())).toEqual(socketOutcome);
    expect(fetchCalls).toEqual(socketCalls);
  });

  it('passes through with the forwarding rules: carrier and hop-by-hop headers gone, X-Forwarded-* set', async () => {
    const response = await served.front.fetch(
      new Request('http://front.test/scope/%7BSite1%7D/api/v1/pods?limit=1', { headers: { connection: 'x-hop', 'x-hop': '1', 'x-custom': 'c' } }),
    );
    expect(await response.json()).toEqual({
      method: 'GET',
      url: '/api/v1/pods?limit=1',
      body: '',
      scope: null,
      custom: 'c',
      hop: null,
      proto: 'http',
      forwardedHost: 'front.test',
    });
  });

  it('answers scope errors with a Status naming the column', async () => {
    const response = await served.front.fetch(new Request('http://front.test/api', { headers: { 'x-cheops-scope': 'Site1' } }));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest', details: { cheopsCode: ErrorCode.ScopeSyntax, column: 1 } });
  });

  it('counts its requests in the metrics like the socket does', async () => {
    const registry = new Registry();
    const front = createFront({ ...deps, logger: new MemoryLogger(), registry, clock: { now: () => 0 } });
    await front.fetch(new Request('http://front.test/api/v1/pods'));
    await front.fetch(new Request('http://front.test/taken', { method: 'POST', body: 'x' }));
    await front.fetch(new Request('http://front.test/livez'));
    const text = await registry.metrics();
    expect(text).toMatch(/cheops_http_requests_total\{kind="passthrough",method="GET",code="200"\} 1/);
    expect(text).toMatch(/cheops_http_requests_total\{kind="intercepted",method="POST",code="201"\} 1/);
    expect(text).toMatch(/cheops_http_requests_total\{kind="owned",method="GET",code="200"\} 1/);
    expect(text).toMatch(/cheops_http_request_duration_seconds_count\{kind="passthrough"\} 1/);
    await front.close();
  });

  it('refuses an upgrade over the socket when the application is in process', async () => {
    const response = await send(served.url, { path: '/api/v1/namespaces/d/pods/p/exec', headers: { connection: 'Upgrade', upgrade: 'SPDY/3.1' } }).catch(
      (error: unknown) => error,
    );
    // node's client reports a non-101 answer to an upgrade as a response or a socket hang-up, depending on timing.
    if (!(response instanceof Error)) expect((response as { status: number }).status).toBe(503);
  });
});

describe('Front.fetch with the application over HTTP', () => {
  it('forwards through the HTTP pool, bodies and headers as over a socket', async () => {
    const upstream = await startUpstream();
    const front = createFront({ upstream: upstream.url, logger: new MemoryLogger(), registry: new Registry(), clock: { now: () => 0 } });
    try {
      const response = await front.fetch(
        new Request('http://front.test/scope/%7BSite1%7D/api/v1/pods?x=1', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-custom': 'c' },
          body: '{"a":1}',
        }),
      );
      expect(response.status).toBe(200);
      const seen = (await response.json()) as { method: string; url: string; headers: Record<string, string> };
      expect(seen).toMatchObject({ method: 'POST', url: '/api/v1/pods?x=1' });
      expect(seen.headers).toMatchObject({ host: 'front.test', 'x-custom': 'c', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'front.test' });
      expect(seen.headers['x-cheops-scope']).toBeUndefined();
    } finally {
      await front.close();
      await upstream.close();
    }
  });

  it('answers 503 with a Status when the application is down', async () => {
    const down = await startUpstream();
    await down.close();
    const logger = new MemoryLogger();
    const front = createFront({ upstream: down.url, logger, registry: new Registry(), clock: { now: () => 0 } });
    try {
      const response = await front.fetch(new Request('http://front.test/api/v1/pods'));
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable' });
      expect(logger.find('local application unreachable')).toHaveLength(1);
    } finally {
      await front.close();
    }
  });

  it('needs an application: a URL or a LocalApp', () => {
    expect(() => createFront({ logger: new MemoryLogger(), registry: new Registry(), clock: { now: () => 0 } })).toThrow(/needs the local application/);
  });
});

describe('a malformed scope on a request no scope applies to', () => {
  const front = createFront({
    app: inProcessLocalApp(application),
    logger: new MemoryLogger(),
    registry: new Registry(),
    clock: { now: () => 0 },
    scopeFree: (method, path) => method === 'GET' && (path === '/api' || path.startsWith('/openapi/')),
  });
  const badScope = encodeURIComponent('{Site1 &&}');

  it('lets discovery through, scope removed, so the client reaches the call that shows the 400', async () => {
    const response = await front.fetch(new Request(`http://front/scope/${badScope}/api`));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ method: 'GET', url: '/api', scope: null });
  });

  it('still refuses the scoped call itself with a 400 naming the column', async () => {
    const response = await front.fetch(new Request(`http://front/scope/${badScope}/api/v1/namespaces/default/pods`, { method: 'POST', body: '{}' }));
    expect(response.status).toBe(400);
    const status = (await response.json()) as { message: string; details: { cheopsCode: string } };
    expect(status.details.cheopsCode).toBe(ErrorCode.ScopeSyntax);
    expect(status.message).toMatch(/column 8/);
  });

  it('refuses a write to a discovery path under a malformed scope', async () => {
    const response = await front.fetch(new Request(`http://front/scope/${badScope}/api`, { method: 'POST', body: '{}' }));
    expect(response.status).toBe(400);
  });
});
