import { Hono } from 'hono';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryLogger } from '../../core/index.js';
import { createFront, type Front, type FrontDeps } from './front.js';
import { isOwnedPath } from './router.js';
import { send, startFront, startUpstream, type TestFront, type TestUpstream } from './test-support.js';

const sites = { items: [{ name: 'Site1', peerId: '12D3KooWabc', state: 'up', rttMs: 0, http: 'http://127.0.0.1:8001' }] };

function inProcessFront(extra: Partial<FrontDeps> = {}): Front {
  return createFront({
    upstream: 'http://127.0.0.1:1',
    logger: new MemoryLogger(),
    registry: new Registry(),
    clock: { now: () => 0 },
    ...extra,
  });
}

describe('owned routes, in process', () => {
  it('answers /livez with ok', async () => {
    const res = await inProcessFront().app.request('/livez');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  });

  it('answers /readyz from the node readiness only', async () => {
    expect((await inProcessFront().app.request('/readyz')).status).toBe(200);
    expect((await inProcessFront({ ready: () => true }).app.request('/readyz')).status).toBe(200);
    const notReady = await inProcessFront({ ready: () => Promise.resolve({ ready: false, reason: 'store not open' }) }).app.request('/readyz');
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toBe('not ready: store not open');
    const throwing = await inProcessFront({
      ready: () => {
        throw new Error('boom');
      },
    }).app.request('/readyz');
    expect(throwing.status).toBe(503);
    expect(await throwing.text()).toContain('boom');
  });

  it('delegates /cheops/v1/* to a Hono sub-app', async () => {
    const admin = new Hono();
    admin.get('/sites', (c) => c.json(sites));
    const res = await inProcessFront({ admin }).app.request('/cheops/v1/sites');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(sites);
  });

  it('delegates /cheops/v1/* to a handler map, with parameters', async () => {
    const front = inProcessFront({
      admin: {
        'GET /sites': (c) => c.json(sites),
        'GET /replicants/:id': (c) => c.json({ id: c.req.param('id') }),
      },
    });
    expect(await (await front.app.request('/cheops/v1/sites')).json()).toEqual(sites);
    expect(await (await front.app.request('/cheops/v1/replicants/abc')).json()).toEqual({ id: 'abc' });
  });

  it('answers an unknown admin route with a 404 Status, and a failing one with a 500 Status', async () => {
    const front = inProcessFront({
      admin: {
        'GET /broken': () => {
          throw new Error('kaput');
        },
      },
    });
    const missing = await front.app.request('/cheops/v1/nothing');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
    const broken = await front.app.request('/cheops/v1/broken');
    expect(broken.status).toBe(500);
    expect(await broken.json()).toMatchObject({ kind: 'Status', reason: 'InternalError', message: 'internal error: kaput' });
  });

  it('recognises owned paths cheaply and exactly', () => {
    for (const path of ['/livez', '/readyz?verbose', '/metrics', '/cheops/v1', '/cheops/v1/sites?x=1', '/cheops/dashboard']) {
      expect(isOwnedPath(path)).toBe(true);
    }
    for (const path of ['/livez/ping', '/api/v1/pods', '/cheops/v10', '/scope/%7BSite1%7D/livez', '/metricsx', '/cheops/dashboardx']) {
      expect(isOwnedPath(path)).toBe(false);
    }
  });
});

describe('owned routes, over a socket', () => {
  let upstream: TestUpstream;
  let front: TestFront;

  beforeAll(async () => {
    upstream = await startUpstream();
    const admin = new Hono();
    admin.get('/sites', (c) => c.json(sites));
    admin.post('/echo', async (c) => c.json({ got: await c.req.text() }));
    front = await startFront(upstream.url, { admin, ready: () => true, dashboard: () => '<!doctype html><title>Cheops — Site1</title>' });
  });

  afterAll(async () => {
    await front.close();
    await upstream.close();
  });

  it('never forwards owned routes', async () => {
    expect((await send(front.url, { path: '/livez' })).body.toString()).toBe('ok');
    expect((await send(front.url, { path: '/readyz' })).body.toString()).toBe('ok');
    const sitesRes = await send(front.url, { path: '/cheops/v1/sites' });
    expect(JSON.parse(sitesRes.body.toString())).toEqual(sites);
    const echoed = await send(front.url, { method: 'POST', path: '/cheops/v1/echo', body: 'hello' });
    expect(JSON.parse(echoed.body.toString())).toEqual({ got: 'hello' });
    const page = await send(front.url, { path: '/cheops/dashboard' });
    expect([page.status, page.headers['content-type'], page.headers['cache-control']]).toEqual([200, 'text/html; charset=UTF-8', 'no-store']);
    expect(page.body.toString()).toContain('<title>Cheops — Site1</title>');
    expect(upstream.seen).toHaveLength(0);
  });

  it('serves Prometheus metrics with the cheops_ prefix', async () => {
    await send(front.url, { path: '/api/v1/pods' });
    await send(front.url, { method: 'DELETE', path: '/api/v1/pods/x' });
    await send(front.url, { path: '/livez' });
    const res = await send(front.url, { path: '/metrics' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const text = res.body.toString();
    expect(text).toMatch(/cheops_http_requests_total\{kind="passthrough",method="GET",code="200"\} 1/);
    expect(text).toMatch(/cheops_http_requests_total\{kind="passthrough",method="DELETE",code="200"\} 1/);
    expect(text).toMatch(/cheops_http_requests_total\{kind="owned",method="GET",code="200"\} [1-9]/);
    expect(text).toMatch(/cheops_http_request_duration_seconds_bucket\{le="0.005",kind="passthrough"\} 2/);
    expect(text).toMatch(/cheops_http_request_duration_seconds_count\{kind="passthrough"\} 2/);
    // The /metrics request itself is in flight while it renders.
    expect(text).toMatch(/cheops_http_requests_in_flight\{kind="owned"\} 1/);
    expect(text).toContain('# TYPE cheops_upstream_errors_total counter');
    expect(text).toContain('cheops_process_cpu_user_seconds_total');
    expect(text).toContain('cheops_nodejs_eventloop_lag_seconds');
    for (const line of text.split('\n')) {
      if (line !== '' && !line.startsWith('#')) expect(line.startsWith('cheops_')).toBe(true);
    }
  });
});
