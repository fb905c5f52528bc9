/**
 * Document sync (DESIGN.md §6), written against the Transport and SyncableDocuments ports only, so
 * the simulator runs it unchanged.
 *
 * - A small local change (≤ `pushMaxBytes`) is pushed at once, in one gossip message on the inbox
 *   topic of each connected site that shares the document: one one-way delay replicates it.
 *   Gossip may be lost (a subscription travels 45–120 ms after a dial), so the heads of pushed
 *   documents follow in a `heads` digest shortly after, and a site that still differs syncs.
 * - Everything else moves by the Automerge sync protocol in direct messages on the `sync`
 *   channel. Work is coalesced: a (peer, document) pair is marked dirty and flushed once per tick,
 *   one message per dirty pair, however many changes happened in between.
 * - Anti-entropy: on every connection (a heal) and every `antiEntropyIntervalMs`, each side sends
 *   the heads of the documents it shares with the other; the receiver syncs those that differ.
 * - Scope safety: nothing about a document (changes, sync messages, heads, its id) goes to a peer
 *   outside `sharedWith(doc)`; a peer that pushes, syncs or announces a document it is not part of
 *   is refused, logged and its message dropped.
 */
import type { Clock, Timer } from '../core/clock.js';
import { ErrorCode, errorMessage } from '../core/errors.js';
import type { DocumentId, PeerIdString } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { DocumentChangedEvent, SyncableDocuments } from '../crdt/documents.js';
import { KeyedQueue } from './keyed-queue.js';
import { PeerDocumentSet } from './peer-doc-set.js';
import {
  decodePushMessage,
  decodeSyncChannelMessage,
  encodePushMessage,
  encodeSyncChannelMessage,
  inboxTopic,
  maxSummaryEntries,
  syncChannel,
  type HeadsEntry,
  type HeadsMessage,
  type PushMessage,
  type SyncMessage,
} from './sync-messages.js';
import { isSharedWith, type SharePolicy } from './share-policy.js';
import { SyncSessions } from './sync-sessions.js';
import type { Transport, TransportEvents } from './transport.js';
import { sameHeads } from './wire.js';

export interface DocSyncOptions {
  readonly sharedWith: SharePolicy;
  /** Largest local change pushed inside one gossip message; default 16 KiB (gossip stays small). */
  readonly pushMaxBytes?: number;
  /** Coalescing period of sync messages; default 10 ms (one message per dirty pair per tick). */
  readonly syncTickMs?: number;
  /** Delay of the heads digest that follows pushes; default 1,000 ms (bounds a lost push). */
  readonly digestDelayMs?: number;
  /** Period of anti-entropy with every connected peer; default 30,000 ms. */
  readonly antiEntropyIntervalMs?: number;
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
}

/** Counters for metrics and tests. */
export interface DocSyncStats {
  syncMessagesSent: number;
  syncMessagesReceived: number;
  pushesSent: number;
  pushesReceived: number;
  summariesSent: number;
  /** Messages refused because the peer is not part of the document. */
  refused: number;
  /** Messages dropped because they did not decode or apply. */
  malformed: number;
}

export function createDocSync(options: DocSyncOptions, components: DocSyncComponents): DocSync {
  return new DocSync(options, components);
}

/** A heartbeat `peer:up` this soon after a heal (a connect) does not heal again. */
const minHealGapMs = 2_000;

function totalBytes(chunks: readonly Uint8Array[]): number {
  return chunks.reduce((sum, chunk) => sum + chunk.length, 0);
}

/** Keeps the documents shared with connected peers in sync. */
export class DocSync {
  private readonly options: Required<DocSyncOptions>;
  private readonly transport: Transport;
  private readonly documents: SyncableDocuments;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly liveness: PeerLiveness | undefined;
  private readonly sessions = new SyncSessions();
  private readonly queue: KeyedQueue<PeerIdString>;
  private readonly dirty = new PeerDocumentSet();
  private readonly pushed = new PeerDocumentSet();
  private readonly lastHealAt = new Map<PeerIdString, number>();
  private readonly counters: DocSyncStats = {
    syncMessagesSent: 0,
    syncMessagesReceived: 0,
    pushesSent: 0,
    pushesReceived: 0,
    summariesSent: 0,
    refused: 0,
    malformed: 0,
  };
  private flushTimer: Timer | undefined;
  private digestTimer: Timer | undefined;
  private antiEntropyTimer: Timer | undefined;
  private stopListeningToDocuments: (() => void) | undefined;
  private running = false;

