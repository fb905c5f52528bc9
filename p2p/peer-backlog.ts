/**
 * The bytes of received messages waiting in each peer's queue, with a cap. A transport delivers a
 * peer's messages as fast as the peer sends them, while applying one may take milliseconds: a
 * peer that floods us (hostile, or far faster than we are) would otherwise grow its queue, and
 * our memory, without bound. Over the cap a message is dropped; once the peer's backlog is empty
 * again the caller runs anti-entropy with it, so what was dropped is synced again.
 */
export class PeerBacklog<K> {
  private readonly maxBytes: number;
  private readonly bytes = new Map<K, number>();
  private readonly overflowed = new Set<K>();
  private totalBytes = 0;

  /** `maxBytes`: most bytes queued per peer (one larger message is still taken alone). */
  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Counts `size` more bytes for `peer`; false (nothing counted) when that would pass the cap. */
  tryAdd(peer: K, size: number): boolean {
    const queued = this.bytes.get(peer) ?? 0;
    if (queued > 0 && queued + size > this.maxBytes) {
      this.overflowed.add(peer);
      return false;
    }
    this.bytes.set(peer, queued + size);
    this.totalBytes += size;
    return true;
  }

  /**
   * `size` bytes of `peer` were handled. True when this emptied a backlog that had dropped
   * messages: the caller must resynchronise with the peer.
   */
  release(peer: K, size: number): boolean {
    const before = this.bytes.get(peer) ?? 0;
    this.totalBytes -= Math.min(before, size);
    const queued = before - size;
    if (queued > 0) {
      this.bytes.set(peer, queued);
      return false;
    }
    this.bytes.delete(peer);
    return this.overflowed.delete(peer);
  }

  /** Bytes queued for `peer`. */
  queued(peer: K): number {
    return this.bytes.get(peer) ?? 0;
  }

  /** Bytes queued for all peers. */
  total(): number {
    return this.totalBytes;
  }

  /** Number of peers with a backlog (tests: the map shrinks). */
  size(): number {
    return this.bytes.size;
  }
}
