/**
 * Received changes whose write failed (a full disk): the store dropped them, and the peer that
 * sent them will not send them again by itself. Its next digest would show the difference, but a
 * document that does not change is digested only by anti-entropy's round (30 s), and a site
 * whose store just refused writes may be refusing the next ones too. So each (peer, document)
 * whose write was lost is pulled again (a fresh sync session: the peer answers with all we lack)
 * after a backoff, 1 s doubling to 30 s while the writes keep failing (at once when the store is
 * found to take writes again, `retryNow`), and forgotten once a write of the document from that
 * peer goes through or the peer leaves.
 *
 * A write that goes through may still leave out what was lost: a change pushed as its origin's
 * write started (doc-sync.ts, `onLocalChangeApplied`) is spoken of by that origin's sync only once
 * durable, so a pull answered while the origin's disk is slow brings the stored state without it,
 * and the origin, having pushed it already, never announces it again (swarm seed 6800007: 21 s
 * to the next anti-entropy round). So the heads a lost push announced are kept, and a write that
 * leaves them missing pulls again after the next step of the backoff; after `maxAttempts` pulls
 * without them (the origin may have lost them itself) anti-entropy is left to it.
 */
import type { Clock, Timer } from '../core/clock.js';
import type { DocumentId, PeerIdString } from '../core/ids.js';

const firstRetryMs = 1_000;
const maxRetryMs = 30_000;
/** Pulls of a document whose answers still lack the lost heads: 1 + 2 + 4 + 8 + 16 + 30 s, then anti-entropy's rounds. */
const maxAttempts = 6;

interface Lost {
  readonly peer: PeerIdString;
  readonly doc: DocumentId;
  attempts: number;
  timer: Timer | undefined;
  /** The heads the lost input announced (a push's): what a write from the peer must bring. */
  readonly heads: Set<string>;
}

export class LostWrites {
  private readonly lost = new Map<string, Lost>();

  constructor(
    private readonly clock: Clock,
    /** Pulls `doc` from `peer` again; called only while `peer` is connected. */
    private readonly pull: (peer: PeerIdString, doc: DocumentId) => void,
    private readonly isConnected: (peer: PeerIdString) => boolean,
    /** Whether this site's copy of `doc` lacks any of `heads`. */
    private readonly lacks: (doc: DocumentId, heads: readonly string[]) => Promise<boolean> = () => Promise.resolve(false),
  ) {}

  /**
   * What `peer` sent of `doc` (announcing `heads`, for a push) was not written: pull it again after
   * the backoff. True the first time since it was last written.
   */
  failed(peer: PeerIdString, doc: DocumentId, heads: readonly string[] = []): boolean {
    const key = keyOf(peer, doc);
    const known = this.lost.get(key);
    const entry = known ?? { peer, doc, attempts: 0, timer: undefined, heads: new Set<string>() };
    for (const head of heads) entry.heads.add(head);
    this.lost.set(key, entry);
    if (entry.timer === undefined) this.schedule(key, entry);
    return known === undefined;
  }

  /**
   * Something `peer` sent of `doc` was written: its store takes writes again. Forgotten, unless
   * this copy still lacks the heads a lost push announced: then pulled again after the next step.
   */
  written(peer: PeerIdString, doc: DocumentId): void {
    const key = keyOf(peer, doc);
    const entry = this.lost.get(key);
    if (entry === undefined || entry.timer !== undefined) return;
    if (entry.heads.size === 0) {
      this.lost.delete(key);
      return;
    }
    const forget = (): void => {
      if (this.lost.get(key) === entry && entry.timer === undefined) this.lost.delete(key);
    };
    void this.lacks(doc, [...entry.heads]).then((lacking) => {
      if (this.lost.get(key) !== entry || entry.timer !== undefined) return;
      if (lacking && entry.attempts < maxAttempts) this.schedule(key, entry);
      else forget();
    }, forget);
  }

  private schedule(key: string, entry: Lost): void {
    const delayMs = Math.min(firstRetryMs * 2 ** entry.attempts, maxRetryMs);
    entry.attempts += 1;
    entry.timer = this.clock.setTimeout(() => {
      entry.timer = undefined;
      if (this.isConnected(entry.peer)) this.pull(entry.peer, entry.doc);
      else this.lost.delete(key);
    }, delayMs);
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
