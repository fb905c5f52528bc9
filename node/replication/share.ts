/**
 * Sharing (DESIGN.md §7): `kubectl create -f pod.yaml --scope '{pods: Site1, secrets: Site2}'` on
 * Site1. Before the pod is written here, each resource it needs (a requirement or a reliance,
 * DESIGN.md §8: its secrets, config maps…) whose service the scope binds to other sites is taken
 * from there and replicated between that site and the sites the pod goes to (a replicant of scope
 * `{Site2 & Site1}`; with `{pods: Site1 & Site3, secrets: Site2}`, `{Site2 & Site1 & Site3}`: the
 * dependency follows the replicated pod, DESIGN.md §8): it is here when the pod starts, and stays
 * in step with Site2's copy afterwards (a change to any copy reaches the others). A dependency
 * replicated here already is left as it is. One the scope takes from this site follows a
 * replicated object to its other sites, from this site's copy (followHere).
 *
 * Refused, nothing written: a dependency the owning site does not hold (409
 * CHEOPS_DEPENDENCY_MISSING), unless the reference is optional (a warning then); one whose site
 * cannot be reached (503), as the pod would start without it; one of the same name made here
 * already and not shared (409: which copy the pod should use is the user's call).
 *
 * The object is recorded in each dependency's replicant as a dependent (DESIGN.md §8), and a
 * delete of the dependency is refused while it stands (reliance.ts).
 */
import { CheopsError, ErrorCode, errorMessage } from '../../core/index.js';
import type { MetaId, ResourceKey, SiteName } from '../../core/ids.js';
import { replicantDocId, type Replicant } from '../../crdt/replicant.js';
import { isJsonObject, type JsonObject } from '../../glue/json.js';
import { DependencyKind, type Dependency, type GlueWriteCall } from '../../glue/types.js';
import type { FrontCall } from '../http/index.js';
import type { EngineContext } from './context.js';
import { forwardOrder, readOn } from './forward.js';
import { answerJson, describeKey } from './http.js';
import { resolveScope, type Scope } from '../../scope/index.js';
import { knownSitesOf } from './sites.js';

/** The object at `path` as the first reachable site of `sites` holds it: the object, undefined if it holds none, or why it could not be asked. */
async function fetchFrom(ctx: EngineContext, call: FrontCall, sites: readonly SiteName[], path: string): Promise<{ site: SiteName; object: JsonObject | undefined } | string> {
  const failures: string[] = [];
  for (const site of forwardOrder(ctx, sites)) {
    try {
      const answer = await readOn(ctx, call, site, path, `{${site}}`);
      if (answer.status === 404) return { site, object: undefined };
      const object = answerJson(answer);
      if (answer.status === 200 && isJsonObject(object)) return { site, object };
      failures.push(`${site}: it answered ${answer.status}`);
    } catch (error) {
      failures.push(`${site}: ${errorMessage(error)}`);
    }
  }
  return failures.join('; ');
}

/**
 * Makes every dependency of `object` that `scope` takes from other sites present here and on the
 * other `consumers` (the sites the object itself is written to), replicated with its owner;
 * returns what to tell the user (`Warning`s). Throws when the write must not go on.
 */
export async function shareDependencies(
  ctx: EngineContext, call: FrontCall, write: GlueWriteCall, object: JsonObject, scope: { readonly text: string; readonly scope: Scope }, consumers: readonly SiteName[],
  dependent: ResourceKey | undefined,
): Promise<string[]> {
  const notes: string[] = [];
  for (const dependency of ctx.glue.dependencies(object, write)) {
    if (dependency.kind === DependencyKind.Composition) continue;
    const { key } = dependency;
    const resolved = resolveScope(scope.scope, key.service, knownSitesOf(ctx.sites));
    if (!resolved.ok) throw resolved.error;
    const { sites } = resolved.resolution;
    if (sites.includes(ctx.self)) {
      const note = await followHere(ctx, call, dependency, consumers, dependent);
      if (note !== undefined) notes.push(note);
      continue;
    }
    // Shared already (by an earlier object): this one relies on it too.
    const shared = ctx.index.live(key);
    if (shared !== undefined) {
      if (dependent !== undefined) await ctx.replicants.recordDependent(replicantDocId(shared.metaId), { key: dependent, kind: dependency.kind, via: dependency.via });
      continue;
    }
    const path = ctx.glue.readPath(key);
    if (path === undefined) {
      notes.push(`${describeKey(key)} (${dependency.via}) is taken from ${sites.join(', ')} by the scope, but Cheops cannot read that kind of object by name: it was not shared`);
      continue;
    }
    const found = await fetchFrom(ctx, call, sites, path);
    if (typeof found === 'string') {
      throw new CheopsError(ErrorCode.SiteUnreachable, `${describeKey(key)} (${dependency.via}) is taken from ${sites.join(', ')} by the scope ${scope.text}, which could not be read: ${found}; nothing was written`, {
        details: { dependency: key, sites },
      });
    }
    if (found.object === undefined) {
      if (dependency.optional) {
        notes.push(`${describeKey(key)} (${dependency.via}, optional) does not exist on ${found.site}: not shared`);
        continue;
      }
      throw new CheopsError(ErrorCode.DependencyMissing, `${describeKey(key)} (${dependency.via}) is taken from ${found.site} by the scope ${scope.text}, and ${found.site} has no such object; nothing was written`, {
        details: { dependency: key, site: found.site },
      });
    }
    const sharedWith = [found.site, ...consumers.filter((site) => site !== found.site)];
    const made = await replicateHere(ctx, key, sharedWith, ctx.glue.canonical(found.object, key));
    if (dependent !== undefined) await ctx.replicants.recordDependent(made.docId, { key: dependent, kind: dependency.kind, via: dependency.via });
    notes.push(`${describeKey(key)} shared from ${found.site}: replicated between ${sharedWith.join(', ')}, kept in step`);
  }
  return notes;
}

