/**
 * The replicant admin API (docs/REPLICATION.md §6), relative to `/cheops/v1`:
 * `GET /replicants` lists every replicant held here with each site's status, `GET /dependencies`
 * the ones something relies on (and whether they are at risk), `GET /cross` the cross namespaces
 * (their claims, and the names taken twice), and
 * `GET /replicants/{metaId}` shows one whole: desired body, replicas, conflicts, dependents (the
 * resources on the sites that rely on it, recorded by sharing) and claims (the names each site
 * took, in a cross namespace). `POST /shares` and `POST /shares/again` are for the other sites:
 * a share request (share-offer.ts), and an owner's notice that a name relied on is made again
 * (reshare.ts).
 */
import { CheopsError, ErrorCode } from '../../core/index.js';
import type { SiteName } from '../../core/ids.js';
import { isMetaId, keyText, type Replicant } from '../../crdt/replicant.js';
import { errorResponse, type AdminHandler } from '../http/index.js';
import type { EngineContext } from './context.js';
import { describeKey } from './http.js';
import { crossContainer } from './cross-container.js';
import { contestedNames, type IndexEntry } from './key-index.js';
import { unreachableOwner } from './sites.js';
import { grantShare, parseShareRequest, sharesRoute } from './share-offer.js';
import { sharesAgainRoute, type Resharer } from './reshare.js';
import { decodeResourceKey } from '../../crdt/replicant-decode.js';
import { isJsonObject } from '../../glue/json.js';

/** One row of `GET /cheops/v1/replicants`. */
export function replicantSummary(replicant: Replicant): Record<string, unknown> {
  const replicas: Record<string, unknown> = {};
  for (const site of replicant.meta.sites) {
    const entry = replicant.replicas[site];
    replicas[site] = entry === undefined
      ? { status: 'pending', observedGeneration: 0 }
      : { status: entry.status, observedGeneration: entry.observedGeneration, ...(entry.error === undefined ? {} : { error: entry.error }) };
  }
  return {
    metaId: replicant.metaId,
    key: replicant.meta.key,
    scope: replicant.meta.scope,
    sites: replicant.meta.sites,
    generation: replicant.desired.generation,
    revision: replicant.desired.revision,
    deleted: replicant.deleted,
    replicas,
    conflicts: replicant.conflicts.length,
    dependents: replicant.dependents.length,
    contested: contestedNames(replicant.claims).map(describeKeyText),
  };
}

/** The whole replicant, as `GET /cheops/v1/replicants/{metaId}` shows it. */
export function replicantDetail(replicant: Replicant): Record<string, unknown> {
  return {
    metaId: replicant.metaId,
    docId: replicant.docId,
    ...replicant.meta,
    desired: replicant.desired,
    deleted: replicant.deleted,
    ...(replicant.deletedBy === undefined ? {} : { deletedBy: replicant.deletedBy }),
    replicas: replicant.replicas,
    conflicts: replicant.conflicts,
    dependents: replicant.dependents,
    claims: replicant.claims,
  };
}

