/**
 * Reads whose scope sends them to another site (DESIGN.md §7, sharing): a GET or HEAD whose
 * scope, for the service it reads, leaves this site out (`kubectl get secret s --scope
 * '{secrets: Site2}'` on Site1, `kubectl get pods --scope '{Site2}'`) goes to a site of that
 * scope, and the answer streams back as it comes (a watch, a log follow), with
 * `X-Cheops-Forwarded-To`. A read whose scope includes this site is answered here: a replica here
 * is the resource, and a local read never waits on another site (but for an object this site
 * lacks: held-elsewhere.ts). Discovery (the API's own
 * description) is always answered here.
 *
 * Unlike a write (forward.ts), a read that failed at one site may go to the next: reading twice
 * changes nothing. A read that was forwarded here is answered here, whatever this site makes of
 * its scope: the sender's and this site's views of who is up may differ, and a read must not go
 * round in circles. A read under a cross scope that includes this site is answered from every
 * member (cross-read.ts). An upgrade (exec, port-forward) follows its scope the same way
 * (`upgradeRoute`), as a tunnel to the other site's front.
 */
import { CheopsError, ErrorCode, errorMessage } from '../../core/index.js';
import type { ResourceKey, SiteName } from '../../core/ids.js';
import type { GlueCall } from '../../glue/types.js';
import { resolveScope } from '../../scope/index.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { FrontCall, RequestScope, UpgradeElsewhere } from '../http/index.js';
import type { EngineContext } from './context.js';
import { crossGet, crossList, crossWatch, type CrossRead } from './cross-read.js';
import { forwardedHeaders, membersToTry, withinReadDeadline } from './forward.js';
import { CheopsHeader, forwardedFrom, relayStream, warning } from './http.js';
import { knownSitesOf } from './sites.js';

/** Where a read goes instead of this site: the sites of its scope, in scope order. */
export interface ReadElsewhere {
  readonly kind: 'elsewhere';
  readonly sites: readonly SiteName[];
  readonly scope: string;
  readonly warnings: readonly string[];
}

/** A read under a cross scope that includes this site: a list or a watch (merged), or one object or its subresource (cross-read.ts). */
export interface ReadAcross extends CrossRead {
  readonly kind: 'cross-list' | 'cross-watch' | 'cross-get';
  /** The object a `cross-get` reads, when the path names one (not a subresource). */
  readonly key?: ResourceKey;
}

export type ReadRoute = ReadElsewhere | ReadAcross;

const readMethods = new Set(['GET', 'HEAD']);

/** The service a call names, `''` for a path that names none (read where no per-service binding applies: by the scope's default). */
function serviceOf(classified: GlueCall): string {
  return classified.kind === 'other' ? (classified.service ?? '') : classified.service;
}

/**
 * Where a scoped read is answered: by other sites, by every member, or undefined when this
 * site answers it as any read (no scope, not a read, discovery, a scope that includes this site
 * but for a cross one, a read forwarded here but for one object under a cross scope sent by a
 * site outside it); or the error to answer: CHEOPS_SCOPE_UNKNOWN_SITE when the scope names a site
 * nobody knows, as for a write.
 */
export function routeRead(ctx: EngineContext, call: FrontCall, classified: GlueCall): ReadRoute | CheopsError | undefined {
  if (call.scope === undefined || !readMethods.has(call.method)) return undefined;
  const from = forwardedFrom(call);
  // Only a path that names no service can be the API's own description (the glue's parse, once).
  if (classified.kind === 'other' && classified.service === undefined && ctx.glue.isScopeFree(call.method, call.path)) return undefined;
  const service = serviceOf(classified);
  const resolved = resolveScope(call.scope.scope, service, knownSitesOf(ctx.sites));
  if (!resolved.ok) return from === undefined ? resolved.error : undefined;
  const { resolution } = resolved;
  const member = resolution.sites.includes(ctx.self);
  if (resolution.targetCollaboration !== 'cross') {
    if (from !== undefined || member) return undefined;
    return { kind: 'elsewhere', sites: resolution.sites, scope: call.scope.text, warnings: resolution.warnings };
  }
  // A cross read. A list or a watch spans the members from the site it reached, which asks each
  // for its own answer; so does a member's search for one object. A site outside the scope sends
  // a read of one object to a member instead, which spans the members for it.
  const list = classified.kind === 'other' && classified.list === true;
  const watch = classified.kind === 'other' && classified.watch === true;
  if (from !== undefined && (list || watch || resolution.sites.some((site) => site === from))) return undefined;
  const across = { sites: resolution.sites, scope: call.scope.text };
  if (list) return { kind: 'cross-list', ...across };
  if (watch) return { kind: 'cross-watch', ...across };
  // One object, from outside the scope: a member finds it, knowing the claims on its name (cross-claims.ts).
  if (!member) return { kind: 'elsewhere', sites: resolution.sites, scope: call.scope.text, warnings: resolution.warnings };
  return { kind: 'cross-get', ...across, ...(classified.kind === 'read' ? { key: classified.key } : {}) };
}

