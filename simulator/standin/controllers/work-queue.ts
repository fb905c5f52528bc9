/**
 * A deduplicating work queue, as controllers use: a key queued twice before it is processed runs
 * once. Work runs one item at a time on the promise queue (no timers), so a run is as deterministic
 * as the events that feed it; `idle()` tells tests and the simulator when everything has settled.
 */
import type { Logger } from '../../../core/logger.js';

export class WorkQueue {
  private readonly pending = new Map<string, () => Promise<void>>();
  private running = false;
  private stopped = false;
  private waiters: (() => void)[] = [];

  constructor(private readonly logger: Logger) {}

  /** Queues `work` under `key` unless that key is already waiting. */
  add(key: string, work: () => Promise<void>): void {
    if (this.stopped || this.pending.has(key)) return;
    this.pending.set(key, work);
    if (!this.running) {
      this.running = true;
      void Promise.resolve().then(() => this.drain());
    }
  }

  private async drain(): Promise<void> {
    for (;;) {
      const next = this.pending.entries().next();
      if (next.done === true || this.stopped) break;
      const [key, work] = next.value;
      this.pending.delete(key);
      try {
        await work();
      } catch (error) {
        this.logger.warn({ err: error, key }, 'stand-in controller work failed');
      }
    }
    this.running = false;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves when no work is queued or running. */
  idle(): Promise<void> {
    if (!this.running && this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Drops queued work; work already running finishes. */
  stop(): void {
    this.stopped = true;
    this.pending.clear();
  }
}
