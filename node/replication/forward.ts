/**
 * Forwarding (docs/REPLICATION.md §2, step 2): a write whose scope leaves this site out goes, as
 * it is and with its scope, to the first member that is up (the others in scope order if it cannot
 * be reached), and its answer comes back with `X-Cheops-Forwarded-To`. Nothing is stored here.
 * A member that got the request but whose answer never came back is not followed by another: the
 * write may have been applied, and applying it twice could bring back what someone deleted since
 * (found by the simulator, seed 12058). The client gets a 504 and decides.
 */
import { CheopsError, ErrorCode, errorMessage } from '../../core/index.js';
import type { SiteName } from '../../core/ids.js';
import type { WriteOperation } from '../../glue/types.js';
import type { FrontCall } from '../http/index.js';
import type { EngineContext } from './context.js';
import { readAnswer, type LocalAnswer } from '../local-app.js';
import { CheopsHeader, relay, requestHeaders, warning } from './http.js';
import type { WriteBody } from './request-body.js';
import { fetchLocal } from './write-path.js';

/** Cheops headers a forwarded request keeps: the member waits as the client asked. */
const keptHeaders = [CheopsHeader.Wait, CheopsHeader.WaitTimeout];

/**
 * Failures that happen before a connection exists (undici's codes, also in the message of its
 * `cause`): the request never reached the site, so another member may take it. Anything else (a
 * reset, a stalled answer) may come after the member applied it.
 */
const notConnectedCodes = ['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'];

function neverDelivered(error: unknown): boolean {
  const cause = error instanceof Error ? error.cause : undefined;
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : '';
  const text = `${code} ${cause instanceof Error ? cause.message : ''}`;
  return notConnectedCodes.some((known) => text.includes(known));
}

/** Members up first, each list in scope order; this site never. */
export function forwardOrder(ctx: EngineContext, sites: readonly SiteName[]): SiteName[] {
  const others = sites.filter((site) => site !== ctx.self);
  return [...others.filter((site) => ctx.sites.isUp(site)), ...others.filter((site) => !ctx.sites.isUp(site))];
}

/** The members to send to, in `forwardOrder`, with their fronts' base URLs; one with no address yet is noted in `failures`. */
export function* membersToTry(ctx: EngineContext, sites: readonly SiteName[], failures: string[]): Generator<{ readonly site: SiteName; readonly base: string }> {
  for (const site of forwardOrder(ctx, sites)) {
    const base = ctx.sites.httpOf(site);
    if (base === undefined) failures.push(`${site}: its HTTP address is not known yet`);
    else yield { site, base };
  }
}

/**
 * Runs `work` (a read from another site) under `outer` and the read deadline
 * (`remoteReadTimeoutMs`); past it, fails with an error saying so. The work is raced against the
 * deadline as well as handed its signal: a Request made with a signal follows it only weakly
 * (undici #3644), so after a garbage collection its abort may never reach the request, which
 * then waits on a site that does not answer (a test hung so, 1 run in ~20).
 */
export async function withinReadDeadline<T>(ctx: EngineContext, outer: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = new AbortController();
  const timer = ctx.clock.setTimeout(() => deadline.abort(new DOMException(`deadline of ${ctx.options.remoteReadTimeoutMs} ms passed`, 'TimeoutError')), ctx.options.remoteReadTimeoutMs);
  const onOuter = (): void => deadline.abort(outer.reason);
  if (outer.aborted) onOuter();
  else outer.addEventListener('abort', onOuter, { once: true });
  const ended = new Promise<never>((_resolve, reject) => {
    const end = (): void => reject(deadline.signal.reason instanceof Error ? deadline.signal.reason : new DOMException('aborted', 'AbortError'));
    if (deadline.signal.aborted) end();
    else deadline.signal.addEventListener('abort', end, { once: true });
  });
  try {
    return await Promise.race([work(deadline.signal), ended]);
  } catch (error) {
    if (deadline.signal.aborted && !outer.aborted) throw new Error(`no answer within ${ctx.options.remoteReadTimeoutMs} ms`, { cause: error });
    throw error;
  } finally {
    // `outer` stays linked: an answer still streaming (a watch) ends when the client leaves.
    timer.cancel();
  }
}

/**
 * `call`, a read, sent as it came to the front at `base` (another site of its scope), marked
 * forwarded with `scope`, and answered within the read deadline. Throws when that site cannot be asked.
 */
export async function readForwarded(ctx: EngineContext, call: FrontCall, base: string, scope: string): Promise<LocalAnswer> {
  const headers = forwardedHeaders(ctx, call, scope);
  return withinReadDeadline(ctx, call.signal, async (signal) =>
    readAnswer(await ctx.remote(new Request(new URL(call.url, base), { method: call.method, headers, signal }), signal)),
  );
}

/**
 * A JSON read of `path` on `site`: this site's application, or another site's front (sent as
 * forwarded, with `scope`: that front answers from its own application) within the read
 * deadline. Throws when the site cannot be asked.
 */
