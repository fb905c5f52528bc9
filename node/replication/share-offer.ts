/**
 * The two ends of a share (DESIGN.md §7, share.ts): the site that needs a dependency asks a site
 * that holds it, `POST /cheops/v1/shares`, and that site makes it one replicated resource with the
 * asker, or widens the replicant it has already (a `join:` entry), then syncs it to the asker like
 * any other change. The holder decides the replicant, never the asker: a second site sharing the
 * same secret must get the same document, of the incarnation the holder is at, not a replicant of
 * its own that would fight the first over one meta-ID.
 *
 * The request, from another site's front, is untrusted: a malformed one is a 400 and changes nothing.
 */
import { CheopsError, ErrorCode, errorMessage } from '../../core/index.js';
import { isSiteName, type MetaId, type ResourceKey, type SiteName } from '../../core/ids.js';
import { decodeResourceKey } from '../../crdt/replicant-decode.js';
import { isMetaId, replicantDocId, type DependentEntry } from '../../crdt/replicant.js';
import { isJsonObject } from '../../glue/json.js';
import type { FrontCall } from '../http/index.js';
import type { EngineContext } from './context.js';
import { forwardOrder, postOn } from './forward.js';
import { answerJson, describeKey } from './http.js';
import { adoptable, fetchLocal } from './write-path.js';

/** The route, relative to `/cheops/v1`. */
export const sharesRoute = '/shares';

/** What a site asks of the holder. */
export interface ShareRequest {
  readonly key: ResourceKey;
  /** The sites to share it with (the asker and the other sites its object goes to). */
  readonly sites: readonly SiteName[];
  /** The object on the asker that relies on it, recorded in the same change. */
  readonly dependent?: DependentEntry;
}

/** What the holder answers: the replicant, and every site it is now shared with, the holder first. */
export interface ShareGranted {
  readonly metaId: MetaId;
  readonly sites: readonly SiteName[];
}

/** The outcome of asking: granted by `site`, `site` holds no such object, or why none could be asked. */
export type ShareAsked =
  | { readonly kind: 'granted'; readonly site: SiteName; readonly granted: ShareGranted }
  | { readonly kind: 'missing'; readonly site: SiteName }
  | { readonly kind: 'unreachable'; readonly why: string };

/**
 * Asks the first reachable site of `holders` to share `request.key`; a site that cannot be asked
 * is passed over. `call`: the client's request it is made for (its headers travel, it ends when
 * the client leaves); none when this site asks on its own (reshare.ts).
 */
export async function askToShare(ctx: EngineContext, call: FrontCall | undefined, holders: readonly SiteName[], request: ShareRequest): Promise<ShareAsked> {
  const failures: string[] = [];
  for (const site of forwardOrder(ctx, holders)) {
    try {
      const answer = await postOn(ctx, call, site, `/cheops/v1${sharesRoute}`, request);
      const body = answerJson(answer);
      if (answer.status === 404) return { kind: 'missing', site };
      const granted = answer.status === 200 ? grantedOf(body) : undefined;
      if (granted !== undefined) {
        // Asked for: taken from now on, even if this site dropped it before, out of its scope then.
        if (granted.sites.includes(ctx.self)) ctx.replicants.expect(replicantDocId(granted.metaId));
        return { kind: 'granted', site, granted };
      }
      failures.push(`${site}: it answered ${answer.status}${isJsonObject(body) && typeof body.message === 'string' ? ` (${body.message})` : ''}`);
    } catch (error) {
      failures.push(`${site}: ${errorMessage(error)}`);
    }
  }
  return { kind: 'unreachable', why: failures.join('; ') };
}

function grantedOf(body: unknown): ShareGranted | undefined {
  if (!isJsonObject(body) || typeof body.metaId !== 'string' || !isMetaId(body.metaId) || !Array.isArray(body.sites)) return undefined;
  const sites = body.sites.filter((site): site is SiteName => typeof site === 'string' && isSiteName(site));
  return sites.length === body.sites.length ? { metaId: body.metaId, sites } : undefined;
}

