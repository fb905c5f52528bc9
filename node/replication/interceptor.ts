/**
 * The replication engine's hook in the front (node/http's Interceptor): it decides, for every
 * request the front does not own, whether replication takes it (docs/REPLICATION.md §2):
 *
 * - a read (a get, a list, a watch) whose scope leaves this site out goes to a site of it
 *   (read-forward.ts); under a cross scope it spans the members (cross-read.ts); without a scope
 *   in a cross namespace, the namespace's scope applies (cross-container.ts);
 * - reads of a resource with unreported conflicts get their warnings; other reads, lists and
 *   watches pass through (synchronously, no promise);
 * - a write with a scope (header, path prefix or manifest annotation) is resolved: this site only
 *   → the local application; a replication including this site → the write path; a scope leaving
 *   this site out → forwarded to a member; a cross scope → the member holding the object, or a
 *   create here once no member holds its name (cross-write.ts), a namespace replicated; a
 *   create or replace first shares what its scope takes from other sites (share.ts), and a
 *   delete of what others rely on is refused (reliance.ts);
 * - a scoped read or write (not a create) of an object this member lacks, which its application
 *   answers 404, goes on to the scope's other members (held-elsewhere.ts);
 * - a write without a scope on a resource with a live replicant is a replicated write with the
 *   replicant's own scope; any other write goes to the local application as it came.
 */
import { CheopsError, ErrorCode } from '../../core/index.js';
import { isSiteName, type ResourceKey, type SiteName } from '../../core/ids.js';
import { BindingSource, parseScope, resolveScope, type Scope } from '../../scope/index.js';
import { isJsonObject, type JsonObject } from '../../glue/json.js';
import type { GlueWriteCall } from '../../glue/types.js';
import type { FrontCall, Interceptor, RequestScope } from '../http/index.js';
import type { EngineContext } from './context.js';
import { releaseName } from './cross-claims.js';
import { containerScope, withScope } from './cross-container.js';
import { crossWrite } from './cross-write.js';
import { refuseIfReliedUpon } from './reliance.js';
import { shareDependencies } from './share.js';
import { afterSentOn, noneSentOn, readFollowing } from './sent-on.js';
import { noticeMadeAgainAmong } from './reshare.js';
import { forwardWrite } from './forward.js';
import { otherMembers, readHereOrElsewhere, writeHereOrElsewhere } from './held-elsewhere.js';
import { CheopsHeader, describeKey, firstValue, parseWait, relay } from './http.js';
import type { IndexEntry } from './key-index.js';
import { answerRead, routeRead } from './read-forward.js';
import { readWithWarnings } from './read-path.js';
import { bodyFormat, readWriteBody, type WriteBody } from './request-body.js';
import { knownSitesOf } from './sites.js';
import { fetchLocal, localRequest, replicatedWrite, sendLocal } from './write-path.js';

/** Where a write runs. */
type WritePlan =
  | { readonly kind: 'local'; readonly warnings: readonly string[] }
  | { readonly kind: 'forward'; readonly sites: readonly SiteName[]; readonly scope: string; readonly warnings: readonly string[] }
  | {
      readonly kind: 'replicate'; readonly sites: readonly SiteName[]; readonly scope: string; readonly warnings: readonly string[]; readonly scoped: boolean;
      /** Sites the scope adds to the live replicant (`sites` lists them already). */
      readonly joining?: readonly SiteName[];
    }
  | { readonly kind: 'cross'; readonly sites: readonly SiteName[]; readonly scope: string; readonly warnings: readonly string[] };

