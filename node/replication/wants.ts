/**
 * The front's filter of unscoped requests (node/http's InterceptFilter): replication is offered
 * only what may concern it, so every other request keeps the raw passthrough. It runs on every
 * unscoped request, hence a method test first, and a path parse only for writes other than JSON
 * ones (all offered) and, while some conflict waits to be reported, some namespace is replicated
 * (it may be a cross one) or some resource relies on a shared one, reads.
 */
import type { HeaderReader, InterceptFilter } from '../http/index.js';
import type { EngineContext } from './context.js';
import { containerScope } from './cross-container.js';
import { bodyFormat } from './request-body.js';

/** The filter; `ctx.index` is read live, so it follows the replicants as they come and go. */
export function replicationWants(ctx: Pick<EngineContext, 'glue' | 'index' | 'sites'>): InterceptFilter {
  const classify = (method: string, path: string, headers: HeaderReader) =>
    ctx.glue.classify({ method, path, query: '', contentType: headers.get('content-type') ?? undefined });
  return (method, path, headers) => {
    switch (method) {
      case 'GET':
      case 'HEAD': {
        const containers = ctx.index.hasContainers();
        const dependents = ctx.index.hasDependents();
        if (!ctx.index.hasUnreported() && !containers && !dependents) return false;
        const call = classify(method, path, headers);
        // In a cross namespace, a read spans the namespace's sites (cross-container.ts).
        if (containers && containerScope(ctx, call) !== undefined) return true;
        if (call.kind !== 'read') return false;
        // A resource relying on another may be at risk, or lack it (read-path.ts).
        if (dependents && (ctx.index.dependenciesOf(ctx.sites.self, call.key).length > 0 || ctx.index.lostDependenciesOf(ctx.sites.self, call.key).length > 0)) return true;
        return ctx.index.latest(call.key) !== undefined && ctx.index.hasUnreported();
      }
      case 'POST':
      case 'PUT':
      case 'PATCH':
      case 'DELETE': {
        // A JSON or YAML body may carry a scope annotation: only reading it tells.
        if (method !== 'DELETE' && bodyFormat(headers.get('content-type') ?? undefined) !== 'opaque') return true;
        const call = classify(method, path, headers);
        // A write of a named object takes its key's lock (interceptor.ts); a collection's delete
        // concerns replication only in a cross namespace.
        if (call.kind === 'write' && call.key !== undefined) return true;
        // A create named only by its answer may make again a name other sites relied on (reshare.ts).
        if (call.kind === 'write' && call.op === 'create' && ctx.index.hasDeletedRelied()) return true;
        return ctx.index.hasContainers() && containerScope(ctx, call) !== undefined;
      }
      default:
        return false;
    }
  };
}
