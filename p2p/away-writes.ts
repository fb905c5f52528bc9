/**
 * The documents this site changed while a peer was away (disconnected, or down to the
 * heartbeats), so that they go to it whole the moment it is back, beside the summary.
 *
 * Why: at a reconnection each site sends a summary (the heads of every document it shares with
 * the other), and sends a document whole only once the other's summary shows it lacking. The
 * listening side's connection opens one one-way delay after the dialling side's, so the dialler
 * heard what to send one round trip after its own connection opened, and the listener got it one
 * one-way delay later: a heal took two round trips after the connection where one is enough. What
 * a site itself wrote during a partition is what the other lacks for certain; sent at once, it
 * arrives when the summaries do. The summaries still settle everything else (changes received
 * from third sites, a document this site wrote before the cut that had not reached the peer), and
 * a document sent whole now is not sent again when the peer's summary leaves it out
 * (SyncSender.sendDocuments).
 */
import type { Clock } from '../core/clock.js';
import type { DocumentId, PeerIdString } from '../core/ids.js';

export interface AwayWritesOptions {
  /** Documents remembered per away peer; beyond, the summary alone brings the rest. */
  readonly maxDocuments: number;
  /** A peer away longer than this is forgotten (it may never come back); the summary covers it then. */
  readonly maxAwayMs: number;
}

interface Away {
  readonly since: number;
  readonly docs: Set<DocumentId>;
}

export class AwayWrites {
  private readonly away = new Map<PeerIdString, Away>();

  constructor(
    private readonly options: AwayWritesOptions,
    private readonly clock: Pick<Clock, 'now'>,
  ) {}

  /** `peer` went away: from now on, what this site writes is kept for it. */
  left(peer: PeerIdString): void {
    if (!this.away.has(peer)) this.away.set(peer, { since: this.clock.now(), docs: new Set() });
  }

  /** This site changed `doc`. */
  changed(doc: DocumentId): void {
    if (this.away.size === 0) return;
    const now = this.clock.now();
    for (const [peer, away] of this.away) {
      if (now - away.since > this.options.maxAwayMs) this.away.delete(peer);
      else if (away.docs.size < this.options.maxDocuments) away.docs.add(doc);
    }
  }

  /** `peer` is back: the documents this site changed meanwhile, forgotten here. */
  back(peer: PeerIdString): DocumentId[] {
    const away = this.away.get(peer);
    this.away.delete(peer);
    if (away === undefined || this.clock.now() - away.since > this.options.maxAwayMs) return [];
    return [...away.docs];
  }

  /** Peers something is kept for (tests). */
  get peerCount(): number {
    return this.away.size;
  }
}