  constructor(options: DocSyncOptions, components: DocSyncComponents) {
    this.options = {
      pushMaxBytes: 16 * 1024,
      syncTickMs: 10,
      digestDelayMs: 1_000,
      antiEntropyIntervalMs: 30_000,
      ...options,
    };
    this.transport = components.transport;
    this.documents = components.documents;
    this.clock = components.clock;
    this.logger = components.logger.child({ component: 'doc-sync' });
    this.liveness = components.liveness;
    this.queue = new KeyedQueue(this.logger);
  }

  /** Starts listening and runs anti-entropy with the peers already connected. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.transport.subscribe(this.inbox());
    this.transport.on('message', this.onMessage);
    this.transport.on('gossip', this.onGossip);
    this.transport.on('peer:connect', this.onPeerConnect);
    this.transport.on('peer:disconnect', this.onPeerDisconnect);
    this.liveness?.on('peer:up', this.onPeerUp);
    this.liveness?.on('peer:down', this.onPeerDisconnect);
    this.stopListeningToDocuments = this.documents.onChange(this.onDocumentChanged);
    this.antiEntropyTimer = this.clock.setInterval(() => this.antiEntropy(), this.options.antiEntropyIntervalMs);
    this.antiEntropy();
  }

  /** Stops timers and listeners, then waits for the work already started. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const timer of [this.flushTimer, this.digestTimer, this.antiEntropyTimer]) timer?.cancel();
    this.flushTimer = this.digestTimer = this.antiEntropyTimer = undefined;
    this.transport.off('message', this.onMessage);
    this.transport.off('gossip', this.onGossip);
    this.transport.off('peer:connect', this.onPeerConnect);
    this.transport.off('peer:disconnect', this.onPeerDisconnect);
    this.liveness?.off('peer:up', this.onPeerUp);
    this.liveness?.off('peer:down', this.onPeerDisconnect);
    this.transport.unsubscribe(this.inbox());
    this.stopListeningToDocuments?.();
    this.dirty.clear();
    this.pushed.clear();
    await this.queue.idle();
  }

  /** Anti-entropy with `peer` now: sends it the heads of every document both share. */
  heal(peer: PeerIdString): void {
    if (!this.running) return;
    this.lastHealAt.set(peer, this.clock.now());
    void this.queue.run(peer, () => this.sendHeads(peer, this.sharedDocuments(peer)));
  }

  /** Anti-entropy with every connected peer now. */
  antiEntropy(): void {
    for (const peer of this.transport.connectedPeers()) this.heal(peer);
  }

  /** A snapshot of the counters. */
  stats(): DocSyncStats {
    return { ...this.counters };
  }

