/**
 * The reconciler's scheduling (docs/REPLICATION.md §3): work is serialised per document and runs
 * concurrently across documents, at most `concurrency` at a time. A document triggered while its
 * pass runs gets one more pass afterwards (never two at once, never a trigger lost). A pass that
 * asks for a retry is run again after a capped, jittered exponential backoff; a new trigger runs it
 * at once instead. What a pass does is given (ReconcilePass); this module only decides when.
 */
import { backoffDelayMs, errorMessage, type Clock, type Logger, type Random, type Timer } from '../../core/index.js';
import type { DocumentId } from '../../core/ids.js';

/** The result of one pass over one document. */
export type PassResult = 'done' | 'retry';

/** One pass over one document. */
export type ReconcilePass = (docId: DocumentId) => Promise<PassResult>;

/** Concurrency and retry backoff of the reconciler. */
export interface ReconcilerOptions {
  /** Documents reconciled at once. */
  readonly concurrency: number;
  /** First retry delay. */
  readonly retryBaseMs: number;
  /** Longest retry delay. */
  readonly retryMaxMs: number;
}

/** What the Reconciler needs. */
export interface ReconcilerDeps {
  readonly pass: ReconcilePass;
  /**
   * True while more urgent work of the site runs (a heal's document sync): passes then wait, up
   * to `maxYieldMs` in a row. They call the application, which shares the process (and, at the
   * edge, a couple of cores) with the sync, and the sync is what every other site waits for.
   */
  readonly yieldTo?: () => boolean;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
}

/** Longest a pass waits in a row for more urgent work, so a site always busy still reconciles. */
export const maxYieldMs = 2_000;
/** How often a waiting reconciler looks again. */
const yieldCheckMs = 20;
/**
 * How long the reconciler stays idle before a backlog is over (`inBacklog`). A heal hands it
 * documents in batches, as they arrive: between two, the queue may empty for a few milliseconds.
 */
export const backlogSettleMs = 250;

interface DocumentState {
  queued: boolean;
  running: boolean;
  /** Triggered while running: run again afterwards. */
  dirty: boolean;
  /** Failed passes in a row. */
  attempts: number;
  retry: Timer | undefined;
}

/** Schedules reconcile passes: per document in order, across documents in parallel, failures retried. */
export class Reconciler {
  private readonly states = new Map<DocumentId, DocumentState>();
  private readonly waiting: DocumentId[] = [];
  private active = 0;
  private running = false;
  private idleWaiters: Array<() => void> = [];
  /** A pass had to wait for a slot, and the reconciler has not been idle `backlogSettleMs` since. */
  private backlogged = false;
  private settleTimer: Timer | undefined;
  private readonly backlogEndedListeners = new Set<() => void>();
  /** Since when passes have been waiting for more urgent work, if they are. */
  private yieldingSince: number | undefined;
  private yieldTimer: Timer | undefined;

  constructor(
    private readonly options: ReconcilerOptions,
    private readonly deps: ReconcilerDeps,
  ) {}

  /** Starts running passes; triggers received before are kept and run now. */
  start(): void {
    this.running = true;
    this.pump();
  }

  /** Stops starting passes and waits for those under way. Pending retries are dropped (a restart resumes them). */
  async stop(): Promise<void> {
    this.running = false;
    this.yieldTimer?.cancel();
    this.yieldTimer = undefined;
    for (const state of this.states.values()) {
      state.retry?.cancel();
      state.retry = undefined;
    }
    this.waiting.length = 0;
    this.endBacklog();
    await this.idle();
  }

  /** Reconciles `docId` soon (at once if a slot is free). */
  schedule(docId: DocumentId): void {
    const state = this.stateOf(docId);
    state.retry?.cancel();
    state.retry = undefined;
    if (state.running) {
      state.dirty = true;
      return;
    }
    if (state.queued) return;
    state.queued = true;
    this.waiting.push(docId);
    this.pump();
  }

  /**
   * Whether `docId`'s next pass waits behind others: queued, or due again after the one under way
   * (which queues it at the back). False when its pass has just started, or nothing is scheduled.
   */
  isWaiting(docId: DocumentId): boolean {
    const state = this.states.get(docId);
    return state !== undefined && (state.queued || state.dirty);
  }

  /**
   * Whether the reconciler is working through a backlog (as in a heal): from the moment a pass has
   * to wait for a slot (or for more urgent work) until nothing has run or waited for
   * `backlogSettleMs`.
   */
  inBacklog(): boolean {
    return this.backlogged;
  }

