/**
 * What document sync does with the messages it will not use: it counts every one (for metrics),
 * logs them within limits (a hostile peer must not flood the log), and caps the backlog of the
 * messages it does take (a peer must not flood our memory).
 */
import type { Clock } from '../core/clock.js';
import { ErrorCode } from '../core/errors.js';
import type { DocumentId, PeerIdString } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { PeerBacklog } from './peer-backlog.js';
import { PeerWarningLimiter, type WarningLimiterOptions } from './warning-limiter.js';

/** Counts of the messages dropped, each counted whether or not it was logged. */
export interface DroppedCounts {
  /** Messages refused because the peer is not part of the document. */
  refused: number;
  /** Messages dropped because they did not decode or apply. */
  malformed: number;
  /** Messages dropped because the peer's backlog was full (anti-entropy recovers them). */
  overloaded: number;
}

export interface PeerMessageGuardOptions {
  readonly maxBacklogBytes: number;
  readonly warnings: WarningLimiterOptions;
}

export interface PeerMessageGuardComponents {
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Refuses, drops and admits peer messages, and keeps count. */
export class PeerMessageGuard {
  private readonly backlog: PeerBacklog<PeerIdString>;
  private readonly warnings: PeerWarningLimiter;
  private readonly counts: DroppedCounts = { refused: 0, malformed: 0, overloaded: 0 };
  private readonly logger: Logger;

  constructor(options: PeerMessageGuardOptions, components: PeerMessageGuardComponents) {
    this.logger = components.logger;
    this.backlog = new PeerBacklog(options.maxBacklogBytes);
    this.warnings = new PeerWarningLimiter(options.warnings, components);
  }

  /** A peer sent something about `doc`, which it is not part of. */
  refuse(peer: PeerIdString, doc: DocumentId, kind: string, lookedInto = false): void {
    this.counts.refused += 1;
    if (lookedInto) {
      this.logger.debug({ peer, doc, kind }, 'refused a document message from a peer outside its scope, while the node looks whether the peer was added to it');
      return;
    }
    this.warnings.warn(
      peer,
      { peer, doc, kind, code: ErrorCode.PeerNotAllowed },
      'refused a document message from a peer outside its scope',
    );
  }

  /** A peer sent something that does not decode or apply. */
  malformed(peer: PeerIdString, reason: string, kind: string, doc?: DocumentId): void {
    this.counts.malformed += 1;
    this.warnings.warn(
      peer,
      { peer, kind, reason, code: ErrorCode.PeerMessageInvalid, ...(doc === undefined ? {} : { doc }) },
      'dropped a malformed document message',
    );
  }

  /** Admits `size` bytes into the backlog of `peer`; false (counted, logged) when it is full. */
  admit(peer: PeerIdString, size: number): boolean {
    if (this.backlog.tryAdd(peer, size)) return true;
    this.counts.overloaded += 1;
    this.warnings.warn(
      peer,
      { peer, queuedBytes: this.backlog.queued(peer) },
      'dropped a message: the peer sends faster than we apply',
    );
    return false;
  }

  /** `size` admitted bytes of `peer` were handled; true when the peer must be synced again. */
  release(peer: PeerIdString, size: number): boolean {
    return this.backlog.release(peer, size);
  }

  /** A snapshot of the counts. */
  dropped(): DroppedCounts {
    return { ...this.counts };
  }

  /** Bytes received from all peers and not handled yet (applied and written). */
  backlogBytes(): number {
    return this.backlog.total();
  }

  /** Number of peers with a backlog or a warning window (tests: they must shrink). */
  peerCount(): number {
    return Math.max(this.backlog.size(), this.warnings.size());
  }

  /** Logs the warning summaries still owed and cancels their timer. */
  stop(): void {
    this.warnings.stop();
  }
}
