/**
 * Sharing (DESIGN.md §7): `kubectl create -f pod.yaml --scope '{pods: Site1, secrets: Site2}'` on
 * Site1. Before the pod is written here, each resource it needs (a requirement or a reliance,
 * DESIGN.md §8: its secrets, config maps…) whose service the scope binds to other sites is asked
 * of the site holding it, which replicates it with the sites the pod goes to (share-offer.ts: a
 * replicant of scope `{Site2 & Site1}`; with `{pods: Site1 & Site3, secrets: Site2}`, `{Site2 &
 * Site1 & Site3}`: the dependency follows the replicated pod, DESIGN.md §8; shared with another
 * site before, the same replicant widened): it is here when the pod starts, and stays in step
 * with Site2's copy afterwards (a change to any copy reaches the others). A dependency replicated
 * here already is widened to the pod's sites. One the scope takes from this site follows a
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
import { CheopsError, ErrorCode } from '../../core/index.js';
import type { MetaId, ResourceKey, SiteName } from '../../core/ids.js';
import { replicaSettled, ReplicaStatus, replicantDocId, type DependentEntry, type Replicant } from '../../crdt/replicant.js';
import { isJsonObject, type JsonObject } from '../../glue/json.js';
import { DependencyKind, type Dependency, type GlueWriteCall } from '../../glue/types.js';
import type { FrontCall } from '../http/index.js';
import type { EngineContext } from './context.js';
import { readOn } from './forward.js';
import { answerJson, describeKey } from './http.js';
import { resolveScope, type Scope } from '../../scope/index.js';
import { knownSitesOf } from './sites.js';
import { askToShare } from './share-offer.js';
import { waitForReplicant } from './wait.js';
import { adoptable } from './write-path.js';

/** What sharing did for an object: what to tell the user. */
export interface SharedDependencies {
  /** `Warning`s. */
  readonly notes: readonly string[];
  /** The answer to give instead of writing the object, `preflight`'s: nothing was shared. */
  readonly refused?: Response;
}

/**
 * Asked once, before a dependency is first shared or followed for the object: an answer that
 * refuses the object (its application would not make it), or undefined to go on.
 */
export type Preflight = () => Promise<Response | undefined>;

/**
 * Makes every dependency of `object` that `scope` takes from other sites present here and on the
 * other `consumers` (the sites the object itself is written to), replicated with its owner.
 * Throws when the write must not go on.
 */
export async function shareDependencies(
  ctx: EngineContext, call: FrontCall, write: GlueWriteCall, object: JsonObject, scope: { readonly text: string; readonly scope: Scope }, consumers: readonly SiteName[],
  dependent: ResourceKey | undefined, preflight?: Preflight,
): Promise<SharedDependencies> {
  const notes: string[] = [];
  const dependencies = ctx.glue.dependencies(object, write).filter((dependency) => dependency.kind !== DependencyKind.Composition);
  let checked = preflight === undefined;
  for (const dependency of dependencies) {
    const { key } = dependency;
    const resolved = resolveScope(scope.scope, key.service, knownSitesOf(ctx.sites));
    if (!resolved.ok) throw resolved.error;
    const { sites } = resolved.resolution;
    // Before the first dependency goes anywhere it was not: a share the object's own refusal
    // then left in place put a copy of another site's secret where nothing uses it.
    if (!checked && (!sites.includes(ctx.self) || consumers.some((site) => site !== ctx.self))) {
      checked = true;
      const refused = await preflight?.();
      if (refused !== undefined) return { notes, refused };
    }
    if (sites.includes(ctx.self)) {
      const note = await followHere(ctx, call, dependency, consumers, dependent);
      if (note !== undefined) notes.push(note);
      continue;
    }
    const recorded: DependentEntry | undefined = dependent === undefined ? undefined : { site: ctx.self, key: dependent, kind: dependency.kind, via: dependency.via };
    // Shared already (by an earlier object): this one relies on it too, and it goes where this one goes.
    const shared = ctx.index.live(key);
    if (shared !== undefined) {
      await ctx.locks.run(key, () => ctx.replicants.join(replicantDocId(shared.metaId), consumers, recorded));
      continue;
    }
    const path = ctx.glue.readPath(key);
    if (path === undefined) {
      notes.push(`${describeKey(key)} (${dependency.via}) is taken from ${sites.join(', ')} by the scope, but Cheops cannot read that kind of object by name: it was not shared`);
      continue;
    }
    // One of the same name here already, not shared: which copy the object should use is the user's call.
    if ((await readOn(ctx, call, ctx.self, path, `{${ctx.self}}`)).status !== 404) {
      throw new CheopsError(ErrorCode.NameTakenElsewhere, `${describeKey(key)} exists on ${ctx.self} already, not shared from ${sites.join(', ')}: delete it here to use theirs, or bind the service to ${ctx.self}; nothing was written`, {
        details: { dependency: key, site: ctx.self },
      });
    }
    const asked = await askToShare(ctx, call, sites, { key, sites: consumers.includes(ctx.self) ? consumers : [ctx.self, ...consumers], ...(recorded === undefined ? {} : { dependent: recorded }) });
    if (asked.kind === 'unreachable') {
      throw new CheopsError(ErrorCode.SiteUnreachable, `${describeKey(key)} (${dependency.via}) is taken from ${sites.join(', ')} by the scope ${scope.text}, which could not be asked for it: ${asked.why}; nothing was written`, {
        details: { dependency: key, sites },
      });
    }
    if (asked.kind === 'missing') {
      if (dependency.optional) {
        notes.push(`${describeKey(key)} (${dependency.via}, optional) does not exist on ${asked.site}: not shared`);
        continue;
      }
      throw new CheopsError(ErrorCode.DependencyMissing, `${describeKey(key)} (${dependency.via}) is taken from ${asked.site} by the scope ${scope.text}, and ${asked.site} has no such object; nothing was written`, {
        details: { dependency: key, site: asked.site },
      });
    }
    await arrived(ctx, call, key, asked.site, asked.granted.metaId);
    notes.push(`${describeKey(key)} shared from ${asked.site}: replicated between ${asked.granted.sites.join(', ')}, kept in step`);
  }
  return { notes };
}

