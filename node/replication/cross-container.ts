/**
 * Cross namespaces (DESIGN.md §7): a namespace created under a cross scope (`{Site1 % Site2}`) is
 * replicated to the members of the scope (interceptor.ts), and its replicant keeps the scope as
 * written. A request without a scope inside such a namespace takes that scope, so the namespace
 * behaves as one across its sites without the user repeating it: `kubectl get pods -n foo` on
 * either site lists every member's pods, `kubectl run blue -n foo` makes blue here once no member
 * holds the name, `kubectl label pod blue -n foo …` reaches blue where it lives.
 */
import { parseScope, resolveScope, type Scope } from '../../scope/index.js';
import type { GlueCall } from '../../glue/types.js';
import type { FrontCall, RequestScope } from '../http/index.js';
import type { EngineContext } from './context.js';
import type { IndexEntry } from './key-index.js';
import { knownSitesOf } from './sites.js';

/** Scopes as parsed, by their text: a cross namespace's scope is read on every request in it. */
const parsed = new Map<string, Scope | undefined>();

function parsedScope(text: string): Scope | undefined {
  if (!parsed.has(text)) {
    const result = parseScope(text);
    // Bounded: the texts are the scopes of namespaces held here, a handful.
    if (parsed.size > 1_000) parsed.clear();
    parsed.set(text, result.ok ? result.scope : undefined);
  }
  return parsed.get(text);
}

function namespaceOf(classified: GlueCall): string | undefined {
  switch (classified.kind) {
    case 'read':
      return classified.key.namespace;
    case 'write':
      return classified.key?.namespace ?? classified.namespace;
    case 'other':
      return classified.namespace;
  }
}

/** The cross namespace `namespace` is (its live index entry and scope), if it is one. */
export function crossContainer(ctx: Pick<EngineContext, 'glue' | 'index' | 'sites'>, namespace: string | undefined): { entry: IndexEntry; scope: Scope } | undefined {
  if (!ctx.index.hasContainers() || namespace === undefined) return undefined;
  const container = ctx.glue.containerKey(namespace);
  const entry = ctx.index.live(container);
  if (entry === undefined) return undefined;
  const scope = parsedScope(entry.scope);
  if (scope === undefined) return undefined;
  const resolved = resolveScope(scope, container.service, knownSitesOf(ctx.sites));
  if (!resolved.ok || resolved.resolution.targetCollaboration !== 'cross') return undefined;
  return { entry, scope };
}

/** The scope a request without one takes from the cross namespace it is in, if it is in one. */
export function containerScope(ctx: Pick<EngineContext, 'glue' | 'index' | 'sites'>, classified: GlueCall): RequestScope | undefined {
  if (!ctx.index.hasContainers()) return undefined;
  const found = crossContainer(ctx, namespaceOf(classified));
  return found === undefined ? undefined : { text: found.entry.scope, scope: found.scope, carrier: 'header' };
}

/** `call` with `scope`; everything else is `call`'s own (its body, read once, stays its). */
export function withScope(call: FrontCall, scope: RequestScope): FrontCall {
  return {
    method: call.method,
    url: call.url,
    path: call.path,
    query: call.query,
    scope,
    logger: call.logger,
    get headers() {
      return call.headers;
    },
    get signal() {
      return call.signal;
    },
    request: () => call.request(),
    readBody: (maxBytes) => call.readBody(maxBytes),
  };
}