/**
 * A dependency the scope takes from this site: when the object also goes to other sites, the
 * dependency follows it there (DESIGN.md §8), replicated from this site's copy (a replicant of
 * scope `{Site1 & Site2}`), and the object is recorded as its dependent. A dependency replicated
 * already stays as it is (a warning names the object's sites it does not reach); one this site
 * lacks follows nowhere (a warning, unless the reference is optional: the application decides
 * what an object without it does, here as on the other sites). Answers what to tell the user.
 */
async function followHere(
  ctx: EngineContext, call: FrontCall, dependency: Dependency, consumers: readonly SiteName[], dependent: ResourceKey | undefined,
): Promise<string | undefined> {
  const { key, via } = dependency;
  const others = consumers.filter((site) => site !== ctx.self);
  if (others.length === 0) return undefined;
  const recordOn = async (replicant: { readonly metaId: MetaId }): Promise<void> => {
    if (dependent !== undefined) await ctx.replicants.recordDependent(replicantDocId(replicant.metaId), { key: dependent, kind: dependency.kind, via });
  };
  const described = `${describeKey(key)} (${via})`;
  return ctx.locks.run(key, async () => {
    const live = ctx.index.live(key);
    if (live !== undefined) {
      await recordOn(live);
      const unreached = others.filter((site) => !live.sites.includes(site));
      return unreached.length === 0 ? undefined : `${described} is replicated on ${live.sites.join(', ')} only (scope ${live.scope}): the copies on ${unreached.join(', ')} will not find it there`;
    }
    const path = ctx.glue.readPath(key);
    if (path === undefined) return `${described} cannot be read by name: it does not follow to ${others.join(', ')}`;
    const answer = await readOn(ctx, call, ctx.self, path, `{${ctx.self}}`);
    const object = answerJson(answer);
    if (answer.status === 404) return dependency.optional ? undefined : `${described} does not exist on ${ctx.self}: it does not follow to ${others.join(', ')}`;
    if (answer.status !== 200 || !isJsonObject(object)) return `${described} could not be read on ${ctx.self} (${answer.status}): it does not follow to ${others.join(', ')}`;
    const sites = [ctx.self, ...others];
    const written = await ctx.replicants.writeLocal({
      key, op: 'upsert', scope: `{${sites.join(' & ')}}`, sites, body: ctx.glue.canonical(object, key), localId: ctx.glue.localId(object),
    });
    await recordOn(written.replicant);
    ctx.logger.info({ key, sites }, 'dependency replicated along with the object relying on it');
    return `${described} follows to ${others.join(', ')}: replicated between ${sites.join(', ')}, kept in step`;
  });
}

/** Makes `body` here and its replicant, whose sites are `sites`: the owner first, this site among the others. */
async function replicateHere(ctx: EngineContext, key: ResourceKey, sites: readonly SiteName[], body: JsonObject): Promise<Replicant> {
  const owner = sites[0] ?? ctx.self;
  const create = ctx.glue.objectRequest('create', key, body);
  if (create === undefined) throw new CheopsError(ErrorCode.DependencyMissing, `${describeKey(key)} from ${owner} cannot be written here`, { details: { dependency: key } });
  const answer = await ctx.localApp.exchange({
    method: 'POST', path: create.path, headers: new Headers({ 'content-type': 'application/json', accept: 'application/json' }), body: new TextEncoder().encode(JSON.stringify(create.body)),
  });
  if (answer.status === 409) {
    throw new CheopsError(ErrorCode.NameTakenElsewhere, `${describeKey(key)} exists on ${ctx.self} already, not shared from ${owner}: delete it here to use ${owner}'s, or bind the service to ${ctx.self}; nothing was written`, {
      details: { dependency: key, site: ctx.self },
    });
  }
  if (answer.status < 200 || answer.status > 299) {
    throw new CheopsError(ErrorCode.DependencyMissing, `${describeKey(key)} from ${owner} could not be made here: ${ctx.glue.errorMessage(answer.status, answerJson(answer))}`, { details: { dependency: key } });
  }
  const made = answerJson(answer);
  const written = await ctx.replicants.writeLocal({ key, op: 'upsert', scope: `{${sites.join(' & ')}}`, sites, body, localId: ctx.glue.localId(made) });
  ctx.logger.info({ key, owner }, 'dependency shared from another site');
  return written.replicant;
}
