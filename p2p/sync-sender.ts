/**
 * The sending half of document sync's protocol: coalesced sync messages and heads summaries,
 * each run in the peer's queue so a sync state is never used by two tasks at once.
 *
 * Coalescing: a (peer, document) pair is marked dirty and flushed once per tick, one sync message
 * per dirty pair, however many changes happened in between, and the sync messages of one flush
 * travel together in `syncs` messages. A peer has at most one flush queued or
 * running: while its stream is slow, its pairs wait in the dirty set (and coalesce further)
 * instead of piling up one task per tick in its queue.
 */
import type { Clock, Timer } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { DocumentId, PeerIdString } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { DocumentChangedEvent, SyncableDocuments } from '../crdt/documents.js';
import type { KeyedQueue } from './keyed-queue.js';
import { PeerDocumentSet } from './peer-doc-set.js';
import {
  encodeSyncChannelMessage,
  maxBatchedSyncMessages,
  maxPushChanges,
  maxSummaryEntries,
  syncChannel,
  type HeadsEntry,
  type SyncChannelMessage,
} from './sync-messages.js';
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

/**
 * Most bytes of sync messages sent in one `syncs` message: well under any peer's largest direct
 * message (8 MiB by default), and small enough that a heartbeat's stream is not starved.
 */
const maxBatchBytes = 256 * 1024;

/** A document asked for and not received by then is asked for again (its answer was lost). */
const wantAgainAfterMs = 10_000;

/**
 * A document sent whole, unasked, is not sent so again to that peer until it names it in a summary
 * or this long has passed. A peer leaves out of its summaries the documents it has received but
 * not yet read (their scope unknown there, it may not name them); sent again, a heal of a
 * thousand documents crossed the link nearly twice.
 */
const sendUnaskedAgainAfterMs = 60_000;

interface GeneratedMessage {
  readonly doc: DocumentId;
  readonly data: Uint8Array;
  readonly bytes: number;
  /** Generated without a kept state: the receiver starts afresh too (SyncMessage.fresh). */
  readonly fresh?: true;
}

interface WholeDocument {
  readonly doc: DocumentId;
  readonly heads: readonly string[];
  readonly changes: readonly Uint8Array[];
  readonly bytes: number;
}

/** Cuts items into batches of at most `maxBatchedSyncMessages` and about `maxBatchBytes` (a larger item goes alone). */
function batchesOf<T extends { readonly bytes: number }>(items: readonly T[]): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length > 0 && (bytes + item.bytes > maxBatchBytes || current.length >= maxBatchedSyncMessages)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Flushes dirty pairs as sync messages, and sends heads summaries. */
export class SyncSender {
  private readonly syncTickMs: number;
  private readonly c: SyncSenderComponents;
  private readonly dirty = new PeerDocumentSet();
  /** Documents to ask each peer for whole (we hold none of them). */
  private readonly wanted = new PeerDocumentSet();
  /**
   * When each document was last asked for, per peer: a second summary (the heal on connect, then
   * the one on `peer:up`) names them again before they arrive, and asking again would bring
   * every document twice.
   */
  private readonly asked = new Map<PeerIdString, Map<DocumentId, number>>();
  /** When each document was last sent whole, per peer, until the peer names it (see sendDocuments). */
  private readonly sentWhole = new Map<PeerIdString, Map<DocumentId, number>>();
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

  /** Asks `peer` for `doc` whole at the next tick (we hold none of it); `again`: even if just asked (what came was lost). */
  markWanted(peer: PeerIdString, doc: DocumentId, again = false): void {
    if (!this.c.isRunning()) return;
    const askedAt = this.asked.get(peer)?.get(doc);
    if (!again && askedAt !== undefined && this.c.clock.now() - askedAt < wantAgainAfterMs) return;
    this.wanted.add(peer, doc);
    this.schedule(this.syncTickMs);
  }

