/**
 * The creates under way through this site's front that share a dependency first (share.ts): from
 * the ask to the owner until the object is made or refused. The owner's reliance check
 * (reliance.ts) looks for such an object on this site while it does not exist yet; asked with
 * `X-Cheops-Probe: dependent`, this site says it is coming rather than gone, so a delete of what
 * it will rely on is refused (found by the simulator, swarm seed 2200257: the owner pruned the
 * record of a pod whose secret was on its way, and deleted the secret under it).
 */
import type { ResourceKey } from '../../core/ids.js';
import { keyText } from '../../crdt/replicant.js';

export class CreatesUnderWay {
  private readonly counts = new Map<string, number>();

  /** Marks a create of `key` under way; returns how to end it. */
  begin(key: ResourceKey): () => void {
    const text = keyText(key);
    this.counts.set(text, (this.counts.get(text) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.counts.get(text) ?? 1) - 1;
      if (left <= 0) this.counts.delete(text);
      else this.counts.set(text, left);
    };
  }

  has(key: ResourceKey): boolean {
    return this.counts.has(keyText(key));
  }
}
