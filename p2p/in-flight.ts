/**
 * Counts the sends to each peer that the transport has not accepted yet, with a cap. A send that
 * nobody awaits (a ping, a pong, a push) is queued inside the transport until the peer's stream
 * takes it; a peer that stops reading would otherwise make that queue grow with every send, for
 * as long as the connection stays open. Callers skip a send over the cap (and recover the way
 * they recover a lost message). Counts of zero are deleted, so the map holds only busy peers.
 */
export class InFlightSends<K> {
  private readonly limit: number;
  private readonly counts = new Map<K, number>();

  /** `limit`: most unaccepted sends per key. */
  constructor(limit: number) {
    this.limit = limit;
  }

  /** Counts one more send to `key`; false (and nothing counted) when `key` is at the cap. */
  tryStart(key: K): boolean {
    const count = this.counts.get(key) ?? 0;
    if (count >= this.limit) return false;
    this.counts.set(key, count + 1);
    return true;
  }

  /** One send to `key` was accepted or failed. */
  finish(key: K): void {
    const count = (this.counts.get(key) ?? 0) - 1;
    if (count > 0) this.counts.set(key, count);
    else this.counts.delete(key);
  }

  /** Sends to `key` not yet accepted. */
  count(key: K): number {
    return this.counts.get(key) ?? 0;
  }

  /** Number of keys with sends in flight. */
  size(): number {
    return this.counts.size;
  }
}
