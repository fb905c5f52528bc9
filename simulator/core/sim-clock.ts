/**
 * The simulated clock: virtual time that jumps from event to event. Timers wait in a queue
 * ordered by (time, scheduling order); the runner fires one, lets every promise job it caused run
 * (drain.ts), then fires the next. Nothing reads the real clock, so a run takes the same steps
 * whatever the machine's speed, and a seed replays it exactly.
 *
 * Each simulated process gets a scope of the clock (`scope()`): the same time, plus its own clock
 * skew, and a `kill()` that cancels every timer the process set, as a crash does.
 */
import type { Clock, Timer } from '../../core/clock.js';
import { drainPendingWork } from './drain.js';
import { TimerQueue, type QueuedTimer } from './timer-queue.js';

export interface SimClockOptions {
  /**
   * Virtual time at the start, ms since the epoch. Default 2026-01-01T00:00:00Z: a fixed date, so
   * that nothing in a run (document change times, uids) depends on when it ran.
   */
  readonly startMs?: number;
  /** `setImmediate` turns of draining after each event; default 1 (see drain.ts). */
  readonly drainTurns?: number;
  /**
   * Events allowed at one instant before the run is declared live-locked (a zero-delay timer
   * rescheduling itself forever); default 100,000.
   */
  readonly maxEventsPerInstant?: number;
}