  /** Resolves when no sync work is queued (tests, clean shutdown). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private readonly onDocumentChanged = (event: DocumentChangedEvent): void => {
    if (!this.running) return;
    const push =
      event.origin === 'local' && event.changes.length > 0 && totalBytes(event.changes) <= this.options.pushMaxBytes;
    for (const peer of this.transport.connectedPeers()) {
      if (!this.allowed(event.docId, peer)) continue;
      if (push) {
        this.push(peer, event);
        continue;
      }
      const known = this.sessions.knownHeads(peer, event.docId);
      if (known === undefined || !sameHeads(known, event.heads)) this.markDirty(peer, event.docId);
    }
  };

  private readonly onMessage = (event: TransportEvents['message']): void => {
    if (event.channel !== syncChannel || !this.running) return;
    const decoded = decodeSyncChannelMessage(event.data);
    if (!decoded.ok) {
      this.dropMalformed(event.from, decoded.error, 'sync');
      return;
    }
    const message = decoded.value;
    if (message.type === 'heads') {
      // Queued: it may reset a sync state that a queued flush is about to use.
      void this.queue.run(event.from, () => Promise.resolve(this.receiveHeads(event.from, message)));
      return;
    }
    if (!this.allowed(message.doc, event.from)) {
      this.refuse(event.from, message.doc, 'sync');
      return;
    }
    const epoch = this.sessions.epoch(event.from);
    void this.queue.run(event.from, () => this.receiveSync(event.from, message, epoch));
  };

  private readonly onGossip = (event: TransportEvents['gossip']): void => {
    if (event.topic !== this.inbox() || !this.running) return;
    const decoded = decodePushMessage(event.data);
    if (!decoded.ok) {
      this.dropMalformed(event.from, decoded.error, 'push');
      return;
    }
    const message = decoded.value;
    if (!this.allowed(message.doc, event.from)) {
      this.refuse(event.from, message.doc, 'push');
      return;
    }
    const epoch = this.sessions.epoch(event.from);
    void this.queue.run(event.from, () => this.receivePush(event.from, message, epoch));
  };

  private readonly onPeerConnect = (event: { readonly peer: PeerIdString }): void => {
    this.heal(event.peer);
  };

  private readonly onPeerUp = (event: { readonly peer: PeerIdString }): void => {
    // A connect is followed by an up one round trip later: one summary is enough.
    const last = this.lastHealAt.get(event.peer);
    if (last === undefined || this.clock.now() - last > minHealGapMs) this.heal(event.peer);
  };

  private readonly onPeerDisconnect = (event: { readonly peer: PeerIdString }): void => {
    this.sessions.reset(event.peer);
    this.dirty.deletePeer(event.peer);
    this.pushed.deletePeer(event.peer);
  };

  private async receiveSync(from: PeerIdString, message: SyncMessage, epoch: number): Promise<void> {
    if (!this.running || this.sessions.epoch(from) !== epoch) return;
    let state;
    try {
      state = await this.documents.receiveSyncMessage(message.doc, this.sessions.state(from, message.doc), message.data);
    } catch (error) {
      this.sessions.forgetDocument(from, message.doc);
      this.dropMalformed(from, errorMessage(error), 'sync', message.doc);
      return;
    }
    if (this.sessions.epoch(from) !== epoch) return;
    this.counters.syncMessagesReceived += 1;
    this.sessions.setState(from, message.doc, state);
    // The protocol answers every message (with nothing, once both sides know they agree).
    this.markDirty(from, message.doc);
  }

  private async receivePush(from: PeerIdString, message: PushMessage, epoch: number): Promise<void> {
    if (!this.running || this.sessions.epoch(from) !== epoch) return;
    // Known before applying: the store announces the change (and we would sync it back) first.
    this.sessions.setKnownHeads(from, message.doc, message.heads);
    try {
      // Creates the document when absent: a new replicant reaches its sites in one one-way delay.
      await this.documents.applyChanges(message.doc, message.changes);
    } catch (error) {
      this.dropMalformed(from, errorMessage(error), 'push', message.doc);
      return;
    }
    // Changes whose dependencies we lack wait inside Automerge; noteHeads then syncs the rest.
    this.counters.pushesReceived += 1;
    this.noteHeads(from, { doc: message.doc, heads: message.heads });
  }

  private receiveHeads(from: PeerIdString, message: HeadsMessage): void {
    for (const entry of message.docs) {
      if (!this.allowed(entry.doc, from)) this.refuse(from, entry.doc, 'heads');
      else this.noteHeads(from, entry);
    }
  }

  /** Records what `peer` has of a document, and syncs it when that differs from ours. */
  private noteHeads(peer: PeerIdString, entry: HeadsEntry): void {
    this.sessions.setKnownHeads(peer, entry.doc, entry.heads);
    const local = this.documents.heads(entry.doc);
    if (local === undefined && entry.heads.length === 0) return;
    if (local !== undefined && sameHeads(local, entry.heads)) return;
    // Our sync state may believe we agree (it knows only what came by sync): start it afresh,
    // or generateSyncMessage would answer null and the difference would stay.
    this.sessions.forgetSyncState(peer, entry.doc);
    this.markDirty(peer, entry.doc);
  }