/** Reads a share request from another site; throws a 400 when it is not one this site knows how to take. */
export function parseShareRequest(ctx: EngineContext, body: unknown): ShareRequest {
  const bad = (why: string): CheopsError => new CheopsError(ErrorCode.HttpBadRequest, `not a share request: ${why}`);
  if (!isJsonObject(body)) throw bad('the body is not a JSON object');
  const key = decodeResourceKey(body.key);
  if (key === undefined || key.app !== ctx.glue.app) throw bad('`key` is not a resource key of this application');
  const known = ctx.sites.names();
  const sites = Array.isArray(body.sites) ? body.sites : [];
  if (sites.length === 0 || !sites.every((site): site is SiteName => typeof site === 'string' && isSiteName(site) && known.includes(site))) {
    throw bad('`sites` must list sites of the directory');
  }
  if (body.dependent === undefined) return { key, sites };
  const dependent = body.dependent;
  const dependentKey = isJsonObject(dependent) ? decodeResourceKey(dependent.key) : undefined;
  if (!isJsonObject(dependent) || dependentKey === undefined || typeof dependent.site !== 'string' || !known.includes(dependent.site as SiteName) ||
    typeof dependent.kind !== 'string' || typeof dependent.via !== 'string' || dependent.kind.length > 64 || dependent.via.length > 1_024) {
    throw bad('`dependent` is malformed');
  }
  return { key, sites, dependent: { site: dependent.site as SiteName, key: dependentKey, kind: dependent.kind, via: dependent.via } };
}

/**
 * The holder's end: under the key's lock, widens the live replicant of `request.key` to the
 * asking sites, or makes one of what the application holds (this site first: it is the owner),
 * and records the dependent. A 404 when the application holds no such object.
 */
export async function grantShare(ctx: EngineContext, request: ShareRequest): Promise<ShareGranted> {
  const { key } = request;
  return ctx.locks.run(key, async () => {
    const live = ctx.index.live(key);
    if (live !== undefined) {
      const replicant = await ctx.replicants.join(replicantDocId(live.metaId), request.sites, request.dependent);
      return { metaId: replicant.metaId, sites: replicant.meta.sites };
    }
    const path = ctx.glue.readPath(key);
    if (path === undefined) throw new CheopsError(ErrorCode.HttpBadRequest, `${describeKey(key)} cannot be read by name: it cannot be shared`);
    const answer = await fetchLocal(ctx, { method: 'GET', path, headers: new Headers({ accept: 'application/json' }) });
    const object = answerJson(answer);
    if (answer.status === 404) throw new CheopsError(ErrorCode.HttpNotFound, `${ctx.self} holds no ${describeKey(key)}`, { details: { key } });
    // On its way out (a delete of it under way here): shared, it would come back on every site.
    if (isJsonObject(object) && !(await adoptable(ctx, key, object))) {
      throw new CheopsError(ErrorCode.HttpNotFound, `${describeKey(key)} on ${ctx.self} is being deleted`, { details: { key } });
    }
    if (answer.status !== 200 || !isJsonObject(object)) {
      throw new CheopsError(ErrorCode.AppUnreachable, `${describeKey(key)} could not be read on ${ctx.self}: ${ctx.glue.errorMessage(answer.status, object)}`);
    }
    const sites = [ctx.self, ...request.sites.filter((site) => site !== ctx.self)];
    const written = await ctx.replicants.writeLocal({
      key, op: 'upsert', scope: `{${sites.join(' & ')}}`, sites, body: ctx.glue.canonical(object, key), localId: ctx.glue.localId(object), forgetIfUnstored: true,
    });
    const replicant = request.dependent === undefined ? written.replicant : await ctx.replicants.join(written.replicant.docId, [], request.dependent);
    ctx.logger.info({ key, sites }, 'shared with other sites');
    return { metaId: replicant.metaId, sites: replicant.meta.sites };
  });
}
