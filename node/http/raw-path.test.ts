/**
 * The raw path (fast/) at the byte level: what node's HTTP client will not send (pipelining,
 * smuggling attempts, malformed heads), keep-alive connections that mix forwarded requests with
 * requests node:http answers, and the application's protocol corners.
 */
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { FrontCall } from './interceptor.js';
import { frontOverEcho, RawClient, readBody, startFront } from './test-support.js';

const calls: FrontCall[] = [];

const bench = frontOverEcho(
  {
    interceptor: (call) => {
      calls.push(call);
      return call.path === '/taken' ? Response.json({ taken: call.url, scope: call.scope?.text ?? null }) : undefined;
    },
    // The engine wants writes and anything under /taken; plain reads go straight through.
    wants: (method, path) => method !== 'GET' || path.startsWith('/taken'),
  },
  {},
  () => {
    calls.length = 0;
  },
);

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: front\r\n${extra}\r\n`;
const post = (path: string, body: string, extra = ''): string =>
  `POST ${path} HTTP/1.1\r\nHost: front\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
const json = (body: Buffer): Record<string, unknown> => JSON.parse(body.toString()) as Record<string, unknown>;

describe('pipelining', () => {
  it('answers pipelined requests in order, one at a time, whichever path serves them', async () => {
    bench.upstream.handler = (req, res) => {
      // The first answer is the slowest: order must come from the front, not from luck.
      const delayMs = req.url === '/api/a' ? 40 : 0;
      void readBody(req).then((body) => setTimeout(() => res.end(`${req.method} ${req.url} ${body.toString()}`), delayMs));
    };
    const client = await RawClient.connect(bench.front.url);
    client.write(get('/api/a') + get('/livez') + post('/api/b', 'xyz') + get('/taken?x=1') + get('/api/c'));
    expect((await client.response()).body.toString()).toBe('GET /api/a ');
    expect((await client.response()).body.toString()).toBe('ok');
    expect((await client.response()).body.toString()).toBe('POST /api/b xyz');
    expect(json((await client.response()).body)).toEqual({ taken: '/taken?x=1', scope: null });
    expect((await client.response()).body.toString()).toBe('GET /api/c ');
    expect(bench.upstream.seen.map((seen) => seen.url)).toEqual(['/api/a', '/api/b', '/api/c']);
    client.close();
  });
});

describe('keep-alive connections mixing both paths', () => {
  it('serves forwarded, owned, scoped and intercepted requests in turn on one connection', async () => {
    const client = await RawClient.connect(bench.front.url);
    const steps: Array<[string, (response: { status: number; body: Buffer }) => void]> = [
      [get('/api/v1/pods'), (r) => expect(json(r.body)).toMatchObject({ method: 'GET', url: '/api/v1/pods' })],
      [get('/readyz'), (r) => expect(r.body.toString()).toBe('ok')],
      [get('/api/v1/pods', 'X-Cheops-Scope: {Site1}\r\n'), (r) => expect(json(r.body)).toMatchObject({ url: '/api/v1/pods' })],
      [post('/api/v1/pods', '{"kind":"Pod"}', 'Content-Type: application/json\r\n'), (r) => expect(json(r.body)).toMatchObject({ method: 'POST' })],
      [get('/scope/%7BSite1%7D/api/v1/secrets?limit=1'), (r) => expect(json(r.body)).toMatchObject({ url: '/api/v1/secrets?limit=1' })],
      [get('/taken'), (r) => expect(json(r.body)).toEqual({ taken: '/taken', scope: null })],
      [get('/api/v1/nodes'), (r) => expect(json(r.body)).toMatchObject({ url: '/api/v1/nodes' })],
    ];
    for (const [text, check] of steps) {
      client.write(text);
      const response = await client.response();
      expect(response.status).toBe(200);
      check(response);
    }
    // Offered: the scoped GET, the POST, the /scope/ GET and /taken; plain GETs went straight through.
    expect(calls.map((call) => `${call.method} ${call.url}`)).toEqual([
      'GET /api/v1/pods',
      'POST /api/v1/pods',
      'GET /api/v1/secrets?limit=1',
      'GET /taken',
    ]);
    expect(calls[0]?.scope?.text).toBe('{Site1}');
    expect(bench.upstream.seen.every((seen) => seen.headers['x-cheops-scope'] === undefined)).toBe(true);
    client.close();
  });

  it('tunnels an upgrade that follows forwarded requests on the same connection', async () => {
    bench.upstream.server.once('upgrade', (_req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n');
      socket.on('data', (data: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), data])));
      socket.on('end', () => socket.end());
    });
    const client = await RawClient.connect(bench.front.url);
    client.write(get('/api/v1/pods'));
    expect((await client.response()).status).toBe(200);
    client.write(get('/api/v1/namespaces/default/pods/p/exec', 'Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n'));
    const switched = await client.response();
    expect(switched.status).toBe(101);
    const echoed = new Promise<string>((resolve) => client.socket.once('data', (data: Buffer) => resolve(data.toString())));
    client.write('ls\n');
    expect(await echoed).toBe('echo:ls\n');
    client.close();
  });

  it('answers HTTP/1.0 through node:http and closes', async () => {
    const client = await RawClient.connect(bench.front.url);
    client.write('GET /api/v1/pods HTTP/1.0\r\n\r\n');
    const response = await client.response();
    expect(response.status).toBe(200);
    expect(json(response.body)).toMatchObject({ url: '/api/v1/pods' });
    await client.closed;
  });

  it('answers HEAD without waiting for a body and keeps the connection', async () => {
    bench.upstream.handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '1234' });
      res.end();
    };
    const client = await RawClient.connect(bench.front.url);
    client.write('HEAD /thing HTTP/1.1\r\nHost: front\r\n\r\n');
    const head = await client.response('HEAD');
    expect(head.headers['content-length']).toBe('1234');
    expect(head.body.length).toBe(0);
    bench.upstream.handler = bench.echo;
    client.write(get('/after'));
    expect(json((await client.response()).body)).toMatchObject({ url: '/after' });
    client.close();
  });
});