/** Builds the interceptor over the engine's parts. */
export function replicationInterceptor(ctx: EngineContext): Interceptor {
  return (offered) => {
    const classified = ctx.glue.classify({ method: offered.method, path: offered.path, query: offered.query, contentType: firstValue(offered.headers['content-type']) });
    // Without a scope, a request in a cross namespace takes the namespace's (cross-container.ts).
    const implied = offered.scope === undefined ? containerScope(ctx, classified) : undefined;
    const call = implied === undefined ? offered : withScope(offered, implied);
    // A reliance check looking for an object this site is making (creating.ts): coming, not gone.
    if (classified.kind === 'read' && firstValue(call.headers[CheopsHeader.Probe]) === 'dependent' && ctx.creating.has(classified.key)) {
      return Promise.resolve(Response.json({ kind: 'Status', apiVersion: 'v1', status: 'Success', code: 202, message: `${describeKey(classified.key)} is being made on ${ctx.self}` }, { status: 202 }));
    }
    const route = routeRead(ctx, call, classified);
    if (route instanceof CheopsError) return Promise.reject(route);
    if (route !== undefined) return answerRead(ctx, call, route);
    if (classified.kind === 'other') return undefined;
    if (classified.kind === 'read') {
      const others = otherMembers(ctx, call, classified.service, classified.key);
      // After a write sent on that this copy may lack, the read follows it (sent-on.ts).
      if (others === undefined && ctx.sentOn.has(classified.key)) {
        return readFollowing(ctx, call, classified.key, () => readWithWarnings(ctx, call, classified) ?? fetchLocal(ctx, localRequest(call, undefined)).then((answer) => relay(answer)));
      }
      const withWarnings = readWithWarnings(ctx, call, classified);
      if (others === undefined) return withWarnings;
      const here = withWarnings ?? fetchLocal(ctx, localRequest(call, undefined)).then((answer) => relay(answer));
      return here.then((answer) => readHereOrElsewhere(ctx, call, classified.key, others, answer));
    }
    const pathKey = classified.key;
    const live = pathKey === undefined ? undefined : ctx.index.live(pathKey);
    // Nothing here can concern replication without reading the body: pass through untouched. A
    // write of a named object takes its key's lock all the same: a replicant of it may be made
    // meanwhile (a share granted to another site, a dependency followed), which must read the
    // object before this write or after it; a delete let through while a share read the object
    // left the other site a copy of what its owner had deleted.
    const opaque = classified.op === 'delete' || bodyFormat(firstValue(call.headers['content-type'])) === 'opaque';
    // A create named only by its answer, though, may make again a name other sites relied on (reshare.ts).
    const mayMakeAgain = classified.op === 'create' && ctx.index.hasDeletedRelied();
    if (call.scope === undefined && live === undefined && opaque && pathKey === undefined && !mayMakeAgain) return undefined;
    return handleWrite(ctx, call, classified);
  };
}

async function handleWrite(ctx: EngineContext, call: FrontCall, write: GlueWriteCall): Promise<Response> {
  const body = await readWriteBody(call, ctx.glue);
  if (write.op === 'delete' && body.parsed !== undefined && ctx.glue.isDryRunBody(body.parsed)) return sendLocal(ctx, call, body, []);
  return planAndWrite(ctx, call, write, body);
}

async function planAndWrite(ctx: EngineContext, call: FrontCall, write: GlueWriteCall, body: WriteBody): Promise<Response> {
  const wait = parseWait(call.headers, ctx.options.defaultWaitMs, ctx.options.maxWaitMs);
  const scope = requestScope(call.scope, body.scope);
  const key = write.key ?? (isJsonObject(body.parsed) ? ctx.glue.keyOfObject(body.parsed, write) : undefined);
  const live = key === undefined ? undefined : ctx.index.live(key);
  const planned = planWrite(ctx, write, scope, live);
  // What the object needs from the sites its scope takes other services from comes first (share.ts).
  // Widened, it needs them on its new sites too: those its whole desired state names (a label's
  // patch names none), made there before the object is.
  const widening = planned.kind === 'replicate' && planned.joining !== undefined && live !== undefined;
  const object = widening ? await desiredObject(ctx, live) : isJsonObject(body.parsed) ? body.parsed : undefined;
  const shares = scope !== undefined && object !== undefined && planned.kind !== 'forward' && (write.op === 'create' || write.op === 'update' || widening);
  // The sites the object goes to: a replicated one's (this site among them), else this site alone.
  const consumers = planned.kind === 'replicate' ? planned.sites : [ctx.self];
  // Until it is made or refused, an owner's reliance check hears it is coming (creating.ts).
  const end = shares && key !== undefined && write.op === 'create' ? ctx.creating.begin(key) : undefined;
  try {
    const preflight = write.op === 'create' ? () => refusedByApplication(ctx, call, body) : undefined;
    const shared = shares ? await shareDependencies(ctx, call, write, object, scope, consumers, key, preflight) : { notes: [] };
    if (shared.refused !== undefined) return shared.refused;
    const plan = shared.notes.length === 0 ? planned : { ...planned, warnings: [...planned.warnings, ...shared.notes] };
    return await writePlanned(ctx, call, write, body, plan, key, live, wait);
  } finally {
    end?.();
  }
}