/**
 * A dependency the scope takes from this site: when the object also goes to other sites, the
 * dependency follows it there (DESIGN.md §8), replicated from this site's copy (a replicant of
 * scope `{Site1 & Site2}`, or the replicant it has already, widened to them), and the object is
 * recorded as its dependent. One this site lacks follows nowhere (a warning, unless the reference
 * is optional: the application decides what an object without it does, here as on the other
 * sites). Answers what to tell the user.
 */
async function followHere(
  ctx: EngineContext, call: FrontCall, dependency: Dependency, consumers: readonly SiteName[], dependent: ResourceKey | undefined,
): Promise<string | undefined> {
  const { key, via } = dependency;
  const others = consumers.filter((site) => site !== ctx.self);
  if (others.length === 0) return undefined;
  const recorded: DependentEntry | undefined = dependent === undefined ? undefined : { site: ctx.self, key: dependent, kind: dependency.kind, via };
  const described = `${describeKey(key)} (${via})`;
  return ctx.locks.run(key, async () => {
    const live = ctx.index.live(key);
    if (live !== undefined) {
      const joining = others.filter((site) => !live.sites.includes(site));
      const replicant = await ctx.replicants.join(replicantDocId(live.metaId), others, recorded);
      return joining.length === 0 ? undefined : `${described} follows to ${joining.join(', ')}: replicated between ${replicant.meta.sites.join(', ')}, kept in step`;
    }
    const path = ctx.glue.readPath(key);
    if (path === undefined) return `${described} cannot be read by name: it does not follow to ${others.join(', ')}`;
    const answer = await readOn(ctx, call, ctx.self, path, `{${ctx.self}}`);
    const object = answerJson(answer);
    if (answer.status === 404) return dependency.optional ? undefined : `${described} does not exist on ${ctx.self}: it does not follow to ${others.join(', ')}`;
    if (answer.status !== 200 || !isJsonObject(object)) return `${described} could not be read on ${ctx.self} (${answer.status}): it does not follow to ${others.join(', ')}`;
    if (!(await adoptable(ctx, key, object))) return `${described} is being deleted on ${ctx.self}: it does not follow to ${others.join(', ')}`;
    const sites = [ctx.self, ...others];
    const written = await ctx.replicants.writeLocal({
      key, op: 'upsert', scope: `{${sites.join(' & ')}}`, sites, body: ctx.glue.canonical(object, key), localId: ctx.glue.localId(object), forgetIfUnstored: true,
    });
    if (recorded !== undefined) await ctx.replicants.join(written.replicant.docId, [], recorded);
    ctx.logger.info({ key, sites }, 'dependency replicated along with the object relying on it');
    return `${described} follows to ${others.join(', ')}: replicated between ${sites.join(', ')}, kept in step`;
  });
}

/**
 * Waits until the replicant `metaId` the holder granted is here and this site's application holds
 * it: the object relying on it must not start without it. Throws when it does not come in time
 * (504: it still comes; the write may be sent again) or comes and cannot be applied.
 */
async function arrived(ctx: EngineContext, call: FrontCall, key: ResourceKey, holder: SiteName, metaId: MetaId): Promise<void> {
  const here = (replicant: Replicant): boolean => {
    const replica = replicant.replicas[ctx.self];
    return replicant.deleted || replica?.status === ReplicaStatus.Failed || (replica?.status === ReplicaStatus.Applied && replicaSettled(replicant, ctx.self, replicant.desired.revision, replicant.desired.generation));
  };
  const timeoutMs = ctx.options.shareArrivalTimeoutMs;
  const replicant = await waitForReplicant(ctx, replicantDocId(metaId), here, timeoutMs, call.signal);
  const what = `${describeKey(key)}, shared from ${holder}`;
  if (replicant === undefined || !here(replicant)) {
    throw new CheopsError(ErrorCode.ForwardOutcomeUnknown, `${what}, has not reached ${ctx.self} within ${timeoutMs} ms: nothing else was written; it is on its way, send the request again`, {
      details: { dependency: key, site: holder, metaId },
    });
  }
  if (replicant.deleted) throw new CheopsError(ErrorCode.DependencyMissing, `${what}, was deleted meanwhile; nothing was written`, { details: { dependency: key, site: holder } });
  const replica = replicant.replicas[ctx.self];
  if (replica?.status === ReplicaStatus.Failed) {
    throw new CheopsError(ErrorCode.DependencyMissing, `${what}, could not be made on ${ctx.self}: ${replica.error ?? 'the application refused it'}; nothing else was written`, { details: { dependency: key, site: holder } });
  }
}
