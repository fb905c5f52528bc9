/**
 * Reads under a cross scope (`{Site1 % Site2}`, DESIGN.md §7: one resource spread over the
 * sites). A list asks every member at once, this site's application when it is one (a list or a
 * watch from outside the scope spans the members from the site it reached) and the others'
 * fronts, and answers their lists merged by the glue (`kubectl get` shows a SITE column), with a
 * `Warning` for each member left out: one seen down is not waited for (local first), one that
 * fails is named with its error. A watch streams every member's events as
 * one. A read of one object (or of its log, or another subresource) is answered by this site
 * when it holds the object, else by the first other member that does (`X-Cheops-Forwarded-To`);
 * a name made on two sides of a partition, by the winner of its claims (cross-claims.ts).
 */
import { CheopsError, ErrorCode, errorMessage } from '../../core/index.js';
import type { ResourceKey, SiteName } from '../../core/ids.js';
import type { SiteList } from '../../glue/types.js';
import type { FrontCall } from '../http/index.js';
import { readAnswer } from '../local-app.js';
import type { EngineContext } from './context.js';
import { contest, contestWarning } from './cross-claims.js';
import { forwardedHeaders, forwardOrder, withinReadDeadline } from './forward.js';
import { answerJson, CheopsHeader, relay, relayStream, requestHeaders, warning } from './http.js';

/** A cross read: the members of its scope (this site among them), in scope order. */
export interface CrossRead {
  readonly sites: readonly SiteName[];
  readonly scope: string;
  /** The object read, when the path names one. */
  readonly key?: ResourceKey;
}

/** What one member answered (`T`: its answer read whole, or the streamed answer), or why it did not. */
type MemberAnswer<T> = { readonly site: SiteName; readonly answer: T } | { readonly site: SiteName; readonly failure: string };

/**
 * Asks `site` for the read (its own target, see the glue's `memberTarget`): this site's
 * application, or another site's front, which answers from its own. `take` reads what is kept of
 * the answer: all of it for a list, nothing for a stream (a watch, a log follow); for another
 * site, the deadline (`remoteReadTimeoutMs`) covers the request and `take`.
 */
async function askMember<T>(ctx: EngineContext, call: FrontCall, site: SiteName, scope: string, signal: AbortSignal, take: (response: Response) => Promise<T>): Promise<MemberAnswer<T>> {
  const target = ctx.glue.memberTarget(call.url, site);
  try {
    if (site === ctx.self) {
      return { site, answer: await take(await ctx.localApp.fetch(new Request(`http://local-application${target}`, { method: call.method, headers: requestHeaders(call.headers), signal }), signal)) };
    }
    const base = ctx.sites.httpOf(site);
    if (base === undefined) return { site, failure: 'its HTTP address is not known yet' };
    const headers = forwardedHeaders(ctx, call, scope);
    return { site, answer: await withinReadDeadline(ctx, signal, async (inner) => take(await ctx.remote(new Request(new URL(target, base), { method: call.method, headers, signal: inner }), inner))) };
  } catch (error) {
    return { site, failure: errorMessage(error) };
  }
}

const whole = readAnswer;
const streamed = (response: Response): Promise<Response> => Promise.resolve(response);

/** Every member's list, merged; the members left out named in warnings. */
export async function crossList(ctx: EngineContext, call: FrontCall, read: CrossRead): Promise<Response> {
  const asked = read.sites.filter((site) => site === ctx.self || ctx.sites.isUp(site));
  const notes = read.sites.filter((site) => !asked.includes(site)).map((site) => `${site} is unreachable: its objects are not in this list`);
  const answers = await Promise.all(asked.map((site) => askMember(ctx, call, site, read.scope, call.signal, whole)));
  const lists: SiteList[] = [];
  for (const member of answers) {
    if ('failure' in member) notes.push(`${member.site} did not answer (${member.failure}): its objects are not in this list`);
    else if (member.answer.status !== 200) notes.push(`${member.site} answered ${member.answer.status}: its objects are not in this list`);
    else lists.push({ site: member.site, body: answerJson(member.answer) });
  }
  const here = answers.find((member) => member.site === ctx.self);
  const local = here !== undefined && 'answer' in here ? here.answer : undefined;
  const merged = lists.length === 0 ? undefined : ctx.glue.mergeLists(lists);
  if (merged === undefined) {
    // Nothing to merge (every member failed, or answers of different kinds): this site's own answer, as it is.
    if (local === undefined) throw new CheopsError(ErrorCode.SiteUnreachable, `no member of ${read.scope} answered: ${notes.join('; ')}`, { details: { sites: read.sites } });
    const why = lists.length === 0 ? [] : [`the lists of ${lists.map((list) => list.site).join(', ')} could not be merged: this answer is ${ctx.self}'s only`];
    return relay(local, [...notes, ...why].map(warning));
  }
  const body = new TextEncoder().encode(JSON.stringify(merged));
  const headers = new Headers({ 'content-type': 'application/json' });
  return relay({ status: 200, statusText: 'OK', headers, body }, notes.map(warning));
}

/**
 * Every member's watch as one stream: each member's events as they come, through the glue
 * (`watchEvent`: the site's cell in a table's rows, the columns once; bookmarks left out). A
 * member seen down is not watched, and one whose watch does not open is left out, each named in
 * a `Warning`. The stream ends when any member's does (a timeout, a site gone), as a watch
 * whose server closed it: the client lists and watches again (kubectl and client-go do).
 */
