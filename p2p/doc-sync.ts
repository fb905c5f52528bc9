/**
 * Document sync (DESIGN.md §6), written against the Transport and SyncableDocuments ports only, so
 * the simulator runs it unchanged. This module wires the parts and takes in what peers send:
 *
 * - pushes of small local changes: direct to each site of a restricted document, by gossip on the
 *   broadcast topic for a document shared with all (doc-push.ts);
 * - the Automerge sync protocol in coalesced direct messages on the `sync` channel (the messages
 *   of many documents batched in one), and heads summaries (sync-sender.ts);
 * - anti-entropy: on every connection (a heal) each side sends the heads of every document it
 *   shares with the other (a complete summary), and every `antiEntropyIntervalMs` those of the
 *   documents that did not change lately; the side that lacks something syncs;
 * - scope safety: nothing about a document (changes, sync messages, heads, its id) goes to a peer
 *   outside `sharedWith(doc)`; a peer that pushes, syncs or announces a document it is not part
 *   of is refused, counted, logged within limits, and its message dropped (peer-message-guard.ts);
 * - bounds: received work waits within `maxBacklogBytes` per peer, and nothing kept per peer
 *   outlives its connection and its queued work (peer ids cost nothing to make).
 */
import type { Clock, Timer } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { DocumentId, PeerIdString } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { DocumentChangedEvent, SyncableDocuments } from '../crdt/documents.js';
import { AwayWrites } from './away-writes.js';
import { BackgroundHold, defaultMaxHoldMs, type BackgroundGate } from './background-hold.js';
import { DocPusher, type PushMarks } from './doc-push.js';
import { KeyedQueue } from './keyed-queue.js';
import { LostWrites } from './lost-writes.js';
import type { DocSyncComponents, DocSyncOptions, DocSyncStats, PeerLiveness } from './doc-sync-options.js';
import { PeerMessageGuard, type DroppedCounts } from './peer-message-guard.js';
import {
  broadcastTopic,
  decodePushMessage,
  decodeSyncChannelMessage,
  pushChannel,
  syncChannel,
  type HeadsEntry,
  type HeadsMessage,
  type PushMessage,
  type SyncMessage,
} from './sync-messages.js';
import { includesPeer, isSharedWith, sharingOf, type SharedWith } from './share-policy.js';
import { SyncSender } from './sync-sender.js';
import { SyncSessions } from './sync-sessions.js';
import type { Transport, TransportEvents } from './transport.js';
import { sameHeads } from './wire.js';

export type { DocSyncComponents, DocSyncOptions, DocSyncStats, PeerLiveness } from './doc-sync-options.js';

type SentCounts = Omit<DocSyncStats, keyof DroppedCounts>;

export function createDocSync(options: DocSyncOptions, components: DocSyncComponents): DocSync {
  return new DocSync(options, components);
}

/** What to do once received input is written. */
interface AfterWrite {
  readonly doc: DocumentId;
  /** The heads the input announced (a push's), which a lost write must bring back (lost-writes.ts). */
  readonly heads?: readonly string[];
  readonly written: Promise<void>;
  /** Runs once written (in the peer's queue), unless the peer's session was reset meanwhile. */
  readonly onWritten: () => void | Promise<void>;
}

/** Most bytes of changes passed on to one peer per digest (doc-push.ts); ~5,000 replica statuses. */
const maxRelayBytesPerPeer = 1024 * 1024;

