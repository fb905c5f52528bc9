/**
 * The options, components and counters of document sync (doc-sync.ts): what the composition root
 * configures and what metrics read.
 */
import type { Clock } from '../core/clock.js';
import type { DocumentId, PeerIdString } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { SyncableDocuments } from '../crdt/documents.js';
import type { BackgroundGate } from './background-hold.js';
import type { DroppedCounts } from './peer-message-guard.js';
import type { SharePolicy } from './share-policy.js';
import type { Transport } from './transport.js';
import type { WarningLimiterOptions } from './warning-limiter.js';

export interface DocSyncOptions {
  readonly sharedWith: SharePolicy;
  /** Largest local change pushed inside one message; default 16 KiB (gossip stays small). */
  readonly pushMaxBytes?: number;
  /** Coalescing period of sync messages; default 10 ms (one message per dirty pair per tick). */
  readonly syncTickMs?: number;
  /** Delay of the heads digest that follows pushes; default 1,000 ms (bounds a lost push). */
  readonly digestDelayMs?: number;
  /** Period of anti-entropy with every connected peer; default 30,000 ms. */
  readonly antiEntropyIntervalMs?: number;
  /**
   * Most bytes of received messages waiting to be applied, per peer; default 64 MiB (eight of the
   * largest messages). Beyond it messages are dropped and anti-entropy recovers them later.
   */
  readonly maxBacklogBytes?: number;
  /**
   * Most direct pushes to one peer not yet taken by its stream; default 64. Beyond it a change
   * goes by the sync protocol, which waits for the stream instead of queueing in front of it.
   */
  readonly maxPushesInFlight?: number;
  /** Limits of the warnings a peer's bad messages can cause (see PeerWarningLimiter). */
  readonly warnings?: WarningLimiterOptions;
  /** Longest a background change is held while the site is busy; default 5,000 ms (background-hold.ts). */
  readonly backgroundHoldMaxMs?: number;
}

/** Peer liveness as heartbeats see it (Heartbeats fits). */
export interface PeerLiveness {
  on(event: 'peer:up' | 'peer:down', listener: (event: { readonly peer: PeerIdString }) => void): void;
  off(event: 'peer:up' | 'peer:down', listener: (event: { readonly peer: PeerIdString }) => void): void;
}

export interface DocSyncComponents {
  readonly transport: Transport;
  readonly documents: SyncableDocuments;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * When given, `peer:up` also runs anti-entropy (a link that stalled without disconnecting may
   * have lost pushes) and `peer:down` also resets the peer's sync states. Transport connects and
   * disconnects do so in any case.
   */
  readonly liveness?: PeerLiveness;
  /** When given, background changes wait while it is busy (background-hold.ts); else they go at once. */
  readonly background?: BackgroundGate;
  /**
   * Told of each message refused because its peer is outside the document's scope, before the
   * refusal is counted and logged: the node may find the peer was to be in it (a site a scope
   * adds, which made the object itself). Returns true while it looks into that: the refusal is
   * then logged at debug, since it may be a join under way, not a peer overstepping. Called
   * synchronously; it must not throw.
   */
  readonly onRefused?: (peer: PeerIdString, doc: DocumentId) => boolean;
}

/** Counters for metrics and tests. Each counts every message, logged or not. */
export interface DocSyncStats extends DroppedCounts {
  syncMessagesSent: number;
  syncMessagesReceived: number;
  /** Pushes sent: one per direct message, one per gossip message on the broadcast topic. */
  pushesSent: number;
  pushesReceived: number;
  summariesSent: number;
}