  /**
   * Sends `peer`, which holds none of them, those of `docs` we hold, whole: their stored changes,
   * several documents to a message. A document with changes of ours not yet written, or too large
   * for one message, is synced instead. `unasked` (a complete summary left them out) skips those
   * already sent whole to `peer` that it has not named since (sendUnaskedAgainAfterMs).
   */
  async sendDocuments(peer: PeerIdString, requested: readonly DocumentId[], unasked = false): Promise<void> {
    const now = this.c.clock.now();
    const sent = this.sentWhole.get(peer) ?? new Map<DocumentId, number>();
    for (const [doc, at] of sent) if (now - at >= sendUnaskedAgainAfterMs) sent.delete(doc);
    const docs = unasked ? requested.filter((doc) => !sent.has(doc)) : requested;
    for (const doc of docs) sent.set(doc, now);
    if (sent.size > 0) this.sentWhole.set(peer, sent);
    else this.sentWhole.delete(peer);
    for (let start = 0; start < docs.length && this.c.isRunning(); start += generateConcurrency) {
      const slice = docs.slice(start, start + generateConcurrency);
      const stored = await Promise.all(slice.map((doc) => this.c.documents.storedChanges(doc).catch(() => undefined)));
      const items: WholeDocument[] = [];
      slice.forEach((doc, index) => {
        const whole = stored[index];
        if (whole === undefined) {
          if (this.c.documents.has(doc)) this.markDirty(peer, doc);
          return;
        }
        const item = this.itemFor(peer, doc, whole.heads, whole.changes);
        if (item !== undefined) items.push(item);
      });
      // Nothing kept depends on a send that failed: the next anti-entropy asks again.
      if (!(await this.sendItems(peer, items, 'documents not sent'))) return;
    }
  }

  /**
   * Sends `peer` local changes it has not heard of (background changes held back: background-hold.ts),
   * several documents to a `docs` message, each taken in there as a push. They cost no document
   * load here, unlike a sync message each. A document whose changes do not fit one message is
   * synced instead.
   */
  async sendChanges(peer: PeerIdString, changed: readonly DocumentChangedEvent[]): Promise<void> {
    const items: WholeDocument[] = [];
    for (const { docId, heads, changes } of changed) {
      const item = this.itemFor(peer, docId, heads, changes);
      if (item !== undefined) items.push(item);
    }
    // The changes are stored: if a send fails, the peer's next heal (each connection starts with one) syncs them.
    await this.sendItems(peer, items, 'held changes not sent');
  }

  /** An item of a `docs` message, or undefined when it does not fit one (the document is synced instead). */
  private itemFor(peer: PeerIdString, doc: DocumentId, heads: readonly string[], changes: readonly Uint8Array[]): WholeDocument | undefined {
    const bytes = doc.length + changes.reduce((sum, change) => sum + change.length, 0);
    if (changes.length <= maxPushChanges && bytes <= maxBatchBytes) return { doc, heads, changes, bytes };
    this.markDirty(peer, doc);
    return undefined;
  }

  /** Sends `items` in `docs` messages of at most maxBatchBytes; false when a send failed (the rest is dropped). */
  private async sendItems(peer: PeerIdString, items: readonly WholeDocument[], failure: string): Promise<boolean> {
    for (const batch of batchesOf(items)) {
      if (!this.c.isRunning()) return false;
      // Scope safety: asked again right before anything leaves.
      const allowed = batch.filter((item) => this.c.allowed(item.doc, peer));
      if (allowed.length === 0) continue;
      try {
        await this.c.transport.send(peer, syncChannel, encodeSyncChannelMessage({ type: 'docs', v: 1, items: allowed }));
      } catch (error) {
        this.c.logger.debug({ peer, documents: allowed.length, err: errorMessage(error) }, failure);
        return false;
      }
    }
    return true;
  }

