/**
 * One writer at a time per resource key on this site (docs/REPLICATION.md §3): the write path (from
 * the local application's answer to the replicant's change) and every reconcile pass of every
 * incarnation of the key (from reading the replicant to recording the outcome) take the key's lock.
 *
 * Per key, not per document: two incarnations of a name are two documents but one object in the
 * local application. Without it, the pass deleting the old life and the pass applying the new one
 * interleave (the delete lands between the new life's read and its replace, or after it), and a
 * create through the front races a pass still deleting the old object.
 */
import type { ResourceKey } from '../../core/ids.js';
import { keyText } from '../../crdt/replicant.js';

/** Per-key mutual exclusion, first come first served; promise-only (no timer). */
export class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` once every earlier holder of `key` has finished; `work` failing releases the lock too. */
  async run<T>(key: ResourceKey, work: () => Promise<T>): Promise<T> {
    const text = keyText(key);
    const previous = this.tails.get(text) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(text, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(text) === tail) this.tails.delete(text);
    }
  }

  /** Whether `key` is held or waited for now. */
  held(key: ResourceKey): boolean {
    return this.tails.has(keyText(key));
  }

  /** Keys held or waited for (tests). */
  get size(): number {
    return this.tails.size;
  }
}
