import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { CheopsError, ErrorCode } from '../../core/index.js';
import type { FrontCall } from './interceptor.js';
import { readScopeCarrier } from './scope-carrier.js';
import { frontOverEcho, send, startFront } from './test-support.js';

describe('readScopeCarrier', () => {
  it('leaves a request without a scope alone', () => {
    expect(readScopeCarrier('/api/v1/pods?watch=true', undefined)).toEqual({
      ok: true,
      value: { url: '/api/v1/pods?watch=true', source: undefined },
    });
  });

  it('reads the header', () => {
    expect(readScopeCarrier('/api/v1/pods', '{Site1 & Site2}')).toEqual({
      ok: true,
      value: { url: '/api/v1/pods', source: { text: '{Site1 & Site2}', carrier: 'header' } },
    });
  });

  it.each([
    ['/scope/%7BSite1%26Site2%7D/api/v1/pods', '{Site1&Site2}', '/api/v1/pods'],
    ['/scope/%7BSite1%20%26%20Site2%7D/api/v1/pods?watch=1', '{Site1 & Site2}', '/api/v1/pods?watch=1'],
    ['/scope/{Site1}/version', '{Site1}', '/version'],
    ['/scope/%7Bpods%3A%20Site1%2C%20secrets%3A%20Site2%7D/api', '{pods: Site1, secrets: Site2}', '/api'],
    ['/scope/%7BSite1%7D', '{Site1}', '/'],
    ['/scope/%7BSite1%7D?x=1', '{Site1}', '/?x=1'],
    ['/scope/%7BSite1%7D/api/v1/namespaces/a%2Fb', '{Site1}', '/api/v1/namespaces/a%2Fb'],
  ])('strips the path prefix of %s', (url, text, rest) => {
    expect(readScopeCarrier(url, undefined)).toEqual({ ok: true, value: { url: rest, source: { text, carrier: 'path' } } });
  });

  it('accepts the same scope in both places, refuses two different ones', () => {
    expect(readScopeCarrier('/scope/%7BSite1%7D/api', '{Site1}').ok).toBe(true);
    const both = readScopeCarrier('/scope/%7BSite1%7D/api', '{Site2}');
    expect(both.ok).toBe(false);
    if (!both.ok) expect(both.error.code).toBe(ErrorCode.ScopeInvalid);
  });

  it('refuses bad percent-encoding in the path', () => {
    const result = readScopeCarrier('/scope/%7BSite1%ZZ/api', undefined);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe(ErrorCode.HttpBadRequest);
  });
});

