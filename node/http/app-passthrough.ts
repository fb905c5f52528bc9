/**
 * Passthrough to an application that lives in the same process (`FrontDeps.app` without a URL:
 * the stand-in in the simulator and in tests). The same forwarding rules as over HTTP
 * (forward-headers.ts), applied to a web Request handed to `app.fetch`; no socket anywhere, so a
 * simulated run stays deterministic.
 */
import { CheopsError, ErrorCode, errorMessage, type Logger } from '../../core/index.js';
import type { LocalApp } from '../local-app.js';
import { badRequest, errorResponse, writeError } from './errors.js';
import { hasRequestBody, upstreamRequestHeaders, webUpstreamHeaders, withoutHopByHop } from './forward-headers.js';
import { upstreamErrorReason, type FrontMetrics } from './metrics.js';
import type { Passthrough } from './passthrough.js';
import { requestBodyStream, sendWebResponse } from './web-bridge.js';

/** What the in-process passthrough needs. */
export interface AppPassthroughDeps {
  readonly app: LocalApp;
  readonly logger: Logger;
  readonly metrics: FrontMetrics;
}

/** A Passthrough that calls `app.fetch`. Closing it does not close the application (its creator does). */
export function createAppPassthrough(deps: AppPassthroughDeps): Passthrough {
  const call = async (request: Request, url: string): Promise<Response> => {
    try {
      return withoutHopByHop(await deps.app.fetch(request));
    } catch (error) {
      if (request.signal.aborted) throw error;
      deps.metrics.upstreamError(upstreamErrorReason(error));
      deps.logger.warn({ method: request.method, url, error: errorMessage(error) }, 'local application unreachable');
      return errorResponse(
        new CheopsError(ErrorCode.AppUnreachable, `the local application is unreachable: ${errorMessage(error)}`, { cause: error }),
      );
    }
  };
  return {
    forward(req, res, url) {
      if (!url.startsWith('/')) {
        writeError(res, badRequest(`unsupported request target ${JSON.stringify(url.slice(0, 100))}`));
        return;
      }
      const controller = new AbortController();
      res.once('close', () => {
        if (!res.writableFinished) controller.abort(new DOMException('the client closed the connection', 'AbortError'));
      });
      const headers = new Headers();
      const flat = upstreamRequestHeaders(req);
      for (let i = 0; i + 1 < flat.length; i += 2) headers.append(flat[i] as string, flat[i + 1] as string);
      const method = req.method ?? 'GET';
      const init: RequestInit & { duplex?: 'half' } = { method, headers, signal: controller.signal };
      if (method !== 'GET' && method !== 'HEAD' && hasRequestBody(req)) {
        init.body = requestBodyStream(req);
        init.duplex = 'half';
      }
      const request = new Request(`http://${req.headers.host ?? 'localhost'}${url}`, init);
      void call(request, url).then(
        (response) => sendWebResponse(res, response, deps.logger),
        (error: unknown) => {
          if (!res.closed) writeError(res, error);
        },
      );
    },
    fetch(request, url) {
      if (!url.startsWith('/')) return Promise.resolve(errorResponse(badRequest(`unsupported request target ${JSON.stringify(url.slice(0, 100))}`)));
      const { protocol, host } = new URL(request.url);
      const init: RequestInit & { duplex?: 'half' } = { method: request.method, headers: webUpstreamHeaders(request), signal: request.signal };
      if (request.body !== null && request.method !== 'GET' && request.method !== 'HEAD') {
        init.body = request.body;
        init.duplex = 'half';
      }
      // Concatenated, not resolved: a target starting with `//` must stay a path.
      return call(new Request(`${protocol}//${host}${url}`, init), url);
    },
    close: () => Promise.resolve(),
  };
}