/**
 * The front's route for an upgrade (exec, attach, port-forward) carrying a scope: undefined to
 * tunnel it to this site's application (a scope that includes this site, or an upgrade forwarded
 * here); else a tunnel to the front of the first site of its scope seen up, which runs it on its
 * own application (`kubectl exec blue --scope '{Site2}'` through Site1 runs in Site2's blue).
 * CHEOPS_SITE_UNREACHABLE when no site of it has a known address.
 */
export function upgradeRoute(ctx: EngineContext, method: string, url: string, scope: RequestScope, headers: IncomingHttpHeaders): CheopsError | UpgradeElsewhere | undefined {
  if (headers[CheopsHeader.ForwardedFrom] !== undefined) return undefined;
  const mark = url.indexOf('?');
  const path = mark === -1 ? url : url.slice(0, mark);
  const classified = ctx.glue.classify({ method, path, query: mark === -1 ? '' : url.slice(mark + 1), contentType: undefined });
  const service = serviceOf(classified);
  const resolved = resolveScope(scope.scope, service, knownSitesOf(ctx.sites));
  if (!resolved.ok) return resolved.error;
  const { sites } = resolved.resolution;
  if (sites.includes(ctx.self)) return undefined;
  const failures: string[] = [];
  for (const { site, base } of membersToTry(ctx, sites, failures)) {
    ctx.logger.debug({ site, method, url }, 'upgrade tunnelled to a site of its scope');
    return { upstream: base, headers: [[CheopsHeader.Scope, scope.text], [CheopsHeader.ForwardedFrom, ctx.self]] };
  }
  return new CheopsError(ErrorCode.SiteUnreachable, `the scope ${scope.text} runs this on ${sites.join(', ')}: ${failures.join('; ')}`, { details: { sites } });
}

/** Answers a routed read: from another site, or from every member. */
export function answerRead(ctx: EngineContext, call: FrontCall, route: ReadRoute): Promise<Response> {
  switch (route.kind) {
    case 'elsewhere':
      return forwardRead(ctx, call, route);
    case 'cross-list':
      return crossList(ctx, call, route);
    case 'cross-watch':
      return crossWatch(ctx, call, route);
    case 'cross-get':
      return crossGet(ctx, call, route);
  }
}

/** Sends the read to the first site of `target` that answers and streams its answer back; CHEOPS_SITE_UNREACHABLE when none does. */
async function forwardRead(ctx: EngineContext, call: FrontCall, target: ReadElsewhere): Promise<Response> {
  const failures: string[] = [];
  for (const { site, base } of membersToTry(ctx, target.sites, failures)) {
    const headers = forwardedHeaders(ctx, call, target.scope);
    let answer: Response;
    try {
      // The deadline is for the answer to begin only: a watch's body never ends.
      answer = await withinReadDeadline(ctx, call.signal, (signal) => ctx.remote(new Request(new URL(call.url, base), { method: call.method, headers, signal }), signal));
    } catch (error) {
      if (call.signal.aborted) throw error;
      failures.push(`${site}: ${errorMessage(error)}`);
      ctx.logger.info({ site, url: call.url, error: errorMessage(error) }, 'scoped read not answered by a site of its scope; trying the next');
      continue;
    }
    ctx.metrics.forwardedReads.inc({ site });
    ctx.logger.debug({ site, method: call.method, url: call.url, status: answer.status }, 'read forwarded to a site of its scope');
    // The site that answered: the one asked, or the member it found the object on (a cross read).
    const answeredBy = answer.headers.has(CheopsHeader.ForwardedTo) ? [] : [[CheopsHeader.ForwardedTo, site] as const];
    return relayStream(answer, [...answeredBy, ...target.warnings.map(warning)]);
  }
  throw new CheopsError(
    ErrorCode.SiteUnreachable,
    `the scope ${target.scope} reads from ${target.sites.join(', ')}, not from this site (${ctx.self}), and none of them answered: ${failures.join('; ')}`,
    { details: { sites: target.sites, failures } },
  );
}
