/**
 * A dependency deleted on its owner while something on this site still relies on it (DESIGN.md
 * §8). The owner refuses such a delete while it knows of the dependent (reliance.ts); it cannot
 * when the dependent was made here, on the copy this site held, while the two were cut off: the
 * delete's tombstone then reaches this site after the heal and removes the copy under a pod that
 * stands. So once a tombstone is applied here, this site asks the owner for the name again
 * (share-offer.ts), for the sites of each dependent still standing: an object of that name the
 * owner made since is shared with them and comes here, and the pod has a secret again; none, and
 * the owner's delete stands for now (logged). Should the owner make the name again later, it
 * tells the sites its deleted replicant names as relying on it (`POST /cheops/v1/shares/again`),
 * and they ask again: the pod gets its secret when there is one, as a pod waits for a missing
 * secret on one site. Found by the simulator (swarm seeds 1400102 and 1500122).
 */
import { errorMessage, type Timer } from '../../core/index.js';
import type { ResourceKey, SiteName } from '../../core/ids.js';
import { keyText, replicantDocId, type DependentEntry, type Replicant } from '../../crdt/replicant.js';
import type { GlueWriteCall } from '../../glue/types.js';
import type { EngineContext } from './context.js';
import { describeKey } from './http.js';
import { postOn } from './forward.js';
import { askToShare } from './share-offer.js';
import { fetchLocal } from './write-path.js';

/** The route, relative to `/cheops/v1`, by which an owner tells a site a name it relied on is made again. */
export const sharesAgainRoute = '/shares/again';

/**
 * The owner's side, for a create whose name only the application's answer tells (a protobuf
 * body, as `kubectl create secret` sends): each name of its collection deleted under dependents
 * that the application holds now is noticed as made again. Asked only while such names exist.
 */
export function noticeMadeAgainAmong(ctx: EngineContext, write: GlueWriteCall): void {
  const candidates = ctx.index.deletedReliedIn(write.service, write.namespace);
  void (async () => {
    for (const key of candidates) {
      const path = ctx.glue.readPath(key);
      if (path === undefined) continue;
      const answer = await fetchLocal(ctx, { method: 'GET', path, headers: new Headers({ accept: 'application/json' }) });
      if (answer.status === 200) ctx.recheck.madeAgain(key);
    }
  })().catch((error: unknown) => ctx.logger.debug({ service: write.service, error: errorMessage(error) }, 'names made again not looked for'));
}

/** Attempts at most, while the owner cannot be asked; the delays double from `retryBaseMs`. */
const maxAttempts = 8;

/**
 * While the site to tell is down (heartbeats), it is looked at again this often, for an hour at
 * most, without counting attempts: told within a second of its coming back, not after a backoff
 * grown through the partition (swarm seed 5200300: the retry fell 4 s after the heal).
 */
const downPollMs = 1_000;
const maxDownPolls = 3_600;

/** Re-shares the dependencies deleted under standing dependents; one run per key at a time. */
export class Resharer {
  private readonly running = new Set<string>();
  /** Keys asked for again while a run was under way: run once more after it (its answer may predate what prompted this). */
  private readonly pending = new Map<string, Replicant>();
  private readonly timers = new Set<Timer>();
  /** Tells of a name made again whose answer has not come yet. */
  private tellsInFlight = 0;
  private stopped = false;

  constructor(private readonly ctx: EngineContext) {}

  /** Called by a reconcile pass that applied `replicant`'s tombstone here (under the key's lock: the work starts after it). */
  deleted(replicant: Replicant): void {
    const { self } = this.ctx;
    if (this.stopped || replicant.meta.sites[0] === self || !replicant.dependents.some((dependent) => dependent.site === self)) return;
    this.later(0, replicant, 1);
  }

  /**
   * At start-up: every deleted replicant that lists a dependent on this site, whose re-share a
   * crash may have cut short (it is not stored). One whose dependents are gone, or whose owner
   * holds the name no more, costs a read of the application and a request to the owner.
   */
  resume(): void {
    const { ctx } = this;
    const mine = `${ctx.self} `;
    for (const entry of ctx.index.entries()) {
      if (!entry.deleted || !(entry.dependents ?? []).some((dependent) => dependent.startsWith(mine)) || ctx.index.live(entry.key) !== undefined) continue;
      void ctx.replicants.get(entry.metaId).then((replicant) => {
        if (replicant !== undefined) this.deleted(replicant);
      }, (error: unknown) => ctx.logger.debug({ metaId: entry.metaId, error: errorMessage(error) }, 'a re-share was not resumed'));
    }
  }

  /** The owner made `key` again (its `madeAgain`): asks for it again if something here still relies on it. */
  async again(key: ResourceKey): Promise<void> {
    const latest = this.ctx.index.latest(key);
    if (this.stopped || latest === undefined || !latest.deleted || this.ctx.index.live(key) !== undefined) return;
    const replicant = await this.ctx.replicants.get(latest.metaId);
    if (replicant !== undefined) this.deleted(replicant);
  }