export async function readOn(ctx: EngineContext, call: FrontCall, site: SiteName, path: string, scope: string, extra: Readonly<Record<string, string>> = {}): Promise<LocalAnswer> {
  if (site === ctx.self) return fetchLocal(ctx, { method: 'GET', path, headers: new Headers({ accept: 'application/json' }) });
  const base = ctx.sites.httpOf(site);
  if (base === undefined) throw new Error('its HTTP address is not known yet');
  const headers = forwardedHeaders(ctx, call, scope);
  headers.set('accept', 'application/json');
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  return withinReadDeadline(ctx, call.signal, async (signal) => readAnswer(await ctx.remote(new Request(new URL(path, base), { headers, signal }), signal)));
}

/**
 * A JSON POST of `body` to `path` (the admin API: a share, a notice) on another site's front,
 * within the read deadline. `call`: the client's request it is made for (its headers travel, it
 * ends when the client leaves); none when this site sends it on its own. Throws when the site
 * cannot be asked.
 */
export async function postOn(ctx: EngineContext, call: FrontCall | undefined, site: SiteName, path: string, body: unknown): Promise<LocalAnswer> {
  const base = ctx.sites.httpOf(site);
  if (base === undefined) throw new Error('its HTTP address is not known yet');
  const headers = call === undefined ? new Headers({ [CheopsHeader.ForwardedFrom]: ctx.self }) : forwardedHeaders(ctx, call, `{${site}}`);
  headers.set('content-type', 'application/json');
  headers.set('accept', 'application/json');
  return withinReadDeadline(ctx, call?.signal ?? new AbortController().signal, async (signal) =>
    readAnswer(await ctx.remote(new Request(new URL(path, base), { method: 'POST', headers, body: JSON.stringify(body), signal }), signal)),
  );
}

/** The headers of `call` sent on to another site of its scope: the scope, and where it comes from. */
export function forwardedHeaders(ctx: EngineContext, call: FrontCall, scope: string, keepCheops: readonly string[] = []): Headers {
  const headers = requestHeaders(call.headers, keepCheops);
  headers.set(CheopsHeader.Scope, scope);
  headers.set(CheopsHeader.ForwardedFrom, ctx.self);
  return headers;
}

/** Forwards a write to a member of its scope and relays the answer; CHEOPS_SITE_UNREACHABLE when none can take it. */
export async function forwardWrite(
  ctx: EngineContext,
  call: FrontCall,
  body: WriteBody | undefined,
  target: {
    readonly sites: readonly SiteName[]; readonly scope: string; readonly warnings: readonly string[]; readonly op: WriteOperation;
    /** This site is a member sending the write on to the member holding the object (a cross scope): a second hop, never a third. */
    readonly onward?: boolean;
    /** Why this site sends the write on, when not because the scope leaves it out (held-elsewhere.ts: it lacks the object). */
    readonly notHere?: string;
  },
): Promise<Response> {
  const from = call.headers[CheopsHeader.ForwardedFrom];
  if (from !== undefined && target.onward !== true) {
    // The sender resolved the scope to us; we resolve it elsewhere (our views of the sites differ).
    // Forwarding again could go round in circles.
    throw new CheopsError(ErrorCode.SiteUnreachable, `${ctx.self} is not a member of the scope ${target.scope} (forwarded here by ${String(from)}); not forwarding again`, {
      details: { scope: target.scope, from },
    });
  }
  const why = target.notHere ?? `this site, ${ctx.self}, is not in the scope ${target.scope}`;
  const failures: string[] = [];
  for (const { site, base } of membersToTry(ctx, target.sites, failures)) {
    const headers = forwardedHeaders(ctx, call, target.scope, keptHeaders);
    if (body?.contentType !== undefined) headers.set('content-type', body.contentType);
    const hasBody = body !== undefined && body.bytes.length > 0;
    const request = new Request(new URL(call.url, base), { method: call.method, headers, body: hasBody ? body.bytes : null, signal: call.signal });
    let answer;
    try {
      answer = await readAnswer(await ctx.remote(request, call.signal));
    } catch (error) {
      if (call.signal.aborted) throw error;
      if (!neverDelivered(error)) {
        // The member may have applied it: another member would apply it a second time.
        throw new CheopsError(
          ErrorCode.ForwardOutcomeUnknown,
          `the request was forwarded to ${site} (${why}) but no answer came back: ${errorMessage(error)}; it may have been applied there, so it was not sent to another member`,
          { cause: error, details: { site, scope: target.scope } },
        );
      }
      failures.push(`${site}: ${errorMessage(error)}`);
      ctx.logger.info({ site, url: call.url, error: errorMessage(error) }, 'forward failed before reaching the member; trying the next member');
      continue;
    }
    ctx.metrics.writes.inc({ op: target.op, result: 'forwarded' });
    ctx.logger.info({ site, method: call.method, url: call.url, status: answer.status }, 'write forwarded to a member of its scope');
    // The site that applied it: the member, or the one it sent the write on to (a cross scope).
    const appliedBy = answer.headers.has(CheopsHeader.ForwardedTo) ? [] : [[CheopsHeader.ForwardedTo, site] as const];
    return relay(answer, [...appliedBy, ...target.warnings.map(warning)]);
  }
  throw new CheopsError(
    ErrorCode.SiteUnreachable,
    `${why}, and no other site of it could take the request: ${failures.join('; ')}`,
    { details: { sites: target.sites, failures } },
  );
}
