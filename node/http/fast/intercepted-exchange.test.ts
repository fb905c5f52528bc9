/**
 * Requests the engine may take, answered by the raw path itself (intercepted-exchange.ts): what
 * the interceptor sees of them, how its answers are framed on the wire, what it declines, and
 * what still goes through node:http (a body that is not all there with the head).
 */
import { describe, expect, it } from 'vitest';
import type { FrontCall, Interceptor } from '../interceptor.js';
import { frontOverEcho, RawClient, readBody } from '../test-support.js';
import { wholeResponse } from '../web-bridge.js';

let answer: Interceptor;
const calls: FrontCall[] = [];
const bodies: string[] = [];

const bench = frontOverEcho(
  {
    interceptor: (call) => {
      calls.push(call);
      return answer(call);
    },
    wants: (method) => method !== 'GET',
  },
  {},
  () => {
    calls.length = 0;
    bodies.length = 0;
  },
);

const crlf = '\r\n';
const scopedPost = (body: string, extra = ''): string =>
  `POST /api/v1/namespaces/default/pods HTTP/1.1${crlf}Host: front${crlf}X-Cheops-Scope: {Site1 & Site2}${crlf}` +
  `Content-Type: application/json${crlf}Content-Length: ${Buffer.byteLength(body)}${crlf}${extra}${crlf}${body}`;
const json = (body: Buffer): Record<string, unknown> => JSON.parse(body.toString()) as Record<string, unknown>;

async function metric(name: string, labels: string): Promise<number> {
  const text = await bench.front.registry.metrics();
  const line = text.split('\n').find((candidate) => candidate.startsWith(name) && candidate.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('a scoped write answered by the engine', () => {
  it('gives the engine the whole body, the scope parsed and headers as node would, and frames its answer', async () => {
    answer = async (call) => {
      const body = await call.readBody(1024);
      bodies.push(Buffer.from(body ?? []).toString());
      // As the engine answers: a body known whole.
      return wholeResponse(new TextEncoder().encode(JSON.stringify({ ok: true })), { status: 201, headers: { 'content-type': 'application/json', 'x-cheops-meta-id': 'm1' } });
    };
    const client = await RawClient.connect(bench.front.url);
    client.write(scopedPost('{"kind":"Pod"}', `Accept: application/json${crlf}X-Trace: a${crlf}x-trace: b${crlf}User-Agent: one${crlf}User-Agent: two${crlf}Constructor: c${crlf}__proto__: p${crlf}`));
    const response = await client.response('POST');
    expect(response.status).toBe(201);
    expect(json(response.body)).toEqual({ ok: true });
    expect(response.headers['content-length']).toBe(String(response.body.length));
    expect(response.headers['x-cheops-meta-id']).toBe('m1');
    expect(response.headers.date).toMatch(/GMT$/);
    expect(response.headers.connection).toBeUndefined();
    const call = calls[0]!;
    expect(call.scope?.text).toBe('{Site1 & Site2}');
    expect(call.url).toBe('/api/v1/namespaces/default/pods');
    expect(call.headers['x-cheops-scope']).toBeUndefined();
    expect(call.headers['x-trace']).toBe('a, b');
    expect(call.headers['user-agent']).toBe('one');
    // Header names that are also names of Object's own members stay plain headers.
    expect(call.headers.constructor).toBe('c');
    expect(Object.getPrototypeOf(call.headers)).toBe(Object.prototype);
    expect(bodies).toEqual(['{"kind":"Pod"}']);
    // The connection stays open for the next request.
    client.write(scopedPost('{}'));
    expect((await client.response('POST')).status).toBe(201);
    client.close();
    expect(await metric('cheops_http_requests_total', 'kind="intercepted",method="POST",code="201"')).toBe(2);
  });

  it('streams an answer of unknown length chunk by chunk, each as it comes', async () => {
    let push: ((text: string) => void) | undefined;
    let end: (() => void) | undefined;
    answer = () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            push = (text) => controller.enqueue(new TextEncoder().encode(text));
            end = () => controller.close();
          },
        }),
        { status: 200, headers: { 'content-type': 'application/json' } },
      );
    const client = await RawClient.connect(bench.front.url);
    client.write(scopedPost('{}'));
    await expect.poll(() => push !== undefined).toBe(true);
    push!('{"type":"ADDED"}\n');
    // The first event reaches the client while the stream is still open.
    await expect.poll(() => client.socket.bytesRead > 0 && calls.length === 1).toBe(true);
    push!('{"type":"MODIFIED"}\n');
    end!();
    const response = await client.response('POST');
    expect(response.headers['transfer-encoding']).toBe('chunked');
    expect(response.body.toString()).toBe('{"type":"ADDED"}\n{"type":"MODIFIED"}\n');
    client.close();
  });

  it('aborts the call when the client leaves during a streamed answer', async () => {
    answer = (call) =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('first\n'));
            call.signal.addEventListener('abort', () => controller.close());
          },
        }),
      );
    const client = await RawClient.connect(bench.front.url);
    client.write(scopedPost('{}'));
    await expect.poll(() => client.socket.bytesRead).toBeGreaterThan(0);
    client.close();
    await expect.poll(() => calls[0]?.signal.aborted).toBe(true);
  });

  it('counts a request whose client left before the answer as 499', async () => {
    let answerNow: (() => void) | undefined;
    answer = () => new Promise<Response>((resolve) => (answerNow = () => resolve(new Response('late'))));
    const client = await RawClient.connect(bench.front.url);
    client.write(scopedPost('{}'));
    await expect.poll(() => answerNow !== undefined).toBe(true);
    client.close();
    await client.closed;
    await expect.poll(() => calls[0]?.signal.aborted).toBe(true);
    answerNow!();
    await expect.poll(() => metric('cheops_http_requests_total', 'kind="intercepted",method="POST",code="499"')).toBe(1);
  });

  it('answers HEAD with the head alone', async () => {
    answer = () => new Response('not sent', { status: 200, headers: { 'content-length': '8' } });
    const client = await RawClient.connect(bench.front.url);
    client.write(`HEAD /api/v1/pods HTTP/1.1${crlf}Host: front${crlf}X-Cheops-Scope: {Site1}${crlf}${crlf}`);
    const response = await client.response('HEAD');
    expect(response.headers['content-length']).toBe('8');
    expect(response.body.length).toBe(0);
    client.write(scopedPost('{}'));
    expect((await client.response('POST')).status).toBe(200);
    client.close();
  });

  it('closes after answering a request that asked to', async () => {
    answer = () => new Response('done');
    const client = await RawClient.connect(bench.front.url);
    client.write(scopedPost('{}', `Connection: close${crlf}`));
    const response = await client.response('POST');
    expect(response.headers.connection).toBe('close');
    await client.closed;
  });
});

