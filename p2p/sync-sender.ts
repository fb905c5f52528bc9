/**
 * The sending half of document sync's protocol: coalesced sync messages and heads summaries,
 * each run in the peer's queue so a sync state is never used by two tasks at once.
 *
 * Coalescing: a (peer, document) pair is marked dirty and flushed once per tick, one message per
 * dirty pair, however many changes happened in between. A peer has at most one flush queued or
 * running: while its stream is slow, its pairs wait in the dirty set (and coalesce further)
 * instead of piling up one task per tick in its queue.
 */
import type { Clock, Timer } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { DocumentId, PeerIdString } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { SyncableDocuments } from '../crdt/documents.js';
import type { KeyedQueue } from './keyed-queue.js';
import { PeerDocumentSet } from './peer-doc-set.js';
import { encodeSyncChannelMessage, maxSummaryEntries, syncChannel, type HeadsEntry } from './sync-messages.js';
import type { SyncSessions } from './sync-sessions.js';
import type { Transport } from './transport.js';

export interface SyncSenderComponents {
  readonly transport: Transport;
  readonly documents: SyncableDocuments;
  readonly sessions: SyncSessions;
  readonly queue: KeyedQueue<PeerIdString>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Scope safety: asked again right before anything about `doc` is sent to `peer`. */
  readonly allowed: (doc: DocumentId, peer: PeerIdString) => boolean;
  readonly isRunning: () => boolean;
  readonly isConnected: (peer: PeerIdString) => boolean;
  /** Counts what was sent. */
  readonly sent: (what: 'sync' | 'summary') => void;
}

/** Flushes dirty pairs as sync messages, and sends heads summaries. */
export class SyncSender {
  private readonly syncTickMs: number;
  private readonly c: SyncSenderComponents;
  private readonly dirty = new PeerDocumentSet();
  /** Peers whose flush is queued or running. */
  private readonly flushing = new Set<PeerIdString>();
  private flushTimer: Timer | undefined;

  constructor(syncTickMs: number, components: SyncSenderComponents) {
    this.syncTickMs = syncTickMs;
    this.c = components;
  }

  /** Syncs `doc` with `peer` at the next tick. */
  markDirty(peer: PeerIdString, doc: DocumentId): void {
    if (!this.c.isRunning()) return;
    this.dirty.add(peer, doc);
    this.schedule(this.syncTickMs);
  }

  /** Forgets the dirty pairs of `peer` (it went down: a heal follows its return). */
  forgetPeer(peer: PeerIdString): void {
    this.dirty.deletePeer(peer);
  }

  /** Cancels the next tick and forgets every dirty pair. */
  stop(): void {
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    this.dirty.clear();
  }

  /** The peers something is kept for (tests). */
  peers(): PeerIdString[] {
    return [...new Set([...this.dirty.peers(), ...this.flushing])];
  }

  /** Sends `peer` the heads of those of `docs` it shares, in summaries of at most 1,000. */
  async sendHeads(peer: PeerIdString, docs: readonly DocumentId[]): Promise<void> {
    const entries: HeadsEntry[] = [];
    for (const doc of docs) {
      const heads = this.c.documents.heads(doc);
      if (heads !== undefined && this.c.allowed(doc, peer)) entries.push({ doc, heads });
    }
    for (let start = 0; start < entries.length && this.c.isRunning(); start += maxSummaryEntries) {
      const slice = entries.slice(start, start + maxSummaryEntries);
      try {
        await this.c.transport.send(peer, syncChannel, encodeSyncChannelMessage({ type: 'heads', v: 1, docs: slice }));
        this.c.sent('summary');
      } catch (error) {
        this.c.logger.debug({ peer, err: errorMessage(error) }, 'heads not sent');
        return;
      }
    }
  }

  private schedule(delayMs: number): void {
    this.flushTimer ??= this.c.clock.setTimeout(() => this.flush(), delayMs);
  }

  /** One tick: one sync message per dirty (peer, document) pair. */
  private flush(): void {
    this.flushTimer = undefined;
    for (const peer of this.dirty.peers()) {
      if (this.flushing.has(peer)) continue;
      const docs = this.dirty.take(peer);
      const epoch = this.c.sessions.epoch(peer);
      this.flushing.add(peer);
      void this.c.queue.run(peer, async () => {
        try {
          await this.flushPeer(peer, docs, epoch);
        } finally {
          this.flushing.delete(peer);
          // Pairs that waited for this flush have waited a tick already.
          if (this.dirty.has(peer) && this.c.isRunning()) this.schedule(0);
        }
      });
    }
  }

  private async flushPeer(peer: PeerIdString, docs: ReadonlySet<DocumentId>, epoch: number): Promise<void> {
    const { sessions, documents } = this.c;
    if (!this.c.isConnected(peer)) return;
    for (const doc of docs) {
      if (!this.c.isRunning() || sessions.epoch(peer) !== epoch) return;
      if (!this.c.allowed(doc, peer)) continue;
      const [state, data] = await documents.generateSyncMessage(doc, sessions.state(peer, doc));
      if (sessions.epoch(peer) !== epoch) return;
      sessions.setState(peer, doc, state);
      if (data === null) continue;
      try {
        await this.c.transport.send(peer, syncChannel, encodeSyncChannelMessage({ type: 'sync', v: 1, doc, data }));
        this.c.sent('sync');
      } catch (error) {
        // The state believes the message left; forget it so the next session starts clean.
        sessions.forgetDocument(peer, doc);
        this.c.logger.debug({ peer, doc, err: errorMessage(error) }, 'sync message not sent');
        return;
      }
    }
  }
}