async function writePlanned(
  ctx: EngineContext, call: FrontCall, write: GlueWriteCall, body: WriteBody, plan: WritePlan, key: ResourceKey | undefined, live: IndexEntry | undefined, wait: ReturnType<typeof parseWait>,
): Promise<Response> {
  // A write of the key sent on before this one, which this site's copy does not hold yet: this one follows it (sent-on.ts).
  const madeHere = plan.kind === 'local' || plan.kind === 'replicate';
  const after = key === undefined || !madeHere || ctx.sentOn.size === 0 ? noneSentOn : await afterSentOn(ctx, call, key);
  if (after.kind === 'follow' && key !== undefined) {
    const scope = call.scope?.text ?? after.sent.scope;
    const answer = await forwardWrite(ctx, call, body, { sites: [after.sent.site], scope, warnings: [...plan.warnings, `${after.what}: this one went there too, to follow it`], op: write.op });
    ctx.sentOn.record(key, after.sent.site, scope, answer);
    return answer;
  }
  const warnings = after.kind === 'here' ? [...plan.warnings, `${after.what}: this one was made here, and may be concurrent with it`] : plan.warnings;
  switch (plan.kind) {
    case 'local': {
      if (key === undefined) {
        const answer = await writeHereOnly(ctx, call, write, key, body, warnings);
        if (write.op === 'create' && answer.ok && ctx.index.hasDeletedRelied()) noticeMadeAgainAmong(ctx, write);
        return answer;
      }
      // Under the key's lock: a replicant made of the object meanwhile (a share granted, a
      // follow) read it before this write or comes after it, never loses it.
      const answer = await ctx.locks.run(key, async () => (ctx.index.live(key) === undefined ? writeHereOnly(ctx, call, write, key, body, warnings) : undefined));
      // Replicated while this write waited: it is a write of the replicated object now.
      if (answer === undefined) return planAndWrite(ctx, call, write, body);
      if (write.op === 'create' && answer.ok && ctx.index.hasDependents()) ctx.recheck.madeAgain(key);
      return answer;
    }
    case 'forward':
      return forwardWrite(ctx, call, body, { ...plan, op: write.op });
    case 'cross':
      return crossWrite(ctx, call, write, body, key, plan);
    case 'replicate': {
      if (write.op === 'delete' && live !== undefined) await refuseIfReliedUpon(ctx, call, live, body);
      if (write.op === 'create' && isJsonObject(body.parsed) && ctx.glue.isOwnedChild(body.parsed)) {
        return sendLocal(ctx, call, body, [...warnings, `applied on ${ctx.self} only: an owned child is never replicated; its parent is`]);
      }
      const replicated = (): Promise<Response> => replicatedWrite(ctx, {
        call, glueCall: write, body, key, live, scope: plan.scope, sites: plan.sites, wait, warnings,
        adopt: plan.scoped && write.op === 'create',
        ...(plan.joining === undefined ? {} : { joining: plan.joining }),
      });
      // A write of an object the scope names other sites for, and this site lacks (held-elsewhere.ts).
      const others = write.op === 'create' || key === undefined || !plan.scoped ? undefined : otherMembers(ctx, call, write.service, key);
      if (others === undefined || key === undefined) return replicated();
      const answer = await writeHereOrElsewhere(ctx, call, body, { key, others, scope: plan.scope, op: write.op }, replicated);
      const sentTo = answer.headers.get(CheopsHeader.ForwardedTo);
      if (sentTo !== null && isSiteName(sentTo)) ctx.sentOn.record(key, sentTo, plan.scope, answer);
      return answer;
    }
  }
}

/** The live replicant's desired object, as this site holds it. */
async function desiredObject(ctx: EngineContext, live: IndexEntry): Promise<JsonObject | undefined> {
  const body = (await ctx.replicants.get(live.metaId))?.desired.body;
  return isJsonObject(body) ? body : undefined;
}

/**
 * The application's answer to the create as a dry run, when it refuses it (invalid, there
 * already, over a quota): that answer, relayed, and nothing shared for an object never made.
 */
async function refusedByApplication(ctx: EngineContext, call: FrontCall, body: WriteBody): Promise<Response | undefined> {
  const request = localRequest(call, body);
  const answer = await fetchLocal(ctx, { ...request, path: ctx.glue.dryRunTarget(request.path) });
  return answer.status >= 200 && answer.status <= 299 ? undefined : relay(answer, []);
}

/**
 * A write to this site's application only. A delete in a cross namespace with a scope naming this
 * site (the way to remove one of a name's two objects after a partition, cross-claims.ts) also
 * removes this site's claim on the name.
 */
async function writeHereOnly(ctx: EngineContext, call: FrontCall, write: GlueWriteCall, key: ResourceKey | undefined, body: WriteBody, warnings: readonly string[]): Promise<Response> {
  const answer = await sendLocal(ctx, call, body, warnings);
  if (write.op === 'delete' && key !== undefined && ctx.index.hasContainers() && answer.status >= 200 && answer.status <= 299) await releaseName(ctx, key);
  return answer;
}