/** Thrown by the runner when a timer callback throws: in a real process that is a crash. */
export class TimerCallbackError extends Error {
  constructor(
    readonly atMs: number,
    cause: unknown,
  ) {
    super(`a timer callback threw at virtual time ${atMs}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'TimerCallbackError';
  }
}

/** Thrown when the runner cannot make progress towards what it was asked to wait for. */
export class SimulationStalledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulationStalledError';
  }
}

export interface RunLimit {
  /** Virtual milliseconds to run at most before giving up. */
  readonly timeoutMs: number;
}

interface SimTimer extends QueuedTimer {
  readonly callback: () => void;
  readonly intervalMs: number | undefined;
  readonly scope: ClockScope | undefined;
}

export const defaultStartMs = Date.UTC(2026, 0, 1);

/** The simulation's one clock. */
export class SimClock implements Clock {
  readonly startMs: number;
  private time: number;
  private sequence = 0;
  private readonly queue = new TimerQueue<SimTimer>();
  private readonly drainTurns: number;
  private readonly maxEventsPerInstant: number;
  private instantEvents = 0;
  private eventCount = 0;

  constructor(options: SimClockOptions = {}) {
    this.startMs = options.startMs ?? defaultStartMs;
    this.time = this.startMs;
    this.drainTurns = options.drainTurns ?? 1;
    this.maxEventsPerInstant = options.maxEventsPerInstant ?? 100_000;
  }

  now(): number {
    return this.time;
  }

  /** Virtual milliseconds since the start. */
  elapsedMs(): number {
    return this.time - this.startMs;
  }

  /** Events fired so far. */
  get events(): number {
    return this.eventCount;
  }

  /**
   * Delays are kept exact (fractional milliseconds included, unlike Node's 1 ms floor), so that
   * simulated latencies stay what their distribution drew; negative or NaN delays mean now.
   */
  setTimeout(callback: () => void, delayMs: number): Timer {
    return this.schedule(callback, delayMs, undefined, undefined);
  }

  /** Intervals of less than 1 ms are stretched to 1 ms, as Node does, so that one cannot spin. */
  setInterval(callback: () => void, intervalMs: number): Timer {
    const period = Number.isFinite(intervalMs) ? Math.max(1, intervalMs) : 1;
    return this.schedule(callback, period, period, undefined);
  }

  /** A view of this clock for one simulated process: optional skew, and a kill switch. */
  scope(options: { readonly skewMs?: number } = {}): ClockScope {
    return new ClockScope(this, options.skewMs ?? 0);
  }

  /** Timers waiting to fire. */
  pendingTimers(): number {
    return this.queue.size;
  }

  /** When the next timer fires, if any. */
  nextEventAt(): number | undefined {
    return this.queue.peek()?.at;
  }

  /**
   * Fires the earliest timer due at or before `untilMs`, synchronously, without draining;
   * false when there is none. A callback that throws is reported as a TimerCallbackError.
   */
  fireNext(untilMs = Number.POSITIVE_INFINITY): boolean {
    const next = this.queue.peek();
    if (next === undefined || next.at > untilMs) return false;
    this.queue.pop();
    if (next.at > this.time) {
      this.time = next.at;
      this.instantEvents = 0;
    }
    this.instantEvents += 1;
    if (this.instantEvents > this.maxEventsPerInstant) {
      throw new SimulationStalledError(`more than ${this.maxEventsPerInstant} events at virtual time ${this.time}: a live-lock`);
    }
    this.eventCount += 1;
    if (next.intervalMs === undefined) next.scope?.forget(next);
    else this.requeue(next);
    try {
      next.callback();
    } catch (error) {
      throw new TimerCallbackError(this.time, error);
    }
    return true;
  }

  /** Lets every pending promise job run (see drain.ts). */
  settle(): Promise<void> {
    return drainPendingWork(this.drainTurns);
  }

  /** Fires the next timer and lets what it started run; false when no timer is left. */
  async step(): Promise<boolean> {
    await this.settle();
    const fired = this.fireNext();
    if (fired) await this.settle();
    return fired;
  }

  /** Runs every event up to virtual time `atMs`, then sets the time to `atMs`. */
  async runUntil(atMs: number): Promise<void> {
    await this.settle();
    while (this.fireNext(atMs)) await this.settle();
    if (atMs > this.time) {
      this.time = atMs;
      this.instantEvents = 0;
    }
  }

  /** Runs `ms` of virtual time. */
  runFor(ms: number): Promise<void> {
    return this.runUntil(this.time + Math.max(0, ms));
  }

  /**
   * Runs events until `condition` holds (checked after each event and its promise work) and
   * answers true, or answers false once `timeoutMs` of virtual time passed without it.
   */
  async runUntilTrue(condition: () => boolean, limit: RunLimit): Promise<boolean> {
    const deadline = this.time + limit.timeoutMs;
    await this.settle();
    while (!condition()) {
      if (!this.fireNext(deadline)) {
        if (deadline > this.time) this.time = deadline;
        return condition();
      }
      await this.settle();
    }
    return true;
  }

  /**
   * Runs events until `promise` settles and answers its outcome. Rejects with a
   * SimulationStalledError when no timer is left to fire (nothing can ever settle it) or when
   * `timeoutMs` of virtual time passed.
   */
  async runUntilSettled<T>(promise: Promise<T>, limit: RunLimit): Promise<T> {
    let settled = false;
    const observed = promise.then(
      (value) => {
        settled = true;
        return value;
      },
      (error: unknown) => {
        settled = true;
        throw error;
      },
    );
    // Observed here so that a rejection while the clock runs is not reported as unhandled.
    observed.catch(() => undefined);
    const startedAt = this.time;
    const deadline = this.time + limit.timeoutMs;
    await this.settle();
    while (!settled) {
      if (this.nextEventAt() === undefined) {
        throw new SimulationStalledError(`the awaited work is still pending and no timer is left (virtual time ${this.time})`);
      }
      if (!this.fireNext(deadline)) {
        this.time = Math.max(this.time, deadline);
        throw new SimulationStalledError(`the awaited work did not settle within ${limit.timeoutMs} ms (from ${startedAt})`);
      }
      await this.settle();
    }
    return observed;
  }

  /** @internal Schedules for `ClockScope`. */
  schedule(callback: () => void, delayMs: number, intervalMs: number | undefined, scope: ClockScope | undefined): Timer {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const timer: SimTimer = { at: this.time + delay, seq: this.nextSequence(), done: false, callback, intervalMs, scope };
    this.queue.push(timer);
    scope?.remember(timer);
    return {
      cancel: () => {
        this.queue.cancel(timer);
        timer.scope?.forget(timer);
      },
    };
  }

  /** @internal Cancels a timer of a killed scope. */
  cancelTimer(timer: QueuedTimer): void {
    this.queue.cancel(timer as SimTimer);
  }

  private requeue(timer: SimTimer): void {
    // Re-armed before the callback runs, so a callback that cancels its own interval wins.
    timer.at = this.time + (timer.intervalMs ?? 0);
    timer.seq = this.nextSequence();
    this.queue.push(timer);
  }

  private nextSequence(): number {
    this.sequence += 1;
    return this.sequence;
  }
}

/**
 * The clock as one simulated process sees it: the shared virtual time plus the process's skew
 * (its wall clock may be off; durations are not), and the timers it set, so that a crash can
 * cancel them all at once. A killed scope's new timers never fire: a dead process runs nothing.
 */
export class ClockScope implements Clock {
  private readonly clock: SimClock;
  private readonly skewMs: number;
  private readonly timers = new Set<QueuedTimer>();
  private dead = false;

  constructor(clock: SimClock, skewMs: number) {
    this.clock = clock;
    this.skewMs = skewMs;
  }

  now(): number {
    return this.clock.now() + this.skewMs;
  }

  setTimeout(callback: () => void, delayMs: number): Timer {
    if (this.dead) return inertTimer;
    return this.clock.schedule(callback, delayMs, undefined, this);
  }

  setInterval(callback: () => void, intervalMs: number): Timer {
    if (this.dead) return inertTimer;
    const period = Number.isFinite(intervalMs) ? Math.max(1, intervalMs) : 1;
    return this.clock.schedule(callback, period, period, this);
  }

  /** False once killed. */
  get alive(): boolean {
    return !this.dead;
  }

  /** Timers of this scope waiting to fire. */
  pendingTimers(): number {
    return this.timers.size;
  }

  /** Cancels every timer of this scope and refuses new ones (the process died). */
  kill(): void {
    this.dead = true;
    for (const timer of this.timers) this.clock.cancelTimer(timer);
    this.timers.clear();
  }

  /** @internal */
  remember(timer: QueuedTimer): void {
    this.timers.add(timer);
  }

  /** @internal */
  forget(timer: QueuedTimer): void {
    this.timers.delete(timer);
  }
}

const inertTimer: Timer = { cancel: () => undefined };