  /**
   * `peer` may hold nothing we sent it whole: its document sync started again (a restart), or a
   * new connection replaced one that may have died with what was on it. What its next summary
   * leaves out goes again at once (swarm seed 5300147: a document sent to a site that had just
   * crashed was skipped when the restarted site's summary left it out).
   */
  forgetSentWhole(peer: PeerIdString): void {
    this.sentWhole.delete(peer);
  }

  /** `peer` named `docs` in a summary: it holds them, whatever we sent it whole. */
  heldBy(peer: PeerIdString, docs: Iterable<DocumentId>): void {
    const sent = this.sentWhole.get(peer);
    if (sent === undefined) return;
    for (const doc of docs) sent.delete(doc);
    if (sent.size === 0) this.sentWhole.delete(peer);
  }

  /** Forgets the dirty pairs of `peer` (it went down: a heal follows its return). */
  forgetPeer(peer: PeerIdString): void {
    this.dirty.deletePeer(peer);
    this.wanted.deletePeer(peer);
    this.asked.delete(peer);
    this.sentWhole.delete(peer);
  }

  /** Cancels the next tick and forgets every dirty pair. */
  stop(): void {
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    this.dirty.clear();
    this.wanted.clear();
    this.asked.clear();
    this.sentWhole.clear();
  }

  /** The peers something is kept for (tests). */
  peers(): PeerIdString[] {
    return [...new Set([...this.dirty.peers(), ...this.wanted.peers(), ...this.asked.keys(), ...this.sentWhole.keys(), ...this.flushing])];
  }

