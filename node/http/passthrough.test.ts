import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CheopsError, ErrorCode } from '../../core/index.js';
import { frontOverEcho, readBody, send, serverKinds, startFront, startUpstream } from './test-support.js';

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A promise and its resolver, so an upstream can wait for the test. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

// The same suite against the raw path (what createFrontServer serves) and against node:http with
// `front.handle` (what the raw path hands every non-passthrough request to).
describe.each(serverKinds)('passthrough, %s server', (kind) => {
  const bench = frontOverEcho({}, { server: kind });

  describe('passthrough of requests', () => {
    it.each(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])('forwards %s with its exact path and query', async (method) => {
      const path = '/api/v1/namespaces/a%2Fb/pods?labelSelector=app%3Dweb&limit=5&x=1&x=2&empty=';
      const body = method === 'GET' || method === 'OPTIONS' ? undefined : '{"kind":"Pod"}';
      const res = await send(bench.front.url, { method, path, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }) });
      expect(res.status).toBe(200);
      expect(bench.upstream.seen).toHaveLength(1);
      expect(bench.upstream.seen[0]?.method).toBe(method);
      expect(bench.upstream.seen[0]?.url).toBe(path);
    });

    it('forwards HEAD and returns the headers without a body', async () => {
      bench.upstream.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11', etag: '"v1"' });
        res.end();
      };
      const res = await send(bench.front.url, { method: 'HEAD', path: '/thing' });
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe('11');
      expect(res.headers.etag).toBe('"v1"');
      expect(res.body.length).toBe(0);
    });

    it('keeps end-to-end headers in order and spelling, drops hop-by-hop ones, adds X-Forwarded-*', async () => {
      await send(bench.front.url, {
        path: '/h',
        headers: {
          Host: 'cheops.example:6443',
          Authorization: 'Bearer abc',
          'X-Custom': ['one', 'two'],
          Connection: 'keep-alive, X-Hop',
          'X-Hop': 'must go',
          'Keep-Alive': 'timeout=5',
          TE: 'trailers',
          'X-Forwarded-For': '10.0.0.1',
          'Accept-Encoding': 'gzip',
        },
      });
      const seen = bench.upstream.seen[0];
      expect(seen?.headers.host).toBe('cheops.example:6443');
      expect(seen?.headers.authorization).toBe('Bearer abc');
      expect(seen?.headers['accept-encoding']).toBe('gzip');
      const raw = seen?.rawHeaders ?? [];
      const custom = raw.flatMap((value, i) => (raw[i - 1] === 'X-Custom' ? [value] : []));
      expect(custom).toEqual(['one', 'two']);
      expect(seen?.headers['x-hop']).toBeUndefined();
      expect(seen?.headers['keep-alive']).toBeUndefined();
      expect(seen?.headers.te).toBeUndefined();
      expect(seen?.headers['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
      expect(seen?.headers['x-forwarded-proto']).toBe('http');
      expect(seen?.headers['x-forwarded-host']).toBe('cheops.example:6443');
    });

    it('streams a 5 MB binary request body byte for byte', async () => {
      bench.upstream.handler = (req, res) => {
        void readBody(req).then((body) => res.end(JSON.stringify({ sha: sha(body), length: body.length })));
      };
      const body = randomBytes(5 * 1024 * 1024);
      const res = await send(bench.front.url, { method: 'PUT', path: '/upload', body, headers: { 'content-type': 'application/octet-stream' } });
      expect(JSON.parse(res.body.toString())).toEqual({ sha: sha(body), length: body.length });
    });

    it('streams a chunked request body (no content-length) byte for byte', async () => {
      bench.upstream.handler = (req, res) => {
        void readBody(req).then((body) => res.end(JSON.stringify({ sha: sha(body), te: req.headers['transfer-encoding'] })));
      };
      const parts = [randomBytes(70_000), randomBytes(1), randomBytes(300_000)];
      const answer = await new Promise<Buffer>((resolve, reject) => {
        const url = new URL(bench.front.url);
        const req = request({ host: url.hostname, port: url.port, method: 'POST', path: '/chunked' }, (res) => {
          readBody(res).then(resolve, reject);
        });
        req.on('error', reject);
        for (const part of parts) req.write(part);
        req.end();
      });
      expect(JSON.parse(answer.toString())).toEqual({ sha: sha(Buffer.concat(parts)), te: 'chunked' });
    });
  });

  describe('flow control', () => {
    it('holds the application back while the client does not read (no buffering in the front)', async () => {
      const chunk = Buffer.alloc(64 * 1024, 7);
      const total = 1024; // 64 MB on offer
      const blocked = gate();
      let written = 0;
      bench.upstream.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const pump = (): void => {
          while (written < total) {
            written++;
            if (!res.write(chunk)) {
              blocked.open();
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        pump();
      };
      const url = new URL(bench.front.url);
      let received = 0;
      const done = new Promise<void>((resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, path: '/big' }, (res) => {
          res.pause();
          // Once the application is blocked, it has written only what the sockets hold, not 64 MB.
          void blocked.promise.then(() => {
            expect(written).toBeLessThan(total / 2);
            res.on('data', (data: Buffer) => (received += data.length));
            res.on('end', () => resolve());
            res.resume();
          });
        });
        req.on('error', reject);
        req.end();
      });
      await done;
      expect(received).toBe(total * chunk.length);
    });

    it('answers Expect: 100-continue and forwards the body', async () => {
      bench.upstream.handler = (req, res) => {
        void readBody(req).then((body) => res.end(`got ${body.length}`));
      };
      const url = new URL(bench.front.url);
      const answer = await new Promise<string>((resolve, reject) => {
        const req = request({
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/continue',
          headers: { expect: '100-continue', 'content-length': '5' },
        });
        req.on('continue', () => req.end('hello'));
        req.on('response', (res) => {
          readBody(res).then((body) => resolve(body.toString()), reject);
        });
        req.on('error', reject);
      });
      expect(answer).toBe('got 5');
      expect(bench.upstream.seen[0]?.headers.expect).toBeUndefined();
    });
  });

  describe('passthrough of responses', () => {
    it('returns status, reason, headers (repeated ones too) and a 5 MB binary body untouched', async () => {
      const body = randomBytes(5 * 1024 * 1024 + 17);
      bench.upstream.handler = (_req, res) => {
        res.writeHead(418, 'I Am A Teapot', [
          'Content-Type', 'application/octet-stream',
          'Set-Cookie', 'a=1',
          'Set-Cookie', 'b=2',
          'X-Kubernetes-Pf-Flowschema-Uid', 'f1',
        ]);
        res.end(body);
      };
      const res = await send(bench.front.url, { path: '/binary' });
      expect(res.status).toBe(418);
      expect(res.statusMessage).toBe('I Am A Teapot');
      expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
      expect(res.headers['x-kubernetes-pf-flowschema-uid']).toBe('f1');
      expect(res.body.length).toBe(body.length);
      expect(sha(res.body)).toBe(sha(body));
    });

    it('passes gzip-encoded bodies as they are (never decompressed)', async () => {
      const compressed = gzipSync(Buffer.from(JSON.stringify({ items: Array.from({ length: 500 }, (_, i) => `pod-${i}`) })));
      bench.upstream.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': compressed.length });
        res.end(compressed);
      };
      const res = await send(bench.front.url, { path: '/api/v1/pods', headers: { 'accept-encoding': 'gzip' } });
      expect(res.headers['content-encoding']).toBe('gzip');
      expect(res.headers['content-length']).toBe(String(compressed.length));
      expect(res.body.equals(compressed)).toBe(true);
    });

    it('passes a chunked response (no content-length) byte for byte', async () => {
      const parts = [randomBytes(10), randomBytes(100_000), randomBytes(3)];
      bench.upstream.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for (const part of parts) res.write(part);
        res.end();
      };
      const res = await send(bench.front.url, { path: '/chunks' });
      expect(res.headers['transfer-encoding']).toBe('chunked');
      expect(res.body.equals(Buffer.concat(parts))).toBe(true);
    });

    it('flushes the first chunk of a watch before the upstream has finished', async () => {
      const release = gate();
      bench.upstream.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"type":"ADDED"}\n');
        void release.promise.then(() => res.end('{"type":"DELETED"}\n'));
      };
      const url = new URL(bench.front.url);
      const chunks: string[] = [];
      const done = new Promise<void>((resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, path: '/api/v1/pods?watch=true' }, (res) => {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            chunks.push(chunk);
            // Only the first event has been written upstream: it must reach us while it still waits.
            if (chunks.length === 1) {
              expect(chunk).toBe('{"type":"ADDED"}\n');
              release.open();
            }
          });
          res.on('end', () => resolve());
        });
        req.on('error', reject);
        req.end();
      });
      await done;
      expect(chunks.join('')).toBe('{"type":"ADDED"}\n{"type":"DELETED"}\n');
    });

    it('sends the headers of a watch before its first event', async () => {
      const release = gate();
      bench.upstream.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        void release.promise.then(() => res.end('{"type":"ADDED"}\n'));
      };
      const res = await new Promise<Buffer>((resolve, reject) => {
        const url = new URL(bench.front.url);
        const req = request({ host: url.hostname, port: url.port, path: '/api/v1/pods?watch=1' }, (response) => {
          expect(response.statusCode).toBe(200);
          release.open();
          readBody(response).then(resolve, reject);
        });
        req.on('error', reject);
        req.end();
      });
      expect(res.toString()).toBe('{"type":"ADDED"}\n');
    });
  });

  describe('failures', () => {
    it('aborts the upstream request when the client disconnects mid-stream, and keeps serving', async () => {
      const upstreamClosed = gate();
      bench.upstream.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"type":"ADDED"}\n');
        res.on('close', () => upstreamClosed.open());
      };
      const url = new URL(bench.front.url);
      await new Promise<void>((resolve) => {
        const req = request({ host: url.hostname, port: url.port, path: '/api/v1/pods?watch=true' }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => undefined);
        req.end();
      });
      await upstreamClosed.promise;
      bench.upstream.handler = (_req, res) => res.end('still here');
      const after = await send(bench.front.url, { path: '/after' });
      expect(after.body.toString()).toBe('still here');
      const metrics = await bench.front.registry.metrics();
      expect(metrics).toMatch(/cheops_http_requests_in_flight\{kind="passthrough"\} 0/);
    });

    it('aborts the upstream request when the client disconnects mid-upload', async () => {
      const upstreamClosed = gate();
      const firstBytes = gate();
      bench.upstream.handler = (req, res) => {
        req.once('data', () => firstBytes.open());
        req.on('error', () => undefined);
        res.on('close', () => upstreamClosed.open());
      };
      const url = new URL(bench.front.url);
      const req = request({ host: url.hostname, port: url.port, method: 'PUT', path: '/upload', headers: { 'content-length': '1000000' } });
      req.on('error', () => undefined);
      req.write(randomBytes(100_000));
      await firstBytes.promise;
      req.destroy();
      await upstreamClosed.promise;
      bench.upstream.handler = (_req, res) => res.end('ok');
      expect((await send(bench.front.url, { path: '/after' })).body.toString()).toBe('ok');
    });

    it('answers 503 with a Kubernetes Status and logs when the application is down', async () => {
      const down = await startUpstream();
      await down.close();
      const lonely = await startFront(down.url, {}, { server: kind });
      try {
        const res = await send(lonely.url, { path: '/api/v1/pods' });
        expect(res.status).toBe(503);
        expect(res.headers['content-type']).toBe('application/json');
        const status = JSON.parse(res.body.toString()) as Record<string, unknown>;
        expect(status).toMatchObject({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          reason: 'ServiceUnavailable',
          code: 503,
        });
        expect(status['message']).toMatch(/local application .* unreachable/);
        expect(lonely.logger.find('local application unreachable')).toHaveLength(1);
        expect(await lonely.registry.metrics()).toMatch(/cheops_upstream_errors_total\{reason="ECONNREFUSED"\} 1/);
      } finally {
        await lonely.close();
      }
    });

    it('cuts the answer when the application fails mid-response', async () => {
      bench.upstream.handler = (req, res) => {
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial', () => req.socket.destroy());
      };
      const outcome = await new Promise<string>((resolve) => {
        const url = new URL(bench.front.url);
        const req = request({ host: url.hostname, port: url.port, path: '/cut' }, (res) => {
          res.on('error', () => resolve('cut'));
          res.on('aborted', () => resolve('cut'));
          res.on('end', () => resolve('ended'));
          res.resume();
        });
        req.on('error', () => resolve('cut'));
        req.end();
      });
      expect(outcome).toBe('cut');
    });
  });

  describe('upgrades', () => {
    it('tunnels an upgraded connection (kubectl exec) both ways', async () => {
      bench.upstream.server.once('upgrade', (req, socket) => {
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\nX-Seen-Url: ${req.url}\r\n\r\n`);
        socket.on('data', (data: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), data])));
        // node's server sockets are half-open: close our side when the tunnel closes its side.
        socket.on('end', () => socket.end());
      });
      const url = new URL(bench.front.url);
      const reply = await new Promise<{ seenUrl: string; echo: string }>((resolve, reject) => {
        const req = request({
          host: url.hostname,
          port: url.port,
          path: '/scope/%7BSite1%7D/api/v1/namespaces/default/pods/p/exec?command=sh',
          headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1' },
        });
        req.on('upgrade', (res, socket) => {
          socket.once('data', (data: Buffer) => {
            resolve({ seenUrl: String(res.headers['x-seen-url']), echo: data.toString() });
            socket.destroy();
          });
          socket.write('ls\n');
        });
        req.on('error', reject);
        req.end();
      });
      expect(reply).toEqual({ seenUrl: '/api/v1/namespaces/default/pods/p/exec?command=sh', echo: 'echo:ls\n' });
    });

    it('tunnels an upgrade to the other site its route names, refuses one the route refuses or with a malformed scope', async () => {
      let localUpgrades = 0;
      const counted = (): void => void (localUpgrades += 1);
      bench.upstream.server.on('upgrade', counted);
      // Stands for another site's front: shows the head it got, then echoes.
      const other = await startUpstream();
      other.server.on('upgrade', (req, socket) => {
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\nX-Seen: ${req.url} ${String(req.headers['x-cheops-scope'])} ${String(req.headers['x-cheops-forwarded-from'])}\r\n\r\n`);
        socket.on('data', (data: Buffer) => socket.write(Buffer.concat([Buffer.from('there:'), data])));
        socket.on('end', () => socket.end());
      });
      const front = await startFront(bench.upstream.url, {
        upgradeRoute: (_method, _url, scope) =>
          scope.text === '{Site9}'
            ? new CheopsError(ErrorCode.ScopeUnknownSite, 'no Site9')
            : { upstream: other.url, headers: [['x-cheops-scope', scope.text], ['x-cheops-forwarded-from', 'Site1']] },
      }, { server: kind });
      try {
        const url = new URL(front.url);
        const upgrade = (path: string): Promise<{ status: number; seen?: string; reply: string }> => new Promise((resolve, reject) => {
          const req = request({ host: url.hostname, port: url.port, path, headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1' } });
          req.on('response', (res) => void readBody(res).then((body) => resolve({ status: res.statusCode ?? 0, reply: body.toString() })));
          req.on('upgrade', (res, socket) => {
            socket.once('data', (data: Buffer) => {
              resolve({ status: 101, seen: String(res.headers['x-seen']), reply: data.toString() });
              socket.destroy();
            });
            socket.write('ls\n');
          });
          req.on('error', reject);
          req.end();
        });
        expect(await upgrade('/scope/%7BSite2%7D/api/v1/namespaces/default/pods/p/exec?command=sh')).toEqual({
          status: 101, seen: '/api/v1/namespaces/default/pods/p/exec?command=sh {Site2} Site1', reply: 'there:ls\n',
        });
        const refused = await upgrade('/scope/%7BSite9%7D/api/v1/namespaces/default/pods/p/exec');
        expect(refused.status).toBe(400);
        expect(JSON.parse(refused.reply)).toMatchObject({ kind: 'Status', message: 'no Site9' });
        const malformed = await upgrade('/scope/%7BSite2%20%26%7D/api/v1/namespaces/default/pods/p/exec');
        expect(malformed.status).toBe(400);
        expect(localUpgrades).toBe(0);
      } finally {
        await front.close();
        await other.close();
        bench.upstream.server.off('upgrade', counted);
      }
    });
  });
});
