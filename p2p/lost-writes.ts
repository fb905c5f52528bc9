/**
 * Received changes whose write failed (a full disk): the store dropped them, and the peer that
 * sent them will not send them again by itself. Its next digest would show the difference, but a
 * document that does not change is digested only by anti-entropy's round (30 s), and a site
 * whose store just refused writes may be refusing the next ones too. So each (peer, document)
 * whose write was lost is pulled again (a fresh sync session: the peer answers with all we lack)
 * after a backoff, 1 s doubling to 30 s while the writes keep failing (at once when the store is
 * found to take writes again, `retryNow`), and forgotten once a write of the document from that
 * peer goes through or the peer leaves.
 */
import type { Clock, Timer } from '../core/clock.js';
import type { DocumentId, PeerIdString } from '../core/ids.js';

const firstRetryMs = 1_000;
const maxRetryMs = 30_000;

interface Lost {
  readonly peer: PeerIdString;
  readonly doc: DocumentId;
  attempts: number;
  timer: Timer | undefined;
}

export class LostWrites {
  private readonly lost = new Map<string, Lost>();

  constructor(
    private readonly clock: Clock,
    /** Pulls `doc` from `peer` again; called only while `peer` is connected. */
    private readonly pull: (peer: PeerIdString, doc: DocumentId) => void,
    private readonly isConnected: (peer: PeerIdString) => boolean,
  ) {}

  /** What `peer` sent of `doc` was not written: pull it again after the backoff. True the first time since it was last written. */
  failed(peer: PeerIdString, doc: DocumentId): boolean {
    const key = keyOf(peer, doc);
    const known = this.lost.get(key);
    const entry = known ?? { peer, doc, attempts: 0, timer: undefined };
    this.lost.set(key, entry);
    if (entry.timer !== undefined) return known === undefined;
    const delayMs = Math.min(firstRetryMs * 2 ** entry.attempts, maxRetryMs);
    entry.attempts += 1;
    entry.timer = this.clock.setTimeout(() => {
      entry.timer = undefined;
      if (this.isConnected(peer)) this.pull(peer, doc);
      else this.lost.delete(key);
    }, delayMs);
    return known === undefined;
  }

  /** Something `peer` sent of `doc` was written: its store takes writes again. */
  written(peer: PeerIdString, doc: DocumentId): void {
    const key = keyOf(peer, doc);
    if (this.lost.get(key)?.timer === undefined) this.lost.delete(key);
  }

  /** Pulls every waiting document now, its backoff started over: the store takes writes again. */
  retryNow(): void {
    for (const [key, entry] of this.lost) {
      if (entry.timer === undefined) continue;
      entry.timer.cancel();
      entry.timer = undefined;
      entry.attempts = 0;
      if (this.isConnected(entry.peer)) this.pull(entry.peer, entry.doc);
      else this.lost.delete(key);
    }
  }

  /** `peer` left: its next connection starts with a complete summary. */
  forgetPeer(peer: PeerIdString): void {
    for (const [key, entry] of this.lost) {
      if (entry.peer !== peer) continue;
      entry.timer?.cancel();
      this.lost.delete(key);
    }
  }

  stop(): void {
    for (const entry of this.lost.values()) entry.timer?.cancel();
    this.lost.clear();
  }

  /** (peer, document) pairs waiting or pulled again (tests: it must empty). */
  get size(): number {
    return this.lost.size;
  }
}

function keyOf(peer: PeerIdString, doc: DocumentId): string {
  return `${peer} ${doc}`;
}