  /** Calls `listener` each time a backlog is over (or the reconciler stops); returns the unsubscribe. */
  onBacklogEnded(listener: () => void): () => void {
    this.backlogEndedListeners.add(listener);
    return () => {
      this.backlogEndedListeners.delete(listener);
    };
  }

  /**
   * Runs every pass waiting for a retry now, its backoff started over: what failed was waiting on
   * something that is back (the local application, AppHealth), not on its own next attempt.
   */
  retryNow(): void {
    if (!this.running) return;
    for (const [docId, state] of this.states) {
      if (state.retry === undefined) continue;
      state.attempts = 0;
      this.schedule(docId);
    }
  }

  /** Documents waiting for a retry (metrics, tests). */
  retrying(): number {
    let count = 0;
    for (const state of this.states.values()) if (state.retry !== undefined) count += 1;
    return count;
  }

  /** Resolves when no pass is queued or running (retries waiting on a timer do not count). */
  idle(): Promise<void> {
    if (this.active === 0 && (this.waiting.length === 0 || !this.running)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private stateOf(docId: DocumentId): DocumentState {
    let state = this.states.get(docId);
    if (state === undefined) {
      state = { queued: false, running: false, dirty: false, attempts: 0, retry: undefined };
      this.states.set(docId, state);
    }
    return state;
  }

  private pump(): void {
    if (this.mustYield()) {
      this.backlogged = true;
      return;
    }
    while (this.running && this.active < this.options.concurrency) {
      const docId = this.waiting.shift();
      if (docId === undefined) break;
      this.run(docId);
    }
    if (this.waiting.length > 0) this.backlogged = true;
    this.notifyIdle();
  }

  private run(docId: DocumentId): void {
    this.settleTimer?.cancel();
    this.settleTimer = undefined;
    const state = this.stateOf(docId);
    state.queued = false;
    state.running = true;
    this.active += 1;
    this.deps
      .pass(docId)
      .catch((error: unknown): PassResult => {
        this.deps.logger.error({ docId, error: errorMessage(error) }, 'reconcile pass failed');
        return 'retry';
      })
      .then((result) => this.finish(docId, state, result))
      .catch((error: unknown) => this.deps.logger.error({ docId, error: errorMessage(error) }, 'reconciler bookkeeping failed'));
  }

  private finish(docId: DocumentId, state: DocumentState, result: PassResult): void {
    state.running = false;
    this.active -= 1;
    state.attempts = result === 'retry' ? state.attempts + 1 : 0;
    if (state.dirty) {
      state.dirty = false;
      this.schedule(docId);
    } else if (result === 'retry' && this.running) {
      const delayMs = backoffDelayMs(this.deps.random, state.attempts - 1, { baseMs: this.options.retryBaseMs, maxMs: this.options.retryMaxMs });
      state.retry = this.deps.clock.setTimeout(() => {
        state.retry = undefined;
        this.schedule(docId);
      }, delayMs);
    } else if (state.attempts === 0) {
      this.states.delete(docId);
    }
    this.pump();
  }

  /** Whether to leave the waiting passes for now (a timer looks again). */
  private mustYield(): boolean {
    if (!this.running || this.waiting.length === 0 || this.deps.yieldTo?.() !== true) {
      this.yieldingSince = undefined;
      return false;
    }
    const now = this.deps.clock.now();
    this.yieldingSince ??= now;
    if (now - this.yieldingSince >= maxYieldMs) {
      // Waited long enough: this round runs, and the next wait starts over.
      this.yieldingSince = undefined;
      return false;
    }
    this.yieldTimer ??= this.deps.clock.setTimeout(() => {
      this.yieldTimer = undefined;
      this.pump();
    }, yieldCheckMs);
    return true;
  }

  private notifyIdle(): void {
    if (this.active !== 0 || (this.waiting.length !== 0 && this.running)) return;
    if (this.backlogged) {
      this.settleTimer ??= this.deps.clock.setTimeout(() => {
        this.settleTimer = undefined;
        this.endBacklog();
      }, backlogSettleMs);
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private endBacklog(): void {
    this.settleTimer?.cancel();
    this.settleTimer = undefined;
    if (!this.backlogged) return;
    this.backlogged = false;
    for (const listener of [...this.backlogEndedListeners]) listener();
  }
}