  /**
   * The owner's side: `key` was just made here, through the front, with no replicant. When the
   * last life of the name, deleted, lists dependents on other sites, each of those sites is told
   * (`POST /cheops/v1/shares/again`), in the background; one that cannot be reached is told again
   * with backoff (swarm seed 4200203: cut off at that moment, its pod never had its secret back,
   * since it had asked already when the tombstone came).
   */
  madeAgain(key: ResourceKey): void {
    const { ctx } = this;
    const latest = ctx.index.latest(key);
    if (this.stopped || latest === undefined || !latest.deleted || (latest.dependents?.length ?? 0) === 0) return;
    void ctx.replicants.get(latest.metaId).then(
      (replicant) => {
        const sites = [...new Set((replicant?.dependents ?? []).map((dependent) => dependent.site).filter((site) => site !== ctx.self))];
        for (const site of sites) this.tell(key, site, 1);
      },
      (error: unknown) => ctx.logger.debug({ key, error: errorMessage(error) }, 'sites relying on a name made again not told'),
    );
  }

  private tell(key: ResourceKey, site: SiteName, attempt: number, downPolls = 0): void {
    const { ctx } = this;
    if (this.stopped) return;
    const down = !ctx.sites.isUp(site);
    const told = async (): Promise<void> => {
      if (down) throw new Error(`${site} is down`);
      const answer = await postOn(ctx, undefined, site, `/cheops/v1${sharesAgainRoute}`, { key });
      if (answer.status >= 500) throw new Error(`${site} answered HTTP ${answer.status}`);
    };
    this.tellsInFlight += 1;
    const done = (): void => {
      this.tellsInFlight -= 1;
    };
    told().then(done, (error: unknown) => {
      done();
      if ((down ? downPolls >= maxDownPolls : attempt >= maxAttempts) || this.stopped) {
        ctx.logger.debug({ key, site, error: errorMessage(error) }, 'a site relying on a name made again was not told');
        return;
      }
      const timer = ctx.clock.setTimeout(() => {
        this.timers.delete(timer);
        if (down) this.tell(key, site, attempt, downPolls + 1);
        else this.tell(key, site, attempt + 1, downPolls);
      }, down ? downPollMs : this.backoffMs(attempt));
      this.timers.add(timer);
    });
  }

  /** The wait after failed attempt `attempt` (1, 2, …): doubling from `retryBaseMs`, at most `retryMaxMs`. */
  private backoffMs(attempt: number): number {
    return Math.min(this.ctx.options.retryMaxMs, this.ctx.options.retryBaseMs * 2 ** (attempt - 1));
  }

  /** Re-shares asked for, told or running, and retries waiting: work whose outcome no document shows yet (the simulator's settle). */
  underWay(): number {
    return this.stopped ? 0 : this.tellsInFlight + this.timers.size + this.running.size + this.pending.size;
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
  }

  private later(delayMs: number, replicant: Replicant, attempt: number): void {
    const timer = this.ctx.clock.setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) void this.run(replicant, attempt);
    }, delayMs);
    this.timers.add(timer);
  }

  private async run(replicant: Replicant, attempt: number): Promise<void> {
    const { ctx } = this;
    const { key } = replicant.meta;
    const text = keyText(key);
    if (this.running.has(text)) {
      this.pending.set(text, replicant);
      return;
    }
    this.running.add(text);
    try {
      const standing = await this.standing(replicant.dependents.filter((dependent) => dependent.site === ctx.self));
      if (standing.length === 0) return;
      // Where they are: this site, and every other site of a replicated one.
      const sites = [...new Set([ctx.self, ...standing.flatMap((dependent) => ctx.index.live(dependent.key)?.sites ?? [])])];
      // A later life of the name is here already (shared again meanwhile): they rely on it now.
      const live = ctx.index.live(key);
      if (live !== undefined) {
        await ctx.locks.run(key, async () => {
          for (const dependent of standing) await ctx.replicants.join(replicantDocId(live.metaId), sites, dependent);
        });
        return;
      }
      const owner = replicant.meta.sites[0] as SiteName;
      for (const dependent of standing) {
        const asked = await askToShare(ctx, undefined, [owner], { key, sites, dependent });
        if (asked.kind === 'unreachable') {
          if (attempt < maxAttempts) this.later(this.backoffMs(attempt), replicant, attempt + 1);
          else ctx.logger.warn({ key, owner, why: asked.why }, 'a dependency deleted on its owner could not be asked for again');
          return;
        }
        if (asked.kind === 'missing') {
          ctx.logger.warn(
            { key, owner, dependent: dependent.key },
            `${describeKey(dependent.key)} relies on ${describeKey(key)}, deleted on ${owner} while this site could not tell it: ${owner} holds none now`,
          );
          return;
        }
        ctx.logger.info({ key, owner, metaId: asked.granted.metaId, sites: asked.granted.sites }, 'a dependency deleted under a standing dependent is shared again');
      }
    } catch (error) {
      ctx.logger.warn({ key, error: errorMessage(error) }, 'a dependency deleted under a standing dependent was not shared again');
    } finally {
      this.running.delete(text);
      const next = this.pending.get(text);
      if (next !== undefined) {
        this.pending.delete(text);
        this.later(0, next, 1);
      }
    }
  }

  /** The dependents that still stand in this site's application (one that cannot be read counts as standing). */
  private async standing(dependents: readonly DependentEntry[]): Promise<DependentEntry[]> {
    const standing: DependentEntry[] = [];
    for (const dependent of dependents) {
      const path = this.ctx.glue.readPath(dependent.key);
      const status = path === undefined ? 200 : (await fetchLocal(this.ctx, { method: 'GET', path, headers: new Headers({ accept: 'application/json' }) })).status;
      if (status !== 404) standing.push(dependent);
    }
    return standing;
  }
}