/** The routes, in the front's `AdminRoutes` map form. */
export function replicantAdminRoutes(ctx: EngineContext, resharer: Resharer): Record<`${'GET' | 'POST'} /${string}`, AdminHandler> {
  return {
    [`POST ${sharesAgainRoute}`]: async (c) => {
      // An owner made a name again that this site's dependents relied on (reshare.ts).
      const body: unknown = await c.req.json().catch(() => undefined);
      const key = isJsonObject(body) ? decodeResourceKey(body.key) : undefined;
      if (key === undefined || key.app !== ctx.glue.app) return errorResponse(new CheopsError(ErrorCode.HttpBadRequest, 'not a notice: `key` is not a resource key of this application'));
      await resharer.again(key);
      return c.body(null, 202);
    },
    [`POST ${sharesRoute}`]: async (c) => {
      // Another site's share request (share-offer.ts): its refusals are answers, not failures of this site.
      try {
        const body: unknown = await c.req.json().catch(() => undefined);
        return c.json(await grantShare(ctx, parseShareRequest(ctx, body)));
      } catch (error) {
        if (error instanceof CheopsError) return errorResponse(error);
        throw error;
      }
    },
    'GET /replicants': async (c) => {
      const items: Array<Record<string, unknown>> = [];
      for (const entry of sortedEntries(ctx)) {
        const replicant = await ctx.replicants.get(entry.metaId);
        if (replicant !== undefined) items.push(replicantSummary(replicant));
      }
      return c.json({ items });
    },
    'GET /dependencies': async (c) => {
      // The replicants something relies on (DESIGN.md §8), each with its dependents and whether
      // it is at risk (shared from a site now unreachable).
      const items: Array<Record<string, unknown>> = [];
      for (const entry of sortedEntries(ctx).filter((candidate) => (candidate.dependents?.length ?? 0) > 0 && !candidate.deleted)) {
        const replicant = await ctx.replicants.get(entry.metaId);
        if (replicant === undefined) continue;
        items.push({
          metaId: replicant.metaId, key: replicant.meta.key, scope: replicant.meta.scope, sites: replicant.meta.sites, sharedFrom: replicant.meta.sites[0],
          atRisk: unreachableOwner(ctx.sites, replicant.meta.sites) !== undefined, dependents: replicant.dependents,
        });
      }
      return c.json({ items });
    },
    'GET /cross': async (c) => {
      // The cross namespaces held here (DESIGN.md §7): their members, the names each took, those taken twice.
      const items: Array<Record<string, unknown>> = [];
      for (const entry of sortedEntries(ctx).filter((candidate) => !candidate.deleted && ctx.glue.spansSites(candidate.key.service))) {
        if (entry.key.name === undefined || crossContainer(ctx, entry.key.name)?.entry.metaId !== entry.metaId) continue;
        const replicant = await ctx.replicants.get(entry.metaId);
        if (replicant === undefined) continue;
        items.push({
          metaId: replicant.metaId, key: replicant.meta.key, scope: replicant.meta.scope, sites: replicant.meta.sites, claims: replicant.claims,
          contested: contestedNames(replicant.claims).map(describeKeyText),
        });
      }
      return c.json({ items });
    },
    'GET /replicants/:metaId': async (c) => {
      const metaId = c.req.param('metaId') ?? '';
      const replicant = isMetaId(metaId) ? await ctx.replicants.get(metaId) : undefined;
      if (replicant === undefined) {
        throw new CheopsError(ErrorCode.DocumentNotFound, `no replicant ${metaId} on ${ctx.self}`, { details: { metaId } });
      }
      return c.json(replicantDetail(replicant));
    },
  };
}

/** The index's entries, by key. */
function sortedEntries(ctx: EngineContext): IndexEntry[] {
  return [...ctx.index.entries()].sort((a, b) => (keyText(a.key) < keyText(b.key) ? -1 : keyText(a.key) > keyText(b.key) ? 1 : a.incarnation - b.incarnation));
}

/** One replicant as the dashboard shows it (node/dashboard.ts), from the key index alone. */
export interface ReplicantOverview {
  /** `pods default/purple` */
  readonly resource: string;
  readonly metaId: string;
  readonly incarnation: number;
  readonly scope: string;
  readonly sites: readonly SiteName[];
  readonly deleted: boolean;
  /** Each site's replica status as last read here. */
  readonly statuses: Readonly<Record<string, string>>;
  readonly conflicts: number;
  /** The resources recorded as relying on it (`Site1 pods default/user`). */
  readonly dependents: readonly string[];
  /** Set when it was shared from a site now unreachable and something relies on it: that site. */
  readonly atRiskFrom?: SiteName;
  /** A cross namespace's names made on two sites or more during a partition (`pods spread/blue`). */
  readonly contested: readonly string[];
}

/** Every replicant held here, by resource, without loading a document. */
export function replicantOverviews(ctx: EngineContext): ReplicantOverview[] {
  return sortedEntries(ctx).map((entry) => {
    const dependents = entry.dependents ?? [];
    const owner = entry.deleted || dependents.length === 0 ? undefined : unreachableOwner(ctx.sites, entry.sites);
    return {
      resource: describeKey(entry.key), metaId: entry.metaId, incarnation: entry.incarnation, scope: entry.scope, sites: entry.sites, deleted: entry.deleted,
      statuses: entry.statuses, conflicts: entry.conflicts.length, dependents: dependents.map(describeDependent),
      contested: (entry.contested ?? []).map(describeKeyText),
      ...(owner === undefined ? {} : { atRiskFrom: owner }),
    };
  });
}

/** `pods default/user` from a key's text (`kubernetes:pods/default/user`, crdt/replicant.ts keyText). */
function describeKeyText(text: string): string {
  const [service, namespace, name] = text.slice(text.indexOf(':') + 1).split('/');
  return `${service ?? ''} ${namespace === undefined || namespace === '' ? '' : `${namespace}/`}${name ?? ''}`;
}

/** `Site1 pods default/user` from the index's `Site1 <key text>` (key-index.ts dependentText). */
function describeDependent(text: string): string {
  const space = text.indexOf(' ');
  return `${text.slice(0, space)} ${describeKeyText(text.slice(space + 1))}`;
}