describe('scopes through the front', () => {
  const calls: FrontCall[] = [];
  const bench = frontOverEcho(
    {
      interceptor: (call) => {
        calls.push(call);
        if (call.path === '/taken') {
          return Response.json({ scope: call.scope?.text, path: call.path, query: call.query, headers: call.headers }, { status: 201 });
        }
        return undefined;
      },
    },
    {},
    () => {
      calls.length = 0;
    },
  );

  it('strips the X-Cheops-Scope header before forwarding, and hands the parsed scope over', async () => {
    const res = await send(bench.front.url, { path: '/api/v1/pods', headers: { 'X-Cheops-Scope': '{Site1 & Site2}' } });
    expect(res.status).toBe(200);
    expect(bench.upstream.seen[0]?.headers['x-cheops-scope']).toBeUndefined();
    expect(bench.upstream.seen[0]?.rawHeaders.map((h) => h.toLowerCase())).not.toContain('x-cheops-scope');
    expect(calls[0]?.scope?.carrier).toBe('header');
    expect(calls[0]?.scope?.scope.bindings).toHaveLength(1);
    expect(calls[0]?.headers['x-cheops-scope']).toBeUndefined();
    expect(bench.front.logger.find('scoped request').at(-1)?.fields).toMatchObject({ scope: '{Site1 & Site2}', carrier: 'header' });
  });

  it('strips the /scope/ path prefix before forwarding (kubectl --server prefix)', async () => {
    const res = await send(bench.front.url, { path: '/scope/%7BSite1%26Site2%7D/api/v1/pods?limit=1' });
    expect(res.status).toBe(200);
    expect(bench.upstream.seen[0]?.url).toBe('/api/v1/pods?limit=1');
    expect(calls[0]).toMatchObject({ url: '/api/v1/pods?limit=1', path: '/api/v1/pods', query: 'limit=1' });
    expect(calls[0]?.scope).toMatchObject({ text: '{Site1&Site2}', carrier: 'path' });
  });

  it('lets the interceptor answer with the scope and the stripped path', async () => {
    const res = await send(bench.front.url, { method: 'POST', path: '/scope/%7BSite1%7D/taken?dryRun=All', body: '{}', headers: { 'x-other': 'y' } });
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body.toString())).toMatchObject({ scope: '{Site1}', path: '/taken', query: 'dryRun=All', headers: { 'x-other': 'y' } });
    expect(bench.upstream.seen).toHaveLength(0);
    expect(await bench.front.registry.metrics()).toMatch(/cheops_http_requests_total\{kind="intercepted",method="POST",code="201"\} 1/);
  });

  it.each([
    ['header', { path: '/api/v1/pods', headers: { 'X-Cheops-Scope': '{Site1 &}' } }, 9],
    ['path prefix', { path: '/scope/%7BSite1%20%26%7D/api/v1/pods' }, 9],
    ['header', { path: '/api/v1/pods', headers: { 'X-Cheops-Scope': 'Site1' } }, 1],
  ])('answers 400 naming the column for a malformed scope in the %s', async (_carrier, request, column) => {
    const res = await send(bench.front.url, request);
    expect(res.status).toBe(400);
    const status = JSON.parse(res.body.toString()) as Record<string, unknown>;
    expect(status).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'BadRequest', code: 400 });
    expect(status['message']).toContain(`column ${column}`);
    expect(status['details']).toMatchObject({ cheopsCode: ErrorCode.ScopeSyntax, column });
    expect(bench.upstream.seen).toHaveLength(0);
    expect(calls).toHaveLength(0);
    expect(bench.front.logger.find('malformed scope').length).toBeGreaterThan(0);
  });

  it('answers 400 for two different scopes', async () => {
    const res = await send(bench.front.url, { path: '/scope/%7BSite1%7D/api', headers: { 'X-Cheops-Scope': '{Site2}' } });
    expect(res.status).toBe(400);
    expect(res.body.toString()).toContain('two different scopes');
  });

  it('answers a throwing interceptor through the error mapper', async () => {
    const failing = await startFront(bench.upstream.url, {
      interceptor: () => Promise.reject(new Error('engine exploded')),
    });
    try {
      const res = await send(failing.url, { path: '/api/v1/pods' });
      expect(res.status).toBe(500);
      expect(JSON.parse(res.body.toString())).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
      expect(failing.logger.find('interceptor failed').map((entry) => entry.level)).toEqual(['error']);
    } finally {
      await failing.close();
    }
  });

  it('logs an expected failure (a scope out of reach) as a warning, and answers 503', async () => {
    const failing = await startFront(bench.upstream.url, {
      interceptor: () => Promise.reject(new CheopsError(ErrorCode.SiteUnreachable, 'no site of the scope could take the request')),
    });
    try {
      const res = await send(failing.url, { path: '/api/v1/pods' });
      expect(res.status).toBe(503);
      expect(JSON.parse(res.body.toString())).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable', code: 503 });
      expect(failing.logger.find('interceptor failed').map((entry) => entry.level)).toEqual(['warn']);
    } finally {
      await failing.close();
    }
  });

  it('passes through after an asynchronous interceptor declines, body intact', async () => {
    const slow = await startFront(bench.upstream.url, { interceptor: () => Promise.resolve(undefined) });
    bench.upstream.handler = (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => res.end(Buffer.concat(chunks)));
    };
    try {
      const res = await send(slow.url, { method: 'POST', path: '/api/v1/pods', body: 'payload' });
      expect(res.body.toString()).toBe('payload');
    } finally {
      await slow.close();
    }
  });

  it('aborts the call signal when the client leaves while the interceptor works', async () => {
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    let abortedWith!: (name: string) => void;
    const aborted = new Promise<string>((resolve) => (abortedWith = resolve));
    const waiting = await startFront(bench.upstream.url, {
      interceptor: (call) =>
        new Promise<Response>((_resolve, reject) => {
          call.signal.addEventListener('abort', () => {
            abortedWith((call.signal.reason as Error).name);
            reject(call.signal.reason as Error);
          });
          entered();
        }),
    });
    try {
      const url = new URL(waiting.url);
      const req = request({ host: url.hostname, port: url.port, path: '/slow' });
      req.on('error', () => undefined);
      req.end();
      await inside;
      req.destroy();
      expect(await aborted).toBe('AbortError');
    } finally {
      await waiting.close();
    }
  });

  it('gives the interceptor a web Request of the call, scope header removed', async () => {
    const reading = await startFront(bench.upstream.url, {
      interceptor: async (call) => {
        const request = call.request();
        return new Response(JSON.stringify({ url: request.url, body: await request.text(), scope: request.headers.get('x-cheops-scope') }));
      },
    });
    try {
      const res = await send(reading.url, { method: 'PUT', path: '/api/x?y=1', body: 'abc', headers: { host: 'h:1', 'x-cheops-scope': '{Site1}' } });
      expect(JSON.parse(res.body.toString())).toEqual({ url: 'http://h:1/api/x?y=1', body: 'abc', scope: null });
    } finally {
      await reading.close();
    }
  });
});
