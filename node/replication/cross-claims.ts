/**
 * Names claimed twice in a cross namespace (DESIGN.md §7). Each object of a cross namespace lives
 * on one member: a create asks every member it can reach whether the name is taken, but members
 * cut off cannot be asked, so during a partition each side may make an object of the same name.
 * Every create made here records a claim on the name in the namespace's replicant (`claim:<site>:
 * <key>`, crdt/replicant.ts), which every member holds, before the application makes the object;
 * a refused create and a delete made here remove it. After the
 * heal the documents merge, and a name with claims of two sites is contested: the key index notes
 * it (`contested`) and the node logs it. The first claim wins (the earliest, then by site name,
 * the same on every site): reads and writes of the name go to the winner's object, and each
 * answer reports the others in a `Warning` (with how to delete them). The losers' objects are
 * left where they are: which one the user wants is the user's call.
 *
 * Claims are checked where they are used, as pods also go without Cheops seeing it (a node's
 * eviction): a contested name's claimers are asked whether they still hold the object, in one
 * round trip, only for a name noted contested.
 */
import { errorMessage } from '../../core/index.js';
import type { DocumentId, ResourceKey, SiteName } from '../../core/ids.js';
import { keyText, replicantDocId } from '../../crdt/replicant.js';
import type { FrontCall } from '../http/index.js';
import type { EngineContext } from './context.js';
import { crossContainer } from './cross-container.js';
import { readOn } from './forward.js';
import { describeKey } from './http.js';

/** A contested name: the claim that wins, and the others still standing. */
export interface Contest {
  readonly winner: SiteName;
  readonly losers: readonly SiteName[];
}

/** The replicant document of the cross namespace `key` is in, if it is in one. */
function containerDocOf(ctx: EngineContext, key: ResourceKey): DocumentId | undefined {
  const container = crossContainer(ctx, key.namespace);
  return container === undefined ? undefined : replicantDocId(container.entry.metaId);
}

/**
 * Records that this site makes `key` (when it is in a cross namespace); whether a new claim was
 * written (not when this site's claim stands already). Throws when the claim cannot be stored (a
 * full disk): the create is refused, nothing made, since an object without its claim would be a
 * double no site could tell apart after a partition (found by the simulator, swarm seed 3600151).
 */
export async function claimName(ctx: EngineContext, key: ResourceKey): Promise<boolean> {
  const docId = containerDocOf(ctx, key);
  if (docId === undefined) return false;
  return ctx.replicants.recordClaim(docId, key);
}

/** Forgets this site's claim on `key`: its object here is gone. */
export async function releaseName(ctx: EngineContext, key: ResourceKey): Promise<void> {
  const docId = containerDocOf(ctx, key);
  if (docId === undefined) return;
  try {
    await ctx.replicants.dropClaim(docId, key);
  } catch (error) {
    ctx.logger[ctx.storageWritable() ? 'warn' : 'debug']({ key, error: errorMessage(error) }, 'claim on a cross name not removed');
  }
}

/**
 * Whether `key` (at `path`) is contested: its claims, winner first, each checked on its site (one
 * that no longer holds the object is left out, and this site's own stale claim is removed; one
 * that cannot be asked still stands). Undefined when the key index notes no contest for it, or
 * fewer than two claims stand.
 */
export async function contest(ctx: EngineContext, call: FrontCall, key: ResourceKey, path: string, scope: string): Promise<Contest | undefined> {
  const container = crossContainer(ctx, key.namespace);
  const text = keyText(key);
  if (container?.entry.contested?.includes(text) !== true) return undefined;
  const read = await ctx.replicants.read(replicantDocId(container.entry.metaId));
  if (read.kind !== 'ok') return undefined;
  const claims = read.replicant.claims.filter((claim) => keyText(claim.key) === text);
  const held = await Promise.all(
    claims.map(async (claim) => {
      try {
        return (await readOn(ctx, call, claim.site, path, scope)).status !== 404;
      } catch {
        return true;
      }
    }),
  );
  if (claims.some((claim, index) => claim.site === ctx.self && held[index] === false)) await releaseStale(ctx, call, key, path, scope);
  const standing = claims.filter((_, index) => held[index] === true).map((claim) => claim.site);
  const [winner, ...losers] = standing;
  return winner === undefined || losers.length === 0 ? undefined : { winner, losers };
}

/**
 * This site's claim on `key`, whose object was found gone here, released: under the key's lock,
 * once the object is found gone again. Found gone before a create of the name took the lock, and
 * released after it, the claim would be that create's (it finds this site's claim standing and
 * writes none): its object would be a double no site could tell apart.
 */
async function releaseStale(ctx: EngineContext, call: FrontCall, key: ResourceKey, path: string, scope: string): Promise<void> {
  await ctx.locks.run(key, async () => {
    if ((await readOn(ctx, call, ctx.self, path, scope)).status === 404) await releaseName(ctx, key);
  });
}

/** What the answers about a contested name say. */
export function contestWarning(key: ResourceKey, contested: Contest): string {
  const losers = contested.losers.join(' and ');
  const deletes = contested.losers.map((site) => `--scope '{${site}}'`).join(' or ');
  return (
    `${describeKey(key)} was made on ${contested.winner} and ${losers} while they could not reach each other: ${contested.winner}'s, made first, ` +
    `is the one read and changed here; ${losers}'s ${contested.losers.length === 1 ? 'is' : 'are'} left there (delete with ${deletes})`
  );
}
