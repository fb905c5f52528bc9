/**
 * A set of (peer, document) pairs grouped by peer: the pairs document sync must flush this tick,
 * or whose heads it must announce after pushes.
 */
import type { DocumentId, PeerIdString } from '../core/ids.js';

export class PeerDocumentSet {
  private readonly byPeer = new Map<PeerIdString, Set<DocumentId>>();

  add(peer: PeerIdString, doc: DocumentId): void {
    let docs = this.byPeer.get(peer);
    if (docs === undefined) {
      docs = new Set();
      this.byPeer.set(peer, docs);
    }
    docs.add(doc);
  }

  /** The peers with at least one pair. */
  peers(): PeerIdString[] {
    return [...this.byPeer.keys()];
  }

  /** True when `peer` has at least one pair. */
  has(peer: PeerIdString): boolean {
    return this.byPeer.has(peer);
  }

  /** Returns the documents of `peer` and removes its pairs. */
  take(peer: PeerIdString): ReadonlySet<DocumentId> {
    const docs = this.byPeer.get(peer) ?? new Set<DocumentId>();
    this.byPeer.delete(peer);
    return docs;
  }

  /** Removes every pair of `peer`. */
  deletePeer(peer: PeerIdString): void {
    this.byPeer.delete(peer);
  }

  /** Returns every pair, grouped by peer, and empties the set. */
  drain(): Array<[PeerIdString, ReadonlySet<DocumentId>]> {
    const entries = [...this.byPeer];
    this.byPeer.clear();
    return entries;
  }

  clear(): void {
    this.byPeer.clear();
  }
}