export async function crossWatch(ctx: EngineContext, call: FrontCall, read: CrossRead): Promise<Response> {
  const asked = read.sites.filter((site) => site === ctx.self || ctx.sites.isUp(site));
  const notes = read.sites.filter((site) => !asked.includes(site)).map((site) => `${site} is unreachable: its objects are not in this watch`);
  // Not AbortSignal.any: a signal made so may be collected, and its abort lost, once this returns.
  const stop = new AbortController();
  const onGone = (): void => stop.abort(call.signal.reason);
  if (call.signal.aborted) onGone();
  else call.signal.addEventListener('abort', onGone, { once: true });
  const { signal } = stop;
  const opened = await Promise.all(asked.map((site) => askMember(ctx, call, site, read.scope, signal, streamed)));
  const watches: Array<{ readonly site: SiteName; readonly answer: Response }> = [];
  for (const member of opened) {
    if ('failure' in member) notes.push(`${member.site} did not answer (${member.failure}): its objects are not in this watch`);
    else watches.push(member);
  }
  // A member that refused (an expired version, a bad selector) answers for all: the client must hear it.
  const refusal = watches.find((member) => member.answer.status !== 200);
  if (refusal !== undefined || watches.length === 0) {
    stop.abort();
    for (const member of watches) if (member !== refusal) void member.answer.body?.cancel().catch(() => undefined);
    if (refusal === undefined) throw new CheopsError(ErrorCode.SiteUnreachable, `no member of ${read.scope} could be watched: ${notes.join('; ')}`, { details: { sites: read.sites } });
    return relay(await readAnswer(refusal.answer), notes.map(warning));
  }
  const encoder = new TextEncoder();
  let headersSent = false;
  let ended = false;
  const readers = watches.map((member) => ({ site: member.site, reader: (member.answer.body as ReadableStream<Uint8Array>).getReader() }));
  const endAll = (): void => {
    if (ended) return;
    ended = true;
    stop.abort();
    for (const { reader } of readers) void reader.cancel().catch(() => undefined);
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const { site, reader } of readers) {
        void (async () => {
          const decoder = new TextDecoder();
          let pending = '';
          try {
            for (;;) {
              const { value, done } = await reader.read();
              if (done || ended) break;
              pending += decoder.decode(value, { stream: true });
              let newline = pending.indexOf('\n');
              while (newline !== -1) {
                const line = pending.slice(0, newline).trim();
                pending = pending.slice(newline + 1);
                newline = pending.indexOf('\n');
                if (line === '' || ended) continue;
                const passed = ctx.glue.watchEvent(site, parseLine(line), headersSent);
                if (passed === undefined) continue;
                headersSent ||= passed.headers;
                controller.enqueue(encoder.encode(`${JSON.stringify(passed.event)}\n`));
              }
            }
          } catch (error) {
            if (!ended) ctx.logger.info({ site, url: call.url, error: errorMessage(error) }, 'a member\'s watch failed; ending the cross watch');
          }
          if (!ended) {
            endAll();
            controller.close();
          }
        })();
      }
    },
    cancel() {
      endAll();
    },
  });
  const headers = new Headers({ 'content-type': watches[0]?.answer.headers.get('content-type') ?? 'application/json' });
  for (const note of notes) headers.append(...warning(note));
  return new Response(body, { status: 200, headers });
}

/** A watch event's line as JSON, or undefined when it is not JSON (the glue leaves it out). */
function parseLine(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * One object, or a subresource of one (a log, followed or not): this site's answer when it holds
 * the object, else the first other member's that does, streamed as it comes.
 */
export async function crossGet(ctx: EngineContext, call: FrontCall, read: CrossRead): Promise<Response> {
  // Made on two sides of a partition: the winner's object is the one read (cross-claims.ts).
  const contested = read.key === undefined ? undefined : await contest(ctx, call, read.key, call.path, read.scope);
  if (contested !== undefined && read.key !== undefined) {
    const note = warning(contestWarning(read.key, contested));
    const winner = await askMember(ctx, call, contested.winner, read.scope, call.signal, streamed);
    if ('answer' in winner && winner.answer.status !== 404) {
      return relayStream(winner.answer, [...(contested.winner === ctx.self ? [] : [[CheopsHeader.ForwardedTo, contested.winner] as const]), note]);
    }
    if ('answer' in winner) void winner.answer.body?.cancel().catch(() => undefined);
  }
  const here = await askMember(ctx, call, ctx.self, read.scope, call.signal, streamed);
  if ('answer' in here && here.answer.status !== 404) return relayStream(here.answer);
  // Small, and the answer if no member holds the object.
  const notFound = 'answer' in here ? await readAnswer(here.answer) : undefined;
  const notes: string[] = [];
  for (const site of forwardOrder(ctx, read.sites)) {
    if (!ctx.sites.isUp(site)) {
      notes.push(`${site} is unreachable: the object may live there`);
      continue;
    }
    const member = await askMember(ctx, call, site, read.scope, call.signal, streamed);
    if ('failure' in member) notes.push(`${site} did not answer (${member.failure}): the object may live there`);
    else if (member.answer.status !== 404) return relayStream(member.answer, [[CheopsHeader.ForwardedTo, site], ...notes.map(warning)]);
    else void member.answer.body?.cancel().catch(() => undefined);
  }
  if (notFound !== undefined) return relay(notFound, notes.map(warning));
  throw new CheopsError(ErrorCode.AppUnreachable, `the local application did not answer (${'failure' in here ? here.failure : ''}), and no other member of ${read.scope} holds the object`, {
    details: { sites: read.sites },
  });
}
