/**
 * Node request/response ↔ web Request/Response, for the routes that need web objects (Hono's
 * owned routes, the interceptor). Passthrough never comes here. Written by hand rather than with
 * `Readable.toWeb()`: on Node 20 that one throws an uncaught ERR_INVALID_STATE, killing the
 * process, when the client goes away mid-body. Every stream here has a `cancel()` and every
 * controller call is guarded by a `done` flag.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger } from '../../core/index.js';
import { errorMessage } from '../../core/index.js';
import { hasRequestBody } from './forward-headers.js';
import { scopeHeader } from './scope-carrier.js';

/**
 * The body of `req` (a node request, or any byte stream) as a web stream. Reading pulls from the
 * socket (backpressure kept); cancelling drains and discards the rest, so the connection can
 * still be reused for the next request.
 */
export function requestBodyStream(req: Readable): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.pause();
        req.on('data', (chunk: Buffer) => {
          if (done) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.once('end', () => {
          if (done) return;
          done = true;
          controller.close();
        });
        req.once('error', (error) => {
          if (done) return;
          done = true;
          controller.error(error);
        });
        req.once('close', () => {
          if (done) return;
          done = true;
          controller.error(new Error('the client closed the connection before the end of the request body'));
        });
      },
      pull() {
        req.resume();
      },
      cancel() {
        done = true;
        req.resume();
      },
    },
    { highWaterMark: 1 },
  );
}

/**
 * The whole body of `req`, read straight from the node stream (no web stream in between); undefined,
 * and the rest discarded, once it exceeds `maxBytes`. Rejects when the client leaves before its end.
 */
export function readRequestBody(req: Readable, maxBytes: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      finish();
      chunks.length = 0;
      // Drained, not destroyed: the answer (413-like 400) still goes out on this connection.
      req.resume();
      resolve(undefined);
    };
    const onEnd = (): void => {
      finish();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      finish();
      reject(error);
    };
    const onClose = (): void => {
      finish();
      reject(new Error('the client closed the connection before the end of the request body'));
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
  });
}

/**
 * `req` as a web Request for `url` (path and query, possibly rewritten), without its
 * `X-Cheops-Scope` header. `signal` should abort
 * when the client leaves, so handlers waiting on the network stop too.
 */
export function toWebRequest(req: IncomingMessage, url: string, signal?: AbortSignal): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    // The scope was read and parsed already; handlers get it typed, never as a header.
    if (name.length !== scopeHeader.length || name.toLowerCase() !== scopeHeader) headers.append(name, raw[i + 1] as string);
  }
  const host = req.headers.host ?? 'localhost';
  const method = req.method ?? 'GET';
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (signal !== undefined) init.signal = signal;
  if (method !== 'GET' && method !== 'HEAD' && hasRequestBody(req)) {
    init.body = requestBodyStream(req);
    init.duplex = 'half';
  }
  return new Request(`http://${host}${url}`, init);
}

/** Waits until `res` can take more data, or is closed (then resolves false). */
function drained(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = (): void => {
      res.off('close', onClose);
      resolve(true);
    };
    const onClose = (): void => {
      res.off('drain', onDrain);
      resolve(false);
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

function responseHeaders(response: Response): string[] {
  const out: string[] = [];
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') out.push(name, value);
  });
  for (const cookie of response.headers.getSetCookie()) out.push('set-cookie', cookie);
  return out;
}

/** What `wholeResponse` made each of its responses from. */
export interface WholeAnswer {
  /** The bytes, written at once rather than read as a stream; null: no body. */
  readonly body: Uint8Array | null;
  readonly statusText: string;
}

const wholeAnswers = new WeakMap<Response, WholeAnswer>();

/**
 * A Response whose body is known whole (the engine's answers): the front writes it with the head
 * in one call, where reading it back through the web stream took two reads and their promises.
 * Anyone else reading it still finds an ordinary body; the front writes the bytes given here
 * even then. The front reads its status text here too: on @hono/node-server's Response, reading
 * `statusText`, `body` or `bodyUsed` builds a second, real Response (~25 µs warm).
 */
export function wholeResponse(body: Uint8Array | null, init: ResponseInit): Response {
  const response = new Response(body, init);
  wholeAnswers.set(response, { body, statusText: init.statusText ?? '' });
  return response;
}

/** What a `wholeResponse` was made from, if `response` is one. */
export function wholeAnswerOf(response: Response): WholeAnswer | undefined {
  return wholeAnswers.get(response);
}

/**
 * Writes `response` on `res`, streaming its body chunk by chunk (a watch is flushed as it
 * comes). If the client leaves, the body is cancelled; if the body fails midway, the connection
 * is cut so the client sees a truncated answer. Never rejects.
 */
export async function sendWebResponse(res: ServerResponse, response: Response, logger: Logger): Promise<void> {
  if (res.closed) {
    await response.body?.cancel().catch(() => undefined);
    return;
  }
  const headers = responseHeaders(response);
  const whole = wholeAnswers.get(response);
  const statusText = whole === undefined ? response.statusText : whole.statusText;
  if (statusText === '') res.writeHead(response.status, headers);
  else res.writeHead(response.status, statusText, headers);
  if (whole !== undefined) {
    if (whole.body === null) res.end();
    else res.end(whole.body);
    return;
  }
  const body = response.body;
  if (body === null) {
    res.end();
    return;
  }
  // undici types a Response body as ReadableStream<any>; bodies are bytes.
  const reader = (body as ReadableStream<Uint8Array>).getReader();
  const onClose = (): void => {
    reader.cancel().catch(() => undefined);
  };
  res.once('close', onClose);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value) && !(await drained(res))) return;
    }
    res.end();
  } catch (error) {
    if (!res.destroyed) {
      logger.warn({ error: errorMessage(error) }, 'response body failed midway; cutting the connection');
      res.destroy(error instanceof Error ? error : new Error(errorMessage(error)));
    }
  } finally {
    res.off('close', onClose);
  }
}