/** A heartbeat `peer:up` this soon after a heal (a connect) does not heal again. */
const minHealGapMs = 2_000;
/** How long a stop waits for queued sends (see `stop`). */
const stopGraceMs = 2_000;
/** Documents written while a peer is away that are sent to it whole on its return (away-writes.ts). */
const maxAwayDocuments = 10_000;
/** Longest absence after which a returning peer gets only the summary. */
const maxAwayMs = 60 * 60_000;
/** The periodic anti-entropy leaves out documents changed within this many digest delays. */
const quietDigests = 5;
/** Documents whose last local change waits for its audience to pass it on (DocSync.awaitingRelay). */
const maxAwaitingRelay = 10_000;

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
  private readonly guard: PeerMessageGuard;
  private readonly pusher: DocPusher;
  private readonly sender: SyncSender;
  private readonly awayWrites: AwayWrites;
  private readonly lostWrites: LostWrites;
  private readonly background: BackgroundGate | undefined;
  private readonly onRefused: ((peer: PeerIdString, doc: DocumentId) => boolean) | undefined;
  private readonly hold: BackgroundHold;
  private stopListeningToGate: (() => void) | undefined;
  /** Peers whose summary is queued and not started: one more would say the same. */
  private readonly healing = new Set<PeerIdString>();
  /** The documents named so far by a complete summary still arriving, per peer. */
  private readonly summaries = new Map<PeerIdString, Set<DocumentId>>();
  private readonly lastHealAt = new Map<PeerIdString, number>();
  /** Peers connected before this sync started: our first summary asks for theirs again (HeadsMessage `ask`). */
  private readonly askSummary = new Set<PeerIdString>();

  private readonly counters: SentCounts = {
    syncMessagesSent: 0,
    syncMessagesReceived: 0,
    pushesSent: 0,
    pushesReceived: 0,
    summariesSent: 0,
  };
  private antiEntropyTimer: Timer | undefined;
  private stopListeningToDocuments: (() => void) | undefined;
  private stopListeningToLocalChanges: (() => void) | undefined;
  private stopListeningToLostChanges: (() => void) | undefined;
  /** The `changes` of local events pushed before they were durable: not pushed again once they are. */
  private readonly pushedEarly = new WeakSet<readonly Uint8Array[]>();
  /** Pushes marked `reachedAll` that are being taken in: their sender and heads, by document. */
  private readonly reachedAll = new Map<DocumentId, { readonly from: PeerIdString; readonly heads: readonly string[] }>();
  /** When each document changed last, for those that changed lately (periodicAntiEntropy). */
  private readonly lastChangedAt = new Map<DocumentId, number>();
  /**
   * Our last change of a document that went to its audience alone, for it to pass on: its hash
   * (the document's one head after it) and that audience, until a `reachedAll` push from it
   * includes the change.
   */
  private readonly awaitingRelay = new Map<DocumentId, { readonly head: string; readonly by: ReadonlySet<PeerIdString> }>();
  private running = false;

  constructor(options: DocSyncOptions, components: DocSyncComponents) {
    this.options = {
      pushMaxBytes: 16 * 1024,
      syncTickMs: 10,
      digestDelayMs: 1_000,
      antiEntropyIntervalMs: 30_000,
      maxBacklogBytes: 64 * 1024 * 1024,
      maxPushesInFlight: 64,
      warnings: {},
      backgroundHoldMaxMs: defaultMaxHoldMs,
      ...options,
    };
    this.transport = components.transport;
    this.documents = components.documents;
    this.clock = components.clock;
    this.logger = components.logger.child({ component: 'doc-sync' });
    this.liveness = components.liveness;
    this.background = components.background;
    this.onRefused = components.onRefused;
    this.hold = new BackgroundHold(this.options.backgroundHoldMaxMs, this.clock, () => this.releaseHeld());
    this.queue = new KeyedQueue(this.logger, this.onPeerIdle);
    this.awayWrites = new AwayWrites({ maxDocuments: maxAwayDocuments, maxAwayMs: maxAwayMs }, this.clock);
    this.lostWrites = new LostWrites(
      this.clock,
      (peer, doc) => {
        // Held: a fresh session, which the peer starts afresh too, and it sends all we lack.
        // Not held (the failed write was its first): asked for whole, as after a summary.
        this.sessions.startAfresh(peer, doc);
        if (this.documents.has(doc)) this.sender.markDirty(peer, doc);
        else this.sender.markWanted(peer, doc, true);
      },
      (peer) => this.running && this.isConnected(peer),
      (doc, heads) => this.documents.lacks(doc, heads),
    );
    this.guard = new PeerMessageGuard(this.options, { clock: this.clock, logger: this.logger });
    this.sender = new SyncSender(this.options.syncTickMs, {
      transport: this.transport,
      documents: this.documents,
      sessions: this.sessions,
      queue: this.queue,
      clock: this.clock,
      logger: this.logger,
      allowed: (doc, peer) => this.allowed(doc, peer),
      isRunning: () => this.running,
      isConnected: (peer) => this.isConnected(peer),
      sent: (what) => {
        if (what === 'sync') this.counters.syncMessagesSent += 1;
        else this.counters.summariesSent += 1;
      },
    });
    this.pusher = new DocPusher(
      { digestDelayMs: this.options.digestDelayMs, maxPushesInFlight: this.options.maxPushesInFlight, maxRelayBytesPerPeer },
      {
        transport: this.transport,
        clock: this.clock,
        logger: this.logger,
        onPushSent: () => {
          this.counters.pushesSent += 1;
        },
        markDirty: (peer, doc) => this.sender.markDirty(peer, doc),
        // A document with changes held is left out: its heads would have the peer pull them now.
        sendDigest: (peer, docs) => {
          const told = this.hold.size === 0 ? docs : docs.filter((doc) => !this.hold.holds(doc));
          if (told.length > 0) void this.queue.run(peer, () => this.sender.sendHeads(peer, told));
        },
        heads: (doc) => this.documents.heads(doc),
      },
    );
  }

  /** Starts listening and runs anti-entropy with the peers already connected. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.transport.subscribe(broadcastTopic);
    this.transport.on('message', this.onMessage);
    this.transport.on('gossip', this.onGossip);
    this.transport.on('peer:connect', this.onPeerConnect);
    this.transport.on('peer:disconnect', this.onPeerDisconnect);
    this.liveness?.on('peer:up', this.onPeerUp);
    this.liveness?.on('peer:down', this.onPeerDisconnect);
    this.stopListeningToDocuments = this.documents.onChange(this.onDocumentChanged);
    this.stopListeningToLocalChanges = this.documents.onLocalChangeApplied(this.onLocalChangeApplied);
    this.stopListeningToLostChanges = this.documents.onLocalChangesLost(this.onLocalChangesLost);
    this.stopListeningToGate = this.background?.onIdle(() => this.releaseHeld());
    this.antiEntropyTimer = this.clock.setInterval(() => this.periodicAntiEntropy(), this.options.antiEntropyIntervalMs);
    // Peers already connected may have sent their summary before anything listened.
    for (const peer of this.transport.connectedPeers()) this.askSummary.add(peer);
    this.antiEntropy();
  }

  /**
   * Stops timers and listeners, waits for the work already started, then forgets every peer:
   * messages missed while stopped would make the kept sync states lie.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    // Held changes are stored: each peer's next connection starts with anti-entropy, which syncs them.
    this.hold.takeAll();
    this.stopListeningToGate?.();
    this.stopListeningToGate = undefined;
    this.running = false;
    this.antiEntropyTimer?.cancel();
    this.antiEntropyTimer = undefined;
    this.lostWrites.stop();
    this.pusher.stop();
    this.sender.stop();
    this.transport.off('message', this.onMessage);
    this.transport.off('gossip', this.onGossip);
    this.transport.off('peer:connect', this.onPeerConnect);
    this.transport.off('peer:disconnect', this.onPeerDisconnect);
    this.liveness?.off('peer:up', this.onPeerUp);
    this.liveness?.off('peer:down', this.onPeerDisconnect);
    this.transport.unsubscribe(broadcastTopic);
    this.stopListeningToDocuments?.();
    this.stopListeningToDocuments = undefined;
    this.stopListeningToLocalChanges?.();
    this.stopListeningToLocalChanges = undefined;
    this.stopListeningToLostChanges?.();
    this.stopListeningToLostChanges = undefined;
    // A send to a peer that stopped reading (it is stopping too: `cheops up` stops every site at
    // once) waits for a flow-control window that never opens, and two such sites would wait on
    // each other. What a cut-short send carried, the next sync sends again.
    if (!(await this.queueIdleWithin(stopGraceMs))) {
      this.logger.warn({ graceMs: stopGraceMs }, 'document sync stopped with sends still waiting on a peer');
    }
    this.sessions.clear();
    this.lastHealAt.clear();
    this.askSummary.clear();
    this.awaitingRelay.clear();
    this.guard.stop();
  }

  /** Whether every queued task ended within `graceMs`. */
  private queueIdleWithin(graceMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = this.clock.setTimeout(() => resolve(false), graceMs);
      void this.queue.idle().then(() => {
        timer.cancel();
        resolve(true);
      });
    });
  }

  /** Anti-entropy with `peer` now: sends it the heads of every document both share. */
  heal(peer: PeerIdString): void {
    if (!this.running) return;
    this.lastHealAt.set(peer, this.clock.now());
    if (this.healing.has(peer)) return;
    this.healing.add(peer);
    void this.queue.run(peer, () => {
      this.healing.delete(peer);
      const ask = this.askSummary.delete(peer);
      return this.sender.sendHeads(peer, this.sharedDocuments(peer), true, ask);
    });
  }

  /**
   * Syncs `doc` now with every connected peer it is shared with: for a document the share policy
   * just opened to more peers (a replicant widened to more sites), whose changes those peers may
   * have pushed before, and been refused, when this site did not share it with them yet. A sync
   * session, not heads: a peer ahead of us pushes nothing on a digest (the side that lacks
   * pulls), and here it is this side that lacks without knowing it. With a peer in step the
   * session ends at its first answer.
   */
  offer(doc: DocumentId): void {
    if (!this.running || this.documents.heads(doc) === undefined) return;
    for (const peer of this.connectedSharing(sharingOf(this.options.sharedWith, doc, this.logger))) {
      // Afresh on both sides: a peer refused before may believe what it pushed arrived.
      this.sessions.startAfresh(peer, doc);
      this.sender.markDirty(peer, doc);
    }
  }

  /** Anti-entropy with every connected peer now. */
  antiEntropy(): void {
    for (const peer of this.transport.connectedPeers()) this.heal(peer);
  }

  /**
   * The periodic round: the heads of every shared document that has not changed lately, as a
   * digest, not a complete summary. A document changed within `quietDigests` digest delays is
   * still being pushed, relayed and digested, and comparing it mid-flight started sync sessions
   * on both sides for changes already under way (every site's round fell on writes with many
   * sites); the next round covers it. The peer pulls what it lacks, as after any digest; a peer
   * behind us pulls at our next round, or at our next change's digest. Whole connections heal
   * with complete summaries (`heal`).
   */
  private periodicAntiEntropy(): void {
    const changedSince = this.clock.now() - this.options.digestDelayMs * quietDigests;
    for (const [doc, at] of this.lastChangedAt) {
      if (at > changedSince) break;
      this.lastChangedAt.delete(doc);
    }
    const byPeer = new Map<PeerIdString, DocumentId[]>();
    for (const peer of this.transport.connectedPeers()) if (!this.healing.has(peer)) byPeer.set(peer, []);
    // One share-policy answer per document, not one per document and peer.
    for (const doc of this.documents.ids()) {
      if (this.lastChangedAt.has(doc)) continue;
      const shared = sharingOf(this.options.sharedWith, doc, this.logger);
      for (const [peer, docs] of byPeer) if (includesPeer(shared, peer)) docs.push(doc);
    }
    for (const [peer, docs] of byPeer) if (docs.length > 0) void this.queue.run(peer, () => this.sender.sendHeads(peer, docs));
  }

  /** The store takes writes again: every document whose received changes were lost is pulled now. */
  retryLostWrites(): void {
    if (this.running) this.lostWrites.retryNow();
  }

  /** A snapshot of the counters. */
  stats(): DocSyncStats {
    return { ...this.counters, ...this.guard.dropped() };
  }

  /**
   * Bytes received from peers and not yet applied and written: how much sync work waits. Work that
   * can wait (reconcile passes, which call the application) gives way while it is large.
   */
  receivedBacklogBytes(): number {
    return this.guard.backlogBytes();
  }

  /** Resolves when no sync work is queued (tests, clean shutdown). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Number of peers something is kept for (tests: it must fall back once peers leave). */
  retainedPeerCount(): number {
    const peers = new Set([...this.lastHealAt.keys(), ...this.sender.peers(), ...this.healing, ...this.summaries.keys()]);
    return Math.max(peers.size, this.sessions.peerCount(), this.guard.peerCount(), this.pusher.peerCount());
  }

  /**
   * A small local change is pushed as its write starts, not once it is durable: the receivers'
   * apply overlaps the origin's fsync. The store's per-open actor id makes that safe (documents.ts).
   * A change made `durableFirst` (a desired state, a join) is told of only once durable.
   */
  private readonly onLocalChangeApplied = (event: DocumentChangedEvent): void => {
    if (!this.running || this.mayHold(event)) return;
    this.announceHeld(event.docId);
    if (!this.pusher.pushable(event, this.options.pushMaxBytes)) return;
    const { shared, peers, audienceOnly } = this.recipients(event);
    if (peers.length === 0) return;
    this.pushLocal(event, shared, peers, audienceOnly);
    this.pushedEarly.add(event.changes);
  };

  /**
   * Local changes a failed write lost may have left, pushed as their write started: each peer
   * sharing the document is asked for it again (lost-writes.ts), as for received changes lost.
   * A document changed long ago is digested only by anti-entropy's round, 30 s on.
   */
  private readonly onLocalChangesLost = (docIds: readonly DocumentId[]): void => {
    if (!this.running) return;
    for (const doc of docIds) {
      const shared = sharingOf(this.options.sharedWith, doc, this.logger);
      for (const peer of this.connectedSharing(shared)) this.lostWrites.failed(peer, doc);
    }
  };

  private readonly onDocumentChanged = (event: DocumentChangedEvent): void => {
    if (!this.running) return;
    // Oldest first (periodicAntiEntropy prunes from the front).
    this.lastChangedAt.delete(event.docId);
    this.lastChangedAt.set(event.docId, this.clock.now());
    if (event.origin === 'local') this.awayWrites.changed(event.docId);
    if (this.pushedEarly.has(event.changes)) return;
    if (event.origin === 'local') {
      if (this.mayHold(event)) {
        this.hold.hold(event);
        return;
      }
      this.announceHeld(event.docId);
    }
    this.announce(event);
  };

  /** Whether `event` is a background change to hold now (see background-hold.ts). */
  private mayHold(event: DocumentChangedEvent): boolean {
    return event.background === true && this.background?.busy() === true;
  }

  /** Announces what `docId` holds, as a change of its own: a change of it that is not held follows. */
  private announceHeld(docId: DocumentId): void {
    const held = this.hold.take(docId);
    if (held !== undefined) this.announce(held);
  }

  /**
   * Sends everything held, to each peer in a few `docs` messages (many documents to a message)
   * rather than a push per document: in a heal of 100 writes a side, the application's time over
   * its floor was 420–580 ms with the held statuses sent in batches, 580–620 with a push each.
   */
  private releaseHeld(): void {
    const events = this.hold.takeAll();
    if (!this.running || events.length === 0) return;
    const byPeer = new Map<PeerIdString, DocumentChangedEvent[]>();
    for (const event of events) {
      for (const peer of this.recipients(event).peers) {
        const list = byPeer.get(peer);
        if (list === undefined) byPeer.set(peer, [event]);
        else list.push(event);
      }
    }
    for (const [peer, changed] of byPeer) void this.queue.run(peer, () => this.sender.sendChanges(peer, changed));
  }

  /** Tells the connected peers sharing its document of a change, pushed or by the sync protocol. */
  private announce(event: DocumentChangedEvent): void {
    if (event.origin === 'remote' && this.reachedAllWith(event)) return;
    const { shared, peers, audienceOnly } = this.recipients(event);
    if (peers.length === 0) return;
    if (this.pusher.pushable(event, this.options.pushMaxBytes)) {
      this.pushLocal(event, shared, peers, audienceOnly);
      return;
    }
    for (const peer of peers) {
      const known = this.sessions.knownHeads(peer, event.docId);
      if (known !== undefined && sameHeads(known, event.heads)) continue;
      // A change received from another site: its origin pushed it to the sites it is connected
      // to, so the peer most likely has it or gets it now. The next digest tells the peer our
      // heads, and it syncs only if it still lacks something then (a site the origin cannot
      // reach). A sync round per received change and per peer, at once, was most of the CPU of
      // a write with many sites: every replica's status update is such a change at every site.
      if (event.origin === 'remote') this.pusher.announce(peer, event.docId);
      else this.sender.markDirty(peer, event.docId);
    }
  }

  /** A push to its audience alone is passed on by it; one to all the others says so. */
  private pushLocal(event: DocumentChangedEvent, shared: SharedWith, peers: readonly PeerIdString[], audienceOnly: boolean): void {
    const marks: PushMarks = audienceOnly ? { relay: true } : { reachedAll: this.reachesAll(shared, peers) };
    this.pusher.push(event, shared, peers, marks);
    const head = event.heads[0];
    if (!audienceOnly || event.heads.length !== 1 || head === undefined) return;
    // Oldest first: past the bound, the oldest is forgotten (we then announce that document once).
    this.awaitingRelay.delete(event.docId);
    this.awaitingRelay.set(event.docId, { head, by: new Set(peers) });
    if (this.awaitingRelay.size > maxAwaitingRelay) this.awaitingRelay.delete(this.awaitingRelay.keys().next().value as DocumentId);
  }

  /** Whether `peers` (and `also`) are every site other than this one that shares a document. */
  private reachesAll(shared: SharedWith, peers: readonly PeerIdString[], also?: PeerIdString): boolean {
    if (shared === 'all') return false;
    const reached = new Set(peers);
    for (const member of shared) {
      if (member !== this.transport.peerId && member !== also && !reached.has(member)) return false;
    }
    return true;
  }

  /**
   * Whether a received change leaves us with what a peer pushed to every site sharing the
   * document (`reachedAll`), and at most our own last change, which that peer passes on to them
   * (it was its audience): the peer sends each of them those changes or its digest, so they learn
   * nothing from our announce. With anything else, or less, we announce as before.
   */
  private reachedAllWith(event: DocumentChangedEvent): boolean {
    const pushed = this.reachedAll.get(event.docId);
    if (pushed === undefined) return false;
    const own = this.awaitingRelay.get(event.docId);
    if (own !== undefined && pushed.heads.includes(own.head)) this.awaitingRelay.delete(event.docId);
    const ours = own !== undefined && own.by.has(pushed.from) ? own.head : undefined;
    return event.heads.every((head) => head === ours || pushed.heads.includes(head));
  }

  /**
   * The connected peers that hear of `event` now: its audience alone when one is connected
   * (`audienceOnly`: they pass it on to the others with their digests, doc-push.ts), else all.
   */
  private recipients(event: DocumentChangedEvent): { shared: SharedWith; peers: PeerIdString[]; audienceOnly: boolean } {
    const shared = sharingOf(this.options.sharedWith, event.docId, this.logger);
    const sharing = this.connectedSharing(shared);
    const audience = event.audience;
    const first = audience === undefined ? [] : sharing.filter((peer) => audience.has(peer));
    const audienceOnly = first.length > 0 && first.length < sharing.length;
    return { shared, peers: first.length > 0 ? first : sharing, audienceOnly };
  }

  private readonly onMessage = (event: TransportEvents['message']): void => {
    if (!this.running) return;
    if (event.channel === syncChannel) this.acceptSyncChannel(event.from, event.data);
    else if (event.channel === pushChannel) this.acceptPush(event.from, event.data, 'push');
  };

  private readonly onGossip = (event: TransportEvents['gossip']): void => {
    if (event.topic === broadcastTopic && this.running) this.acceptPush(event.from, event.data, 'broadcast');
  };

  private acceptSyncChannel(from: PeerIdString, data: Uint8Array): void {
    const decoded = decodeSyncChannelMessage(data);
    if (!decoded.ok) {
      this.guard.malformed(from, decoded.error, 'sync');
      return;
    }
    const message = decoded.value;
    if (message.type === 'heads') {
      // Queued: it may reset a sync state that a queued flush is about to use.
      this.enqueue(from, data.length, async () => {
        await this.receiveHeads(from, message);
        return undefined;
      });
      return;
    }
    if (message.type === 'sync') {
      this.acceptSync(from, message, data.length);
    } else if (message.type === 'syncs') {
      // Each taken in on its own, as if it had come alone: a batch only saves frames.
      for (const item of message.items) this.acceptSync(from, { type: 'sync', v: 1, ...item }, item.data.length + item.doc.length);
    } else if (message.type === 'want') {
      this.acceptWant(from, message.docs, data.length);
    } else {
      for (const item of message.items) {
        const size = item.doc.length + item.changes.reduce((sum, change) => sum + change.length, 0);
        this.acceptDocument(from, { type: 'push', v: 1, ...item }, size);
      }
    }
  }

  /** A peer holds none of `docs`: they go whole, those it may see (its queue keeps them in order with our sync messages). */
  private acceptWant(from: PeerIdString, docs: readonly DocumentId[], size: number): void {
    const shared = docs.filter((doc) => {
      const ok = this.allowed(doc, from);
      if (!ok) this.refuse(from, doc, 'sync');
      return ok;
    });
    if (shared.length === 0) return;
    this.enqueue(from, size, async () => {
      await this.sender.sendDocuments(from, shared);
      return undefined;
    });
  }

  /** A whole document we asked for: taken in as a direct push. */
  private acceptDocument(from: PeerIdString, message: PushMessage, size: number): void {
    if (!this.allowed(message.doc, from)) {
      this.refuse(from, message.doc, 'sync');
      return;
    }
    this.enqueue(from, size, (epoch) => this.receivePush(from, message, epoch, 'direct'));
  }

  private acceptSync(from: PeerIdString, message: SyncMessage, size: number): void {
    if (!this.allowed(message.doc, from)) {
      this.refuse(from, message.doc, 'sync');
      return;
    }
    this.enqueue(from, size, (epoch) => this.receiveSync(from, message, epoch));
  }

  private acceptPush(from: PeerIdString, data: Uint8Array, via: 'push' | 'broadcast'): void {
    const decoded = decodePushMessage(data);
    if (!decoded.ok) {
      this.guard.malformed(from, decoded.error, via);
      return;
    }
    const message = decoded.value;
    const shared = sharingOf(this.options.sharedWith, message.doc, this.logger);
    // Only documents every site may see travel on the broadcast topic. A restricted one there was
    // published by a buggy or hostile site and reached whoever subscribed: refuse it even from a
    // site of its scope, so such a leak never works.
    const ok = via === 'broadcast' ? shared === 'all' : includesPeer(shared, from);
    if (!ok) {
      this.refuse(from, message.doc, via);
      return;
    }
    this.enqueue(from, data.length, (epoch) => this.receivePush(from, message, epoch, via === 'push' ? 'direct' : 'gossip'));
  }

  /**
   * Queues received work of `size` bytes for `from`, unless its backlog is full. A task applies its
   * input in memory and may answer what to do once that input is written: that follow-up is queued
   * in turn, behind the input received meanwhile, which is thus applied first and joins the same
   * storage batch (one fsync for many messages, across documents). The bytes stay counted in the
   * backlog until written, so the backlog also bounds what is applied but not yet durable.
   */
  private enqueue(from: PeerIdString, size: number, task: (epoch: number) => Promise<AfterWrite | undefined>): void {
    if (!this.guard.admit(from, size)) return;
    const epoch = this.sessions.epoch(from);
    const release = (): void => {
      // Messages were dropped: once caught up, anti-entropy makes the peer send them again.
      if (this.guard.release(from, size) && this.isConnected(from)) this.heal(from);
    };
    void this.queue.run(from, async () => {
      let after: AfterWrite | undefined;
      try {
        after = await task(epoch);
      } finally {
        if (after === undefined) release();
      }
      if (after === undefined) return;
      const { written, onWritten, doc, heads } = after;
      void this.queue.run(from, async () => {
        try {
          const ok = await written.then(
            () => true,
            (error: unknown) => {
              this.lostWrite(from, doc, epoch, error, heads);
              return false;
            },
          );
          if (ok) this.lostWrites.written(from, doc);
          // The queue held the epoch meanwhile: a different one means the peer went down.
          if (ok && this.running && this.sessions.epoch(from) === epoch) await onWritten();
        } finally {
          release();
        }
      });
    });
  }

  /**
   * Input from `from` was applied but its write failed (the store dropped the document, storage
   * never had it): our sync state with the peer believes otherwise, so it starts over, and the
   * document is pulled from the peer again (lost-writes.ts).
   */
  private lostWrite(from: PeerIdString, doc: DocumentId, epoch: number, error: unknown, heads?: readonly string[]): void {
    if (this.sessions.epoch(from) === epoch) this.sessions.forgetDocument(from, doc);
    // Once per document and peer until a write of it goes through: a full disk refuses them all.
    const level = this.lostWrites.failed(from, doc, heads) ? 'warn' : 'debug';
    this.logger[level]({ peer: from, doc, err: errorMessage(error) }, 'received changes not written; the document syncs again');
  }

  private readonly onPeerConnect = (event: { readonly peer: PeerIdString }): void => {
    this.sender.forgetSentWhole(event.peer);
    this.heal(event.peer);
    this.sendAwayWrites(event.peer);
  };

  private readonly onPeerUp = (event: { readonly peer: PeerIdString }): void => {
    // A connect is followed by an up one round trip later: one summary is enough.
    const last = this.lastHealAt.get(event.peer);
    if (last === undefined || this.clock.now() - last > minHealGapMs) this.heal(event.peer);
    this.sendAwayWrites(event.peer);
  };

  /** What this site wrote while `peer` was away goes to it whole now, after the summary (away-writes.ts). */
  private sendAwayWrites(peer: PeerIdString): void {
    if (!this.running) return;
    const docs = this.awayWrites.back(peer).filter((doc) => this.allowed(doc, peer));
    if (docs.length === 0) return;
    void this.queue.run(peer, () => this.sender.sendDocuments(peer, docs, true));
  }

  private readonly onPeerDisconnect = (event: { readonly peer: PeerIdString }): void => {
    this.awayWrites.left(event.peer);
    this.lostWrites.forgetPeer(event.peer);
    this.sessions.reset(event.peer);
    this.summaries.delete(event.peer);
    this.sender.forgetPeer(event.peer);
    this.pusher.forgetPeer(event.peer);
    this.lastHealAt.delete(event.peer);
    this.askSummary.delete(event.peer);
    for (const [doc, own] of this.awaitingRelay) if (own.by.has(event.peer)) this.awaitingRelay.delete(doc);
    if (!this.queue.busy(event.peer)) this.onPeerIdle(event.peer);
  };

  /** The peer's queue is empty: no task holds its epoch, and a gone peer's state can go. */
  private readonly onPeerIdle = (peer: PeerIdString): void => {
    this.sessions.releaseEpoch(peer);
    if (this.isConnected(peer)) return;
    // A message that arrived after the disconnect may have made a session again.
    this.sessions.forgetPeer(peer);
    this.lastHealAt.delete(peer);
  };

  /**
   * Applies a sync message in memory and keeps the new sync state (the next message on the
   * document builds on it); the answer waits until the changes are written.
   */
  private async receiveSync(from: PeerIdString, message: SyncMessage, epoch: number): Promise<AfterWrite | undefined> {
    if (!this.running || this.sessions.epoch(from) !== epoch) return undefined;
    // The peer starts a new session: ours may believe it holds what it lost (SyncMessage.fresh).
    if (message.fresh === true) this.sessions.forgetSyncState(from, message.doc);
    let applied;
    try {
      applied = await this.documents.acceptSyncMessage(message.doc, this.sessions.state(from, message.doc), message.data);
    } catch (error) {
      this.sessions.forgetDocument(from, message.doc);
      this.guard.malformed(from, errorMessage(error), 'sync', message.doc);
      return undefined;
    }
    if (this.sessions.epoch(from) !== epoch) return undefined;
    this.counters.syncMessagesReceived += 1;
    this.sessions.setState(from, message.doc, applied.result);
    // The protocol answers every message (with nothing, once both sides know they agree).
    return { doc: message.doc, written: applied.written, onWritten: () => this.sender.markDirty(from, message.doc) };
  }

  private async receivePush(from: PeerIdString, message: PushMessage, epoch: number, via: 'direct' | 'gossip'): Promise<AfterWrite | undefined> {
    if (!this.running || this.sessions.epoch(from) !== epoch) return undefined;
    // Gossip may relay a push from a site we are not connected to: nothing to sync with it then.
    // (A direct message came over a connection: no need to ask the transport, which costs a list
    // of every peer, per document of a heal.)
    const direct = via === 'direct' || this.isConnected(from);
    // Known before applying: the store announces the change (and we would sync it back) first.
    if (direct) this.sessions.setKnownHeads(from, message.doc, message.heads);
    const reachedAll = message.reachedAll === true && direct;
    if (reachedAll) this.reachedAll.set(message.doc, { from, heads: message.heads });
    const forgetReachedAll = (): void => {
      if (this.reachedAll.get(message.doc)?.heads === message.heads) this.reachedAll.delete(message.doc);
    };
    let applied;
    try {
      // Creates the document when absent: a new replicant reaches its sites in one one-way delay.
      applied = await this.documents.acceptChanges(message.doc, message.changes);
    } catch (error) {
      forgetReachedAll();
      this.guard.malformed(from, errorMessage(error), 'push', message.doc);
      return undefined;
    }
    // The store announces the write before `written` settles: the heads are read by then.
    if (reachedAll) applied.written.then(forgetReachedAll, forgetReachedAll);
    this.counters.pushesReceived += 1;
    const onWritten = async (): Promise<void> => {
      // Sent to us alone, for the others too: they get it with our next digest (doc-push.ts).
      if (message.relay === true && direct && this.running) this.relay(from, message);
      // A later push of the document from this peer, applied in the same batch, replaced these
      // heads: its own turn compares ours with them (ours now include its changes too).
      if (direct && this.sessions.knownHeads(from, message.doc) === message.heads) await this.afterPush(from, message, epoch);
    };
    return { doc: message.doc, heads: message.heads, written: applied.written, onWritten };
  }

  /**
   * A push from `peer` is written. Ours heads differ from the ones it announced when we lack some
   * of its changes (changes whose dependencies we lack wait inside Automerge: only the sync
   * protocol brings the rest, so sync now), or merely because other sites' changes reached us
   * meanwhile (concurrent writes, such as every replica's status after a write). The latter
   * needs no sync round: the peer gets our changes by our pushes, other sites' by theirs (or by
   * our relay, onDocumentChanged), and the digest that follows every push compares again once
   * the burst is over. A sync round per push and per peer was most of the CPU of a write.
   */
  private async afterPush(peer: PeerIdString, message: PushMessage, epoch: number): Promise<void> {
    const local = this.documents.heads(message.doc);
    if (local !== undefined && sameHeads(local, message.heads)) return;
    let lacking: boolean;
    try {
      lacking = await this.documents.lacks(message.doc, message.heads);
    } catch (error) {
      lacking = true;
      this.logger.debug({ peer, doc: message.doc, err: errorMessage(error) }, 'could not compare pushed heads');
    }
    if (lacking && this.running && this.sessions.epoch(peer) === epoch && this.sessions.knownHeads(peer, message.doc) === message.heads) {
      this.noteHeads(peer, { doc: message.doc, heads: message.heads }, false);
    }
  }

  /**
   * A summary, or a digest, from `from`. The messages of a complete summary (`end` present) list
   * every document the peer holds and shares with us: once the last is in, those we hold that it
   * left out, it lacks, and they go to it whole now (a round trip sooner than if it asked).
   */
  private async receiveHeads(from: PeerIdString, message: HeadsMessage): Promise<void> {
    const complete = message.end !== undefined;
    const named = complete ? (this.summaries.get(from) ?? new Set<DocumentId>()) : undefined;
    for (const entry of message.docs) {
      named?.add(entry.doc);
      if (!this.allowed(entry.doc, from)) this.refuse(from, entry.doc, 'heads');
      else if (await this.behindUs(entry)) this.peerBehind(from, entry, complete);
      else this.noteHeads(from, entry, complete);
    }
    this.sender.heldBy(from, message.docs.map((entry) => entry.doc));
    if (named === undefined) return;
    if (message.end === false) {
      this.summaries.set(from, named);
      return;
    }
    this.summaries.delete(from);
    // The peer started its sync after we connected: the summary we sent then may have been lost,
    // and what we sent it whole before, to the process that died.
    if (message.ask === true) {
      this.sender.forgetSentWhole(from);
      this.heal(from);
    }
    const lacking = this.sharedDocuments(from).filter((doc) => !named.has(doc));
    if (lacking.length > 0) await this.sender.sendDocuments(from, lacking, true);
  }

  /**
   * Heads that show the peer behind us start no sync from here: the side that lacks pulls, once
   * it sees heads it lacks. A digest needs nothing more: whatever we hold beyond its heads reaches
   * the peer, or is announced to it in a digest, by us or by the site that pushed it to every
   * member (`reachedAll`). A summary may come from a peer that dropped our messages (a restart of
   * its sync, a full backlog): our next digest names the document to it. Sessions started from
   * both sides of one difference were most of a write's sync messages at 20 sites: members'
   * digests crossed the writer's relay, and anti-entropy summaries fell on writes under way,
   * which the relay and the digests settle within a second anyway.
   */
  private peerBehind(peer: PeerIdString, entry: HeadsEntry, summary: boolean): void {
    this.sessions.setKnownHeads(peer, entry.doc, entry.heads);
    if (summary) this.pusher.announce(peer, entry.doc);
  }

  /** Whether we hold every change the peer's `entry` names, and more. */
  private async behindUs(entry: HeadsEntry): Promise<boolean> {
    const local = this.documents.heads(entry.doc);
    if (local === undefined || entry.heads.length === 0 || sameHeads(local, entry.heads)) return false;
    // Concurrent changes, such as replica statuses: the peer's heads are among ours.
    if (entry.heads.every((head) => local.includes(head))) return true;
    try {
      return !(await this.documents.lacks(entry.doc, entry.heads));
    } catch (error) {
      this.logger.debug({ doc: entry.doc, err: errorMessage(error) }, 'could not compare received heads');
      return false;
    }
  }

  /** Records what `peer` has of a document, and syncs it when that differs from ours. */
  private noteHeads(peer: PeerIdString, entry: HeadsEntry, peerSends: boolean): void {
    this.sessions.setKnownHeads(peer, entry.doc, entry.heads);
    const local = this.documents.heads(entry.doc);
    if (local === undefined && entry.heads.length === 0) return;
    if (local === undefined) {
      // We hold none of it: the peer sends it whole, with no sync protocol rounds; a peer that
      // ends its summaries does so unasked once it has ours (our heal sent it at the connection).
      if (!peerSends) this.sender.markWanted(peer, entry.doc);
      return;
    }
    if (sameHeads(local, entry.heads)) return;
    // Our sync state may believe we agree (it knows only what came by sync): start it afresh,
    // or generateSyncMessage would answer null and the difference would stay.
    this.sessions.forgetSyncState(peer, entry.doc);
    this.sender.markDirty(peer, entry.doc);
  }

  /** Passes `message` on to the connected peers, other than `from`, that share its document. */
  private relay(from: PeerIdString, message: PushMessage): void {
    const shared = sharingOf(this.options.sharedWith, message.doc, this.logger);
    const targets = this.connectedSharing(shared).filter((peer) => peer !== from);
    this.pusher.relay(targets, message.doc, message.changes, this.reachesAll(shared, targets, from));
  }

  /** The connected peers among `shared`. */
  private connectedSharing(shared: SharedWith): PeerIdString[] {
    return this.transport.connectedPeers().filter((peer) => includesPeer(shared, peer));
  }

  private sharedDocuments(peer: PeerIdString): DocumentId[] {
    return this.documents.ids().filter((doc) => this.allowed(doc, peer));
  }

  /** Counts and logs a message from `peer` about `doc`, which it is not part of, and tells `onRefused`. */
  private refuse(peer: PeerIdString, doc: DocumentId, kind: string): void {
    let lookedInto = false;
    try {
      lookedInto = this.onRefused?.(peer, doc) === true;
    } catch (error) {
      this.logger.error({ peer, doc, err: errorMessage(error) }, 'a refusal listener failed');
    }
    this.guard.refuse(peer, doc, kind, lookedInto);
  }

  private allowed(doc: DocumentId, peer: PeerIdString): boolean {
    return isSharedWith(this.options.sharedWith, doc, peer, this.logger);
  }

  private isConnected(peer: PeerIdString): boolean {
    return this.transport.connectedPeers().includes(peer);
  }
}
