/**
 * A clock that moves only when a test says so, for timing-dependent behaviour (heartbeat
 * timeouts, sync ticks, backoff) tested without waiting. Tests only.
 */
import type { Clock, Timer } from '../../core/clock.js';

interface Scheduled {
  readonly id: number;
  at: number;
  readonly intervalMs: number | undefined;
  readonly callback: () => void;
}

/** Lets pending promise callbacks run (one macrotask turn). */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A Clock whose time advances only through `advance`. */
export class ManualClock implements Clock {
  private time: number;
  private nextId = 0;
  private readonly timers = new Map<number, Scheduled>();

  constructor(startMs = 1_700_000_000_000) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, delayMs: number): Timer {
    return this.schedule(callback, delayMs, undefined);
  }

  setInterval(callback: () => void, intervalMs: number): Timer {
    return this.schedule(callback, intervalMs, Math.max(1, intervalMs));
  }

  /** Number of timers waiting to fire. */
  pendingTimers(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, firing due timers in time order and letting promise callbacks
   * run after each one, so async work a timer starts completes before the next fires.
   */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await flushMicrotasks();
    for (let next = this.nextDue(end); next !== undefined; next = this.nextDue(end)) {
      this.time = Math.max(this.time, next.at);
      if (next.intervalMs === undefined) this.timers.delete(next.id);
      else next.at += next.intervalMs;
      next.callback();
      await flushMicrotasks();
    }
    this.time = end;
    await flushMicrotasks();
  }

  private nextDue(end: number): Scheduled | undefined {
    let best: Scheduled | undefined;
    for (const timer of this.timers.values()) {
      if (timer.at <= end && (best === undefined || timer.at < best.at)) best = timer;
    }
    return best;
  }

  private schedule(callback: () => void, delayMs: number, intervalMs: number | undefined): Timer {
    const id = this.nextId;
    this.nextId += 1;
    this.timers.set(id, { id, at: this.time + Math.max(0, delayMs), intervalMs, callback });
    return { cancel: () => this.timers.delete(id) };
  }
}