  /**
   * Sends `peer` the heads of those of `docs` it shares, in messages of at most 1,000 entries.
   * `complete`: `docs` are all the documents shared with `peer` (a heal), and the last message
   * says so (HeadsMessage `end`); a digest names only some.
   */
  async sendHeads(peer: PeerIdString, docs: readonly DocumentId[], complete = false, ask = false): Promise<void> {
    const entries: HeadsEntry[] = [];
    for (const doc of docs) {
      const heads = this.c.documents.heads(doc);
      if (heads !== undefined && this.c.allowed(doc, peer)) entries.push({ doc, heads });
    }
    // A complete summary goes even when empty: "I hold none of them" tells the peer to send them all.
    for (let start = 0; ((complete && start === 0) || start < entries.length) && this.c.isRunning(); start += maxSummaryEntries) {
      const slice = entries.slice(start, start + maxSummaryEntries);
      const end = start + maxSummaryEntries >= entries.length;
      try {
        await this.c.transport.send(peer, syncChannel, encodeSyncChannelMessage({ type: 'heads', v: 1, docs: slice, ...(complete ? { end } : {}), ...(complete && ask ? { ask: true as const } : {}) }));
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
    for (const peer of new Set([...this.dirty.peers(), ...this.wanted.peers()])) {
      if (this.flushing.has(peer)) continue;
      const docs = this.dirty.take(peer);
      const wanted = this.wanted.take(peer);
      const epoch = this.c.sessions.epoch(peer);
      this.flushing.add(peer);
      void this.c.queue.run(peer, async () => {
        try {
          await this.sendWants(peer, wanted);
          await this.flushPeer(peer, docs, epoch);
        } finally {
          this.flushing.delete(peer);
          // Pairs that waited for this flush have waited a tick already.
          if ((this.dirty.has(peer) || this.wanted.has(peer)) && this.c.isRunning()) this.schedule(0);
        }
      });
    }
  }

  /** Asks `peer` for the documents we hold none of, in lists of at most 1,000. */
  private async sendWants(peer: PeerIdString, wanted: ReadonlySet<DocumentId>): Promise<void> {
    // Held meanwhile (received, or created here): those sync as usual.
    const docs = [...wanted].filter((doc) => !this.c.documents.has(doc) && this.c.allowed(doc, peer));
    const now = this.c.clock.now();
    const asked = this.asked.get(peer) ?? new Map<DocumentId, number>();
    for (const [doc, at] of asked) if (now - at >= wantAgainAfterMs || this.c.documents.has(doc)) asked.delete(doc);
    for (const doc of docs) asked.set(doc, now);
    if (asked.size > 0) this.asked.set(peer, asked);
    else this.asked.delete(peer);
    for (let start = 0; start < docs.length && this.c.isConnected(peer); start += maxSummaryEntries) {
      try {
        await this.c.transport.send(peer, syncChannel, encodeSyncChannelMessage({ type: 'want', v: 1, docs: docs.slice(start, start + maxSummaryEntries) }));
      } catch (error) {
        this.c.logger.debug({ peer, err: errorMessage(error) }, 'wanted documents not asked for');
        return;
      }
    }
    for (const doc of wanted) if (this.c.documents.has(doc)) this.markDirty(peer, doc);
  }

  /**
   * Generates the messages of up to `generateConcurrency` documents at once (each may load its
   * document from storage, or wait for received changes to be written), then sends them, several
   * to a message (`syncs`).
   */
  private async flushPeer(peer: PeerIdString, docs: ReadonlySet<DocumentId>, epoch: number): Promise<void> {
    if (!this.c.isConnected(peer)) return;
    const all = [...docs];
    for (let start = 0; start < all.length; start += generateConcurrency) {
      if (!this.c.isRunning() || this.c.sessions.epoch(peer) !== epoch) return;
      const slice = all.slice(start, start + generateConcurrency).filter((doc) => this.c.allowed(doc, peer));
      const generated = await Promise.all(slice.map((doc) => this.generate(peer, doc, epoch)));
      if (this.c.sessions.epoch(peer) !== epoch) return;
      const batches = batchesOf(generated.filter((message) => message !== undefined));
      for (let index = 0; index < batches.length; index += 1) {
        if (!(await this.sendSync(peer, batches[index]!))) {
          // The states believe these messages left; forget them so the next sessions start clean.
          for (const unsent of batches.slice(index + 1).flat()) this.c.sessions.forgetDocument(peer, unsent.doc);
          return;
        }
      }
    }
  }

  /** The next sync message of `doc` for `peer` (its state updated), or undefined when none is due. */
  private async generate(peer: PeerIdString, doc: DocumentId, epoch: number): Promise<GeneratedMessage | undefined> {
    const { sessions, documents } = this.c;
    const fresh = sessions.takeAfresh(peer, doc) || !sessions.hasState(peer, doc);
    const [state, data] = await documents.generateSyncMessage(doc, sessions.state(peer, doc));
    if (sessions.epoch(peer) !== epoch) return undefined;
    sessions.setState(peer, doc, state);
    return data === null ? undefined : { doc, data, bytes: data.length + doc.length, ...(fresh ? { fresh: true as const } : {}) };
  }

  /** Sends one batch (alone: as a plain `sync` message); false, its states forgotten, when it did not leave. */
  private async sendSync(peer: PeerIdString, batch: readonly GeneratedMessage[]): Promise<boolean> {
    const [first] = batch;
    if (first === undefined) return true;
    const message: SyncChannelMessage =
      batch.length === 1
        ? { type: 'sync', v: 1, doc: first.doc, data: first.data, ...(first.fresh === true ? { fresh: true } : {}) }
        : { type: 'syncs', v: 1, items: batch.map(({ doc, data, fresh }) => (fresh === true ? { doc, data, fresh } : { doc, data })) };
    try {
      await this.c.transport.send(peer, syncChannel, encodeSyncChannelMessage(message));
      for (let sent = 0; sent < batch.length; sent += 1) this.c.sent('sync');
      return true;
    } catch (error) {
      // The states believe the messages left; forget them so the next sessions start clean.
      for (const { doc } of batch) this.c.sessions.forgetDocument(peer, doc);
      this.c.logger.debug({ peer, documents: batch.length, err: errorMessage(error) }, 'sync messages not sent');
      return false;
    }
  }
}