describe('request smuggling and malformed requests', () => {
  const smuggled = get('/smuggled');
  it.each([
    ['Content-Length with Transfer-Encoding', 'POST /api HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['Transfer-Encoding with Content-Length', 'POST /api HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n', 400],
    ['two different Content-Lengths', 'POST /api HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n', 400],
    ['two equal Content-Lengths', 'POST /api HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc', 400],
    ['an obfuscated Transfer-Encoding', 'POST /api HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n', 400],
    ['a space before the colon', 'POST /api HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n', 400],
    ['obs-fold', 'POST /api HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['a bare LF', 'GET /api HTTP/1.1\nHost: h\n\n', 400],
    ['a malformed request line', 'GET /api HTTP/1.1 extra\r\nHost: h\r\n\r\n', 400],
    ['a request line of garbage', 'this is not http\r\n\r\n', 400],
    ['an unknown HTTP version', 'GET /api HTTP/3.0\r\nHost: h\r\n\r\n', 505],
    ['an over-long head', `GET /api HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ['an invalid chunk size', 'POST /api HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n', 400],
    ['chunk data longer than its size', 'POST /api HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n', 400],
  ])('refuses %s with a Status answer, closes, and never forwards what follows', async (_what, attack, status) => {
    bench.upstream.handler = (req, res) => {
      // The application reads bodies: a half-forwarded chunked body must not make it answer.
      req.on('error', () => undefined);
      void readBody(req).then(() => res.end('app'), () => undefined);
    };
    const client = await RawClient.connect(bench.front.url);
    client.write(attack + smuggled);
    const response = await client.response();
    expect(response.status).toBe(status);
    expect(response.headers['connection']).toBe('close');
    expect(json(response.body)).toMatchObject({ kind: 'Status', code: status });
    await client.closed;
    expect(bench.upstream.seen.map((seen) => seen.url)).not.toContain('/smuggled');
  });

  it('refuses a head that trickles in for too long (408)', async () => {
    const slow = await startFront(bench.upstream.url, {}, { options: { clients: { headTimeoutMs: 3 } } });
    try {
      const client = await RawClient.connect(slow.url);
      for (const piece of ['GET /api', ' HTTP/1.1\r\n', 'Host: h\r\n', 'X-A: 1\r\n', 'X-B: 2\r\n', 'X-C: 3\r\n']) {
        client.write(piece);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect((await client.response()).status).toBe(408);
      await client.closed;
    } finally {
      await slow.close();
    }
  });

  it('closes a connection idle for longer than the idle timeout', async () => {
    const short = await startFront(bench.upstream.url, {}, { options: { clients: { idleTimeoutMs: 100 } } });
    try {
      const client = await RawClient.connect(short.url);
      client.write(get('/api'));
      expect((await client.response()).status).toBe(200);
      await client.closed;
    } finally {
      await short.close();
    }
  });
});

describe('closing the front', () => {
  it('cuts passthrough answers in flight, and answers 503 after', async () => {
    const closing = await startFront(bench.upstream.url);
    bench.upstream.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED"}\n');
    };
    try {
      const client = await RawClient.connect(closing.url);
      const first = new Promise((resolve) => client.socket.once('data', resolve));
      client.write(get('/api/v1/pods?watch=1'));
      await first;
      await closing.front.close();
      await client.closed;
      // The server still listens (it closes first in production): what comes now is refused.
      const after = await RawClient.connect(closing.url);
      after.write(get('/api/v1/pods'));
      const response = await after.response();
      expect(response.status).toBe(503);
      expect(json(response.body)).toMatchObject({ message: expect.stringContaining('closing') as unknown });
      after.close();
    } finally {
      await closing.close();
    }
  });
});

describe('what the application may answer', () => {
  it.each(['raw', 'node:http'])('closes the client connection after an answer sent before the whole request body (%s side)', async (side) => {
    bench.upstream.handler = (req, res) => {
      req.on('error', () => undefined);
      res.writeHead(413, { 'content-type': 'text/plain' });
      res.end('too large');
    };
    // The shared front offers every PUT to its interceptor (node:http side); a bare one forwards it raw.
    const bare = side === 'raw' ? await startFront(bench.upstream.url) : undefined;
    try {
      const client = await RawClient.connect((bare ?? bench.front).url);
      client.write('PUT /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\nfirst bytes');
      const response = await client.response();
      expect(response.status).toBe(413);
      expect(response.body.toString()).toBe('too large');
      expect(response.headers['connection']).toBe('close');
      await client.closed;
    } finally {
      await bare?.close();
    }
  });

  it('keeps the client connection when the application closes its own', async () => {
    bench.upstream.handler = (_req, res) => {
      res.setHeader('connection', 'close');
      res.end('bye');
    };
    const client = await RawClient.connect(bench.front.url);
    client.write(get('/one'));
    const first = await client.response();
    expect(first.body.toString()).toBe('bye');
    expect(first.headers['connection']).toBeUndefined();
    bench.upstream.handler = bench.echo;
    client.write(get('/two'));
    expect(json((await client.response()).body)).toMatchObject({ url: '/two' });
    client.close();
  });

  it('relays a chunked answer with trailers as it is', async () => {
    bench.upstream.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('hello ');
      res.addTrailers({ 'x-checksum': 'abc' });
      res.end('world');
    };
    const client = await RawClient.connect(bench.front.url);
    client.write(get('/trailers'));
    const response = await client.response();
    expect(response.headers['transfer-encoding']).toBe('chunked');
    expect(response.body.toString()).toBe('hello world');
    client.close();
  });
});

/** A TCP application written by hand, for answers node:http would not give. */
async function rawApplication(onConnection: (socket: Socket, index: number) => void): Promise<{ url: string; server: TcpServer }> {
  let count = 0;
  const server = createTcpServer((socket) => onConnection(socket, count++));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('protocol corners of the application', () => {
  const withApplication = async (
    onConnection: (socket: Socket, index: number) => void,
    test: (base: string) => Promise<void>,
  ): Promise<void> => {
    const app = await rawApplication(onConnection);
    const raw = await startFront(app.url);
    try {
      await test(raw.url);
    } finally {
      await raw.close();
      await new Promise((resolve) => app.server.close(resolve));
    }
  };

  it('sends a request again on a fresh connection when a reused one turns out closed', async () => {
    await withApplication(
      (socket, index) => {
        let requests = 0;
        socket.on('data', () => {
          requests++;
          // The first connection answers once, then dies on its next request without a word.
          if (index === 0 && requests === 2) socket.destroy();
          else socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n${index}`);
        });
      },
      async (base) => {
        const client = await RawClient.connect(base);
        client.write(get('/a'));
        expect((await client.response()).body.toString()).toBe('0');
        client.write(get('/b'));
        expect((await client.response()).body.toString()).toBe('1');
        client.close();
      },
    );
  });

  it('relays an answer delimited by the end of the connection, then closes', async () => {
    await withApplication(
      (socket) => socket.once('data', () => socket.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end')),
      async (base) => {
        const client = await RawClient.connect(base);
        client.write(get('/old'));
        const rest = (await client.rest()).toString('latin1');
        expect(rest).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        expect(rest).toContain('Connection: close\r\n');
        expect(rest.endsWith('\r\n\r\nuntil the end')).toBe(true);
      },
    );
  });

  it('drops interim 1xx answers and relays the final one', async () => {
    await withApplication(
      (socket) =>
        socket.on('data', () =>
          socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone'),
        ),
      async (base) => {
        const client = await RawClient.connect(base);
        client.write(get('/hints'));
        const response = await client.response();
        expect(response.status).toBe(200);
        expect(response.body.toString()).toBe('done');
        client.close();
      },
    );
  });

  it('answers 503 when the application answers garbage', async () => {
    await withApplication(
      (socket) => socket.on('data', () => socket.write('SSH-2.0-OpenSSH_9.2\r\n\r\n')),
      async (base) => {
        const client = await RawClient.connect(base);
        client.write(get('/ssh'));
        const response = await client.response();
        expect(response.status).toBe(503);
        expect(json(response.body)).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable' });
        client.close();
      },
    );
  });
});

describe('the interceptor filter', () => {
  it('offers only what `wants` accepts, and counts the rest as passthrough', async () => {
    await new Promise<void>((resolve, reject) => {
      const url = new URL(bench.front.url);
      const req = request({ host: url.hostname, port: url.port, path: '/api/v1/pods', method: 'GET' }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    expect(calls).toHaveLength(0);
    const client = await RawClient.connect(bench.front.url);
    client.write(post('/api/v1/pods', '{}'));
    expect((await client.response()).status).toBe(200);
    expect(calls.map((call) => call.method)).toEqual(['POST']);
    client.close();
  });

  it('answers 500 through the error mapper when `wants` throws', async () => {
    const broken = await startFront(bench.upstream.url, {
      interceptor: () => undefined,
      wants: () => {
        throw new Error('filter exploded');
      },
    });
    try {
      const client = await RawClient.connect(broken.url);
      client.write(get('/api'));
      const response = await client.response();
      expect(response.status).toBe(500);
      expect(json(response.body)).toMatchObject({ message: 'internal error: filter exploded' });
      client.close();
    } finally {
      await broken.close();
    }
  });
});