  private push(peer: PeerIdString, event: DocumentChangedEvent): void {
    const message: PushMessage = { type: 'push', v: 1, doc: event.docId, heads: event.heads, changes: event.changes };
    this.counters.pushesSent += 1;
    this.transport.publish(inboxTopic(peer), encodePushMessage(message)).catch((error: unknown) => {
      this.logger.debug({ peer, doc: event.docId, err: errorMessage(error) }, 'push not published');
    });
    this.pushed.add(peer, event.docId);
    this.digestTimer ??= this.clock.setTimeout(() => this.sendDigests(), this.options.digestDelayMs);
  }

  /** After pushes, tells each peer the heads of what was pushed, in case a push was lost. */
  private sendDigests(): void {
    this.digestTimer = undefined;
    for (const [peer, docs] of this.pushed.drain()) void this.queue.run(peer, () => this.sendHeads(peer, [...docs]));
  }

  private markDirty(peer: PeerIdString, doc: DocumentId): void {
    if (!this.running) return;
    this.dirty.add(peer, doc);
    this.flushTimer ??= this.clock.setTimeout(() => this.flush(), this.options.syncTickMs);
  }

  /** One tick: one sync message per dirty (peer, document) pair. */
  private flush(): void {
    this.flushTimer = undefined;
    for (const [peer, docs] of this.dirty.drain()) {
      const epoch = this.sessions.epoch(peer);
      void this.queue.run(peer, () => this.flushPeer(peer, docs, epoch));
    }
  }

  private async flushPeer(peer: PeerIdString, docs: ReadonlySet<DocumentId>, epoch: number): Promise<void> {
    for (const doc of docs) {
      if (!this.running || this.sessions.epoch(peer) !== epoch) return;
      if (!this.allowed(doc, peer)) continue;
      const [state, data] = await this.documents.generateSyncMessage(doc, this.sessions.state(peer, doc));
      if (this.sessions.epoch(peer) !== epoch) return;
      this.sessions.setState(peer, doc, state);
      if (data === null) continue;
      try {
        await this.transport.send(peer, syncChannel, encodeSyncChannelMessage({ type: 'sync', v: 1, doc, data }));
        this.counters.syncMessagesSent += 1;
      } catch (error) {
        // The state believes the message left; forget it so the next session starts clean.
        this.sessions.forgetDocument(peer, doc);
        this.logger.debug({ peer, doc, err: errorMessage(error) }, 'sync message not sent');
        return;
      }
    }
  }

  private async sendHeads(peer: PeerIdString, docs: readonly DocumentId[]): Promise<void> {
    const entries: HeadsEntry[] = [];
    for (const doc of docs) {
      const heads = this.documents.heads(doc);
      if (heads !== undefined && this.allowed(doc, peer)) entries.push({ doc, heads });
    }
    for (let start = 0; start < entries.length && this.running; start += maxSummaryEntries) {
      const slice = entries.slice(start, start + maxSummaryEntries);
      try {
        await this.transport.send(peer, syncChannel, encodeSyncChannelMessage({ type: 'heads', v: 1, docs: slice }));
        this.counters.summariesSent += 1;
      } catch (error) {
        this.logger.debug({ peer, err: errorMessage(error) }, 'heads not sent');
        return;
      }
    }
  }

  private sharedDocuments(peer: PeerIdString): DocumentId[] {
    return this.documents.ids().filter((doc) => this.allowed(doc, peer));
  }

  private allowed(doc: DocumentId, peer: PeerIdString): boolean {
    return isSharedWith(this.options.sharedWith, doc, peer, this.logger);
  }

  private refuse(peer: PeerIdString, doc: DocumentId, kind: string): void {
    this.counters.refused += 1;
    this.logger.warn(
      { peer, doc, kind, code: ErrorCode.PeerNotAllowed },
      'refused a document message from a peer outside its scope',
    );
  }

  private dropMalformed(peer: PeerIdString, reason: string, kind: string, doc?: DocumentId): void {
    this.counters.malformed += 1;
    this.logger.warn(
      { peer, kind, reason, code: ErrorCode.PeerMessageInvalid, ...(doc === undefined ? {} : { doc }) },
      'dropped a malformed document message',
    );
  }

  private inbox(): string {
    return inboxTopic(this.transport.peerId);
  }
}
