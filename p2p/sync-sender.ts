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

/**
 * Sync messages generated at once in a flush. Generating one may load its document from storage
 * or wait for a storage batch; one at a time, a heal of thousands of documents was a chain of
 * thousands of such waits.
 */
const generateConcurrency = 64;

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

  /**
   * Generates the messages of up to `generateConcurrency` documents at once (each may load its
   * document from storage, or wait for received changes to be written), then sends them in order.
   */
  private async flushPeer(peer: PeerIdString, docs: ReadonlySet<DocumentId>, epoch: number): Promise<void> {
    if (!this.c.isConnected(peer)) return;
    const all = [...docs];
    for (let start = 0; start < all.length; start += generateConcurrency) {
      if (!this.c.isRunning() || this.c.sessions.epoch(peer) !== epoch) return;
      const slice = all.slice(start, start + generateConcurrency).filter((doc) => this.c.allowed(doc, peer));
      const generated = await Promise.all(slice.map((doc) => this.generate(peer, doc, epoch)));
      if (this.c.sessions.epoch(peer) !== epoch) return;
      for (let index = 0; index < generated.length; index += 1) {
        const message = generated[index];
        if (message === undefined) continue;
        if (!(await this.sendSync(peer, message))) {
          // The states believe these messages left; forget them so the next sessions start clean.
          for (const unsent of generated.slice(index + 1)) if (unsent !== undefined) this.c.sessions.forgetDocument(peer, unsent.doc);
          return;
        }
      }
    }
  }

  /** The next sync message of `doc` for `peer` (its state updated), or undefined when none is due. */
  private async generate(peer: PeerIdString, doc: DocumentId, epoch: number): Promise<{ doc: DocumentId; data: Uint8Array } | undefined> {
    const { sessions, documents } = this.c;
    const [state, data] = await documents.generateSyncMessage(doc, sessions.state(peer, doc));
    if (sessions.epoch(peer) !== epoch) return undefined;
    sessions.setState(peer, doc, state);
    return data === null ? undefined : { doc, data };
  }

  private async sendSync(peer: PeerIdString, message: { doc: DocumentId; data: Uint8Array }): Promise<boolean> {
    const { doc, data } = message;
    try {
      await this.c.transport.send(peer, syncChannel, encodeSyncChannelMessage({ type: 'sync', v: 1, doc, data }));
      this.c.sent('sync');
      return true;
    } catch (error) {
      // The state believes the message left; forget it so the next session starts clean.
      this.c.sessions.forgetDocument(peer, doc);
      this.c.logger.debug({ peer, doc, err: errorMessage(error) }, 'sync message not sent');
      return false;
    }
  }
}
