/**
 * One FIFO of async tasks per key. Document sync runs everything it does for one peer (apply a
 * received message, generate the next) through that peer's queue, so a sync state is never read
 * by one task while another is updating it; different peers proceed in parallel.
 */
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export class KeyedQueue<K> {
  private readonly tails = new Map<K, Promise<void>>();
  private readonly logger: Logger;
  private readonly onIdle: ((key: K) => void) | undefined;

  /**
   * `onIdle` runs each time the last queued task of a key has finished: the moment per-key state
   * that only queued tasks could still need can be freed.
   */
  constructor(logger: Logger, onIdle?: (key: K) => void) {
    this.logger = logger;
    this.onIdle = onIdle;
  }

  /** Runs `task` after the tasks already queued for `key`; a task that throws is logged. */
  run(key: K, task: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task).catch((error: unknown) => {
      this.logger.error({ key: String(key), err: errorMessage(error) }, 'queued task failed');
    });
    this.tails.set(key, next);
    void next.then(() => {
      if (this.tails.get(key) !== next) return;
      this.tails.delete(key);
      try {
        this.onIdle?.(key);
      } catch (error) {
        this.logger.error({ key: String(key), err: errorMessage(error) }, 'idle callback failed');
      }
    });
    return next;
  }

  /** True while a task of `key` is queued or running. */
  busy(key: K): boolean {
    return this.tails.has(key);
  }

  /** Resolves when every task queued so far has finished. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
