/**
 * The front's filter of unscoped requests (node/http's InterceptFilter): replication is offered
 * only what may concern it, so every other request keeps the raw passthrough. It runs on every
 * unscoped request, hence a method test first, and a path parse only for writes and, while some
 * conflict waits to be reported, reads.
 */
import type { HeaderReader, InterceptFilter } from '../http/index.js';
import type { EngineContext } from './context.js';
import { bodyFormat } from './request-body.js';

/** The filter; `ctx.index` is read live, so it follows the replicants as they come and go. */
export function replicationWants(ctx: Pick<EngineContext, 'glue' | 'index'>): InterceptFilter {
  const classify = (method: string, path: string, headers: HeaderReader) =>
    ctx.glue.classify({ method, path, query: '', contentType: headers.get('content-type') ?? undefined });
  return (method, path, headers) => {
    switch (method) {
      case 'GET':
      case 'HEAD': {
        if (!ctx.index.hasUnreported()) return false;
        const call = classify(method, path, headers);
        return call.kind === 'read' && ctx.index.latest(call.key) !== undefined;
      }
      case 'POST':
      case 'PUT':
      case 'PATCH':
      case 'DELETE': {
        // A JSON or YAML body may carry a scope annotation: only reading it tells.
        if (method !== 'DELETE' && bodyFormat(headers.get('content-type') ?? undefined) !== 'opaque') return true;
        if (ctx.index.size === 0) return false;
        const call = classify(method, path, headers);
        return call.kind === 'write' && call.key !== undefined && ctx.index.live(call.key) !== undefined;
      }
      default:
        return false;
    }
  };
}