describe('what the engine refuses or declines', () => {
  it('answers a malformed scope 400 with its column, and keeps the connection', async () => {
    answer = () => undefined;
    const client = await RawClient.connect(bench.front.url);
    client.write(`GET /api/v1/pods HTTP/1.1${crlf}Host: front${crlf}X-Cheops-Scope: {Site1 &}${crlf}${crlf}`);
    const response = await client.response();
    expect(response.status).toBe(400);
    expect(json(response.body)).toMatchObject({ kind: 'Status', reason: 'BadRequest', details: { cheopsCode: 'CHEOPS_SCOPE_SYNTAX', column: 9 } });
    expect(calls).toHaveLength(0);
    client.write(`GET /api/v1/pods HTTP/1.1${crlf}Host: front${crlf}${crlf}`);
    expect((await client.response()).status).toBe(200);
    client.close();
  });

  it('forwards what it declines without the scope carrier, as passthrough', async () => {
    answer = () => undefined;
    const before = await metric('cheops_http_requests_total', 'kind="passthrough",method="POST"');
    const client = await RawClient.connect(bench.front.url);
    client.write(
      `POST /scope/%7BSite1%7D/api/v1/namespaces/default/configmaps?dryRun=All HTTP/1.1${crlf}Host: front${crlf}` +
        `Content-Length: 2${crlf}X-Forwarded-For: 10.0.0.1${crlf}${crlf}{}`,
    );
    const response = await client.response('POST');
    expect(response.status).toBe(200);
    expect(calls[0]?.scope?.text).toBe('{Site1}');
    const seen = bench.upstream.seen[0]!;
    expect(seen.url).toBe('/api/v1/namespaces/default/configmaps?dryRun=All');
    expect(seen.headers['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
    expect(seen.headers['x-cheops-scope']).toBeUndefined();
    expect(json(response.body)).toMatchObject({ method: 'POST' });
    client.close();
    expect(await metric('cheops_http_requests_total', 'kind="passthrough",method="POST"')).toBe(before + 1);
  });

  it('answers 500 when the engine read the body and then declined', async () => {
    answer = async (call) => {
      await call.readBody(100);
      return undefined;
    };
    const client = await RawClient.connect(bench.front.url);
    client.write(scopedPost('{"a":1}'));
    const response = await client.response('POST');
    expect(response.status).toBe(500);
    expect(bench.upstream.seen).toHaveLength(0);
    client.close();
  });

  it('answers a failing engine with a Status object', async () => {
    answer = () => Promise.reject(new Error('engine exploded'));
    const client = await RawClient.connect(bench.front.url);
    client.write(scopedPost('{}'));
    const response = await client.response('POST');
    expect(response.status).toBe(500);
    expect(json(response.body)).toMatchObject({ kind: 'Status', message: 'internal error: engine exploded' });
    client.close();
  });
});

describe('a body still coming after the head', () => {
  it('goes through node:http, and the engine still gets it whole', async () => {
    answer = async (call) => {
      bodies.push(Buffer.from((await call.readBody(1024)) ?? []).toString());
      return new Response('taken', { status: 201 });
    };
    const client = await RawClient.connect(bench.front.url);
    const text = scopedPost('{"kind":"Pod","x":1}');
    const split = text.length - 8;
    client.write(text.slice(0, split));
    await new Promise((resolve) => setTimeout(resolve, 30));
    client.write(text.slice(split));
    const response = await client.response('POST');
    expect(response.status).toBe(201);
    expect(response.body.toString()).toBe('taken');
    expect(bodies).toEqual(['{"kind":"Pod","x":1}']);
    client.close();
  });

  it('forwards a declined chunked body as it came', async () => {
    answer = () => undefined;
    bench.upstream.handler = (req, res) => void readBody(req).then((body) => res.end(`got ${body.toString()}`));
    const client = await RawClient.connect(bench.front.url);
    client.write(
      `POST /api/v1/pods HTTP/1.1${crlf}Host: front${crlf}X-Cheops-Scope: {Site1}${crlf}Transfer-Encoding: chunked${crlf}${crlf}` +
        `3${crlf}abc${crlf}0${crlf}${crlf}`,
    );
    const response = await client.response('POST');
    expect(response.body.toString()).toBe('got abc');
    client.close();
  });
});