/** The request's scope: from the front (header or path) or from the body, which must agree. */
function requestScope(carried: RequestScope | undefined, fromBody: string | undefined): { text: string; scope: Scope } | undefined {
  if (fromBody === undefined) return carried === undefined ? undefined : { text: carried.text, scope: carried.scope };
  if (carried !== undefined) {
    if (carried.text.trim() === fromBody.trim()) return { text: carried.text, scope: carried.scope };
    throw new CheopsError(
      ErrorCode.ScopeInvalid,
      `two different scopes: ${JSON.stringify(carried.text)} in the ${carried.carrier === 'header' ? 'X-Cheops-Scope header' : '/scope/ path prefix'} and ${JSON.stringify(fromBody)} in the cheops.io/scope annotation`,
    );
  }
  const parsed = parseScope(fromBody);
  if (parsed.ok) return { text: fromBody, scope: parsed.scope };
  const column = parsed.error.details['column'];
  let message = `invalid scope ${JSON.stringify(fromBody)} in the cheops.io/scope annotation: ${parsed.error.message}`;
  if (typeof column === 'number' && !parsed.error.message.includes(`column ${column}`)) message += ` (at column ${column})`;
  throw new CheopsError(parsed.error.code, message, { cause: parsed.error, details: { ...parsed.error.details, scope: fromBody, carrier: 'annotation' } });
}

/** Decides where a write runs. */
function planWrite(ctx: EngineContext, write: GlueWriteCall, scope: { text: string; scope: Scope } | undefined, live: IndexEntry | undefined): WritePlan {
  if (scope === undefined) {
    return live === undefined ? { kind: 'local', warnings: [] } : { kind: 'replicate', sites: live.sites, scope: live.scope, warnings: [], scoped: false };
  }
  const resolved = resolveScope(scope.scope, write.service, knownSitesOf(ctx.sites));
  if (!resolved.ok) throw resolved.error;
  const { resolution } = resolved;
  const warnings = [...resolution.warnings];
  switch (resolution.targetCollaboration) {
    case 'local':
      // A replicated object stays one: a scope of this site alone writes it on its every site,
      // as any other write of it does (it used to change this copy only, and nothing said so).
      if (live === undefined) return { kind: 'local', warnings };
      if (resolution.source !== BindingSource.None) warnings.push(notChanged(live, scope.text));
      return { kind: 'replicate', sites: live.sites, scope: live.scope, warnings, scoped: true };
    case 'remote':
      return { kind: 'forward', sites: resolution.sites, scope: scope.text, warnings };
    case 'replication': {
      if (!resolution.sites.includes(ctx.self)) return { kind: 'forward', sites: resolution.sites, scope: scope.text, warnings };
      if (live === undefined) return { kind: 'replicate', sites: resolution.sites, scope: scope.text, warnings, scoped: true };
      return widenedPlan(live, resolution.sites, scope.text, write, warnings);
    }
    case 'cross':
      if (!resolution.sites.includes(ctx.self)) return { kind: 'forward', sites: resolution.sites, scope: scope.text, warnings };
      // Replicated already (a namespace the cross scope made): its replicant's sites stand.
      if (live !== undefined) return { kind: 'replicate', sites: live.sites, scope: live.scope, warnings, scoped: true };
      // A container the sites share must exist on each of them: replicated.
      if (ctx.glue.spansSites(write.service)) return { kind: 'replicate', sites: resolution.sites, scope: scope.text, warnings, scoped: true };
      return { kind: 'cross', sites: resolution.sites, scope: scope.text, warnings };
  }
}

/**
 * A scoped write of a replicated object whose scope names sites it is not on yet: once the
 * application accepts the write, the replicant is widened to them (`join:` entries, as a shared
 * dependency's) in the write's own change, and their passes make the object there (the answer
 * says so in a `Warning`, write-path.ts). This is how a site added to the deployment gets what
 * the others replicate: `kubectl apply -f app.yaml --scope '{Site1 & Site2 & Site3}'`. Sites the
 * scope leaves out keep their copy (a replicant is never narrowed: a delete reaches every site),
 * with a `Warning`. A delete widens nothing.
 */
function widenedPlan(live: IndexEntry, sites: readonly SiteName[], scope: string, write: GlueWriteCall, warnings: string[]): WritePlan {
  const joining = write.op === 'delete' ? [] : sites.filter((site) => !live.sites.includes(site));
  if (joining.length === 0) {
    if (!sameSites(live.sites, sites)) warnings.push(notChanged(live, scope));
    return { kind: 'replicate', sites: live.sites, scope: live.scope, warnings, scoped: true };
  }
  const left = live.sites.filter((site) => !sites.includes(site));
  if (left.length > 0) warnings.push(`${describeKey(live.key)} stays on ${left.join(', ')}, which the scope ${scope} leaves out: a replicated object is not removed from a site by a scope (a delete removes it from every site)`);
  return { kind: 'replicate', sites: [...live.sites, ...joining], scope: live.scope, warnings, scoped: true, joining };
}

function notChanged(live: IndexEntry, scope: string): string {
  return `${describeKey(live.key)} is replicated on ${live.sites.join(', ')} (scope ${live.scope}); the scope ${scope} of this request does not change that`;
}

function sameSites(a: readonly SiteName[], b: readonly SiteName[]): boolean {
  return a.length === b.length && a.every((site) => b.includes(site));
}

