/**
 * What the recoveries of writes answered before they were stored (create-recovery.ts,
 * update-recovery.ts) share: each settles a record under its key's lock, again with backoff while
 * the application or the store fails, and at once when either is back (`retryNow`), until it
 * settles or the engine stops.
 */
import { errorMessage, sleep } from '../../core/index.js';
import type { MetaId, ResourceKey } from '../../core/ids.js';
import type { EngineContext } from './context.js';

/** What one attempt did: done with the record, or to be tried again later. */
export type Settled = 'settled' | 'retry';

export class RecoveryLoop {
  private readonly running = new Set<Promise<void>>();
  private wake = new AbortController();

  constructor(
    private readonly ctx: EngineContext,
    private readonly signal: AbortSignal,
  ) {
    // One listener for the engine's life: the backoffs wait on `wake` alone.
    signal.addEventListener('abort', () => this.wake.abort(), { once: true });
  }

  get stopping(): boolean {
    return this.signal.aborted;
  }

  /**
   * Runs `attempt` under `key`'s lock until it settles or the engine stops. The lock is asked for
   * at once, before this returns: what asks for it later (a reconcile pass) comes after.
   */
  async untilSettled(key: ResourceKey, metaId: MetaId, what: string, attempt: () => Promise<Settled>): Promise<void> {
    const { ctx } = this;
    let delayMs = ctx.options.retryBaseMs;
    while (!this.signal.aborted) {
      let outcome: Settled;
      try {
        outcome = await ctx.locks.run(key, attempt);
      } catch (error) {
        ctx.logger.warn({ metaId, key, error: errorMessage(error) }, `${what} not settled yet; retrying`);
        outcome = 'retry';
      }
      if (outcome === 'settled') return;
      await sleep(ctx.clock, delayMs, this.wake.signal).catch(() => undefined);
      delayMs = Math.min(delayMs * 2, ctx.options.retryMaxMs);
    }
  }

  /** Keeps `work` (started outside a caller that awaits it) until it ends, for `stopped`. */
  track(work: Promise<void>): void {
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }

  /** Resolves once the work tracked is over (it ends when the engine stops). */
  async stopped(): Promise<void> {
    await Promise.all([...this.running]);
  }

  /** Cuts short every backoff under way: what they wait for (the application, the store) is back. */
  retryNow(): void {
    if (this.signal.aborted) return;
    this.wake.abort();
    this.wake = new AbortController();
  }
}
