/**
 * Pushes of small local changes (DESIGN.md §6): one one-way delay replicates them. How a push
 * travels follows from who shares its document (scope safety):
 *
 * - shared with a set of peers: one direct message on the `push` channel to each of them that is
 *   connected. Gossipsub does not check who subscribes to a topic, so a restricted document must
 *   never be published: a hostile site subscribed to the topic would receive it.
 * - shared with `'all'` (the site directory): one gossip message on the broadcast topic, which
 *   every site subscribes to. Anyone may see it anyway, and gossip also reaches sites we are not
 *   directly connected to.
 *
 * A change meant for some peers first (its audience, such as a replica's status for the site whose
 * write it answers) goes to them alone, marked `relay`: each passes it on, with its next digest,
 * to the other connected peers that share the document, as one push per document carrying every
 * change collected for it, in place of that document's heads in the digest. The others get those
 * changes in one message instead of a sync session each (two round trips, bloom filters), which was
 * most of the CPU of a write with many sites. A relayed push is not relayed again.
 *
 * A push that goes to every other site sharing its document, first-hand or relayed, is marked
 * `reachedAll`: its receivers need not announce it to one another (DocSync.onDocumentChanged).
 *
 * A push is fire-and-forget and may be lost, so the heads of pushed documents follow in a digest
 * `digestDelayMs` later. Digests also carry the documents changed by other sites' changes that a
 * peer may lack (announce): the peer syncs them if its heads differ once the burst is over. Direct pushes nobody awaits queue inside the transport until the peer's
 * stream takes them: past `maxPushesInFlight` to one peer (it stopped reading), the change goes
 * by the sync protocol instead, which waits for the stream rather than queueing in front of it.
 */
import type { Clock, Timer } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { DocumentId, PeerIdString } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { DocumentChangedEvent } from '../crdt/documents.js';
import { InFlightSends } from './in-flight.js';
import { PeerDocumentSet } from './peer-doc-set.js';
import type { SharedWith } from './share-policy.js';
import { broadcastTopic, encodePushMessage, maxPushChanges, pushChannel, type PushMessage } from './sync-messages.js';
import type { Transport } from './transport.js';

export interface DocPusherOptions {
  /** Delay of the heads digest that follows pushes. */
  readonly digestDelayMs: number;
  /** Most direct pushes to one peer not yet taken by its stream. */
  readonly maxPushesInFlight: number;
  /** Most bytes of changes collected for one peer to pass on; past it, the digest's heads go instead. */
  readonly maxRelayBytesPerPeer: number;
}

export interface DocPusherComponents {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Counts one push sent (a direct message or a gossip message). */
  readonly onPushSent: () => void;
  /** Has the sync protocol carry `doc` to `peer` (a push that could not go). */
  readonly markDirty: (peer: PeerIdString, doc: DocumentId) => void;
  /** Sends `peer` the heads of `docs` (pushed lately), in case a push was lost. */
  readonly sendDigest: (peer: PeerIdString, docs: DocumentId[]) => void;
  /** Our stored heads of `doc` (a relayed push carries them, as a digest would). */
  readonly heads: (doc: DocumentId) => readonly string[] | undefined;
}

/** How a push is marked (sync-messages.ts PushMessage). */
export interface PushMarks {
  /** Sent to its audience alone, which passes it on. */
  readonly relay?: boolean;
  /** Sent to every other site sharing the document. */
  readonly reachedAll?: boolean;
}

function totalBytes(chunks: readonly Uint8Array[]): number {
  return chunks.reduce((sum, chunk) => sum + chunk.length, 0);
}

/** Sends pushes, and the digests that follow them. */
export class DocPusher {
  private readonly options: DocPusherOptions;
  private readonly components: DocPusherComponents;
  private readonly inFlight: InFlightSends<PeerIdString>;
  /** (peer, document) pairs pushed since the last digest. */
  private readonly pushed = new PeerDocumentSet();
  /** Changes to pass on with the next digest, by peer and document, and their bytes by peer. */
  private relayed = new Map<PeerIdString, Map<DocumentId, Uint8Array[]>>();
  private relayedBytes = new Map<PeerIdString, number>();
  /** Documents of which something collected could not go to every site sharing them. */
  private relayedToSome = new Set<DocumentId>();
  private digestTimer: Timer | undefined;

  constructor(options: DocPusherOptions, components: DocPusherComponents) {
    this.options = options;
    this.components = components;
    this.inFlight = new InFlightSends(options.maxPushesInFlight);
  }

  /** True for a local change small enough to push. */
  pushable(event: DocumentChangedEvent, maxBytes: number): boolean {
    return event.origin === 'local' && event.changes.length > 0 && totalBytes(event.changes) <= maxBytes;
  }

  /**
   * Pushes `event` to `peers`: the connected peers that share its document, as `shared` says.
   * The caller has already filtered `peers` by `shared`.
   */
  push(event: DocumentChangedEvent, shared: SharedWith, peers: readonly PeerIdString[], marks: PushMarks = {}): void {
    const { transport, logger } = this.components;
    const message: PushMessage = {
      type: 'push', v: 1, doc: event.docId, heads: event.heads, changes: event.changes,
      ...(marks.relay === true && shared !== 'all' ? { relay: true as const } : {}),
      ...(marks.reachedAll === true && shared !== 'all' ? { reachedAll: true as const } : {}),
    };
    const bytes = encodePushMessage(message);
    if (shared === 'all') {
      this.components.onPushSent();
      transport.publish(broadcastTopic, bytes).catch((error: unknown) => {
        logger.debug({ doc: event.docId, err: errorMessage(error) }, 'push not published');
      });
    } else {
      for (const peer of peers) this.sendDirect(peer, event.docId, bytes);
    }
    for (const peer of peers) this.announce(peer, event.docId);
  }

  /**
   * Has the next digest to `peer` carry `doc`: a change received from another site that `peer`
   * may lack (see DocSync.onDocumentChanged).
   */
  announce(peer: PeerIdString, doc: DocumentId): void {
    this.pushed.add(peer, doc);
    this.digestTimer ??= this.components.clock.setTimeout(() => this.sendDigests(), this.options.digestDelayMs);
  }

  /**
   * Has the next digest to each of `peers` carry `changes` of `doc` (received marked `relay`),
   * as a push. Past `maxRelayBytesPerPeer` for a peer, it gets the document's heads instead.
   * `reachedAll`: `peers` are every site sharing the document but us and the change's sender.
   */
  relay(peers: readonly PeerIdString[], doc: DocumentId, changes: readonly Uint8Array[], reachedAll: boolean): void {
    if (!reachedAll) this.relayedToSome.add(doc);
    const bytes = totalBytes(changes);
    for (const peer of peers) {
      this.announce(peer, doc);
      const held = this.relayedBytes.get(peer) ?? 0;
      if (held + bytes > this.options.maxRelayBytesPerPeer) continue;
      this.relayedBytes.set(peer, held + bytes);
      const byDoc = this.relayed.get(peer) ?? new Map<DocumentId, Uint8Array[]>();
      this.relayed.set(peer, byDoc);
      const collected = byDoc.get(doc) ?? [];
      byDoc.set(doc, collected);
      collected.push(...changes);
    }
  }

  /** Forgets the pushes to `peer` awaiting a digest (it disconnected: a heal follows its return). */
  forgetPeer(peer: PeerIdString): void {
    this.pushed.deletePeer(peer);
    this.relayed.delete(peer);
    this.relayedBytes.delete(peer);
  }

  /** Cancels the digest. Pushes already handed to the transport finish on their own. */
  stop(): void {
    this.digestTimer?.cancel();
    this.digestTimer = undefined;
    this.pushed.clear();
    this.relayed.clear();
    this.relayedBytes.clear();
    this.relayedToSome.clear();
  }

  /** Number of peers something is kept for (tests). */
  peerCount(): number {
    return Math.max(this.inFlight.size(), this.pushed.peers().length);
  }

  private sendDirect(peer: PeerIdString, doc: DocumentId, bytes: Uint8Array): void {
    const { transport, logger } = this.components;
    if (!this.inFlight.tryStart(peer)) {
      logger.debug({ peer, doc }, 'push deferred to the sync protocol: the peer is not reading');
      this.components.markDirty(peer, doc);
      return;
    }
    this.components.onPushSent();
    transport.send(peer, pushChannel, bytes).then(
      () => this.inFlight.finish(peer),
      (error: unknown) => {
        this.inFlight.finish(peer);
        logger.debug({ peer, doc, err: errorMessage(error) }, 'push not sent');
      },
    );
  }

  /**
   * After pushes, tells each peer the heads of what was pushed, in case a push was lost, and
   * passes on what was collected for it: one push per document, in place of its heads (the push
   * carries them; a receiver that still lacks something after it syncs, as after any push).
   */
  private sendDigests(): void {
    this.digestTimer = undefined;
    const relayed = this.relayed;
    const toSome = this.relayedToSome;
    this.relayed = new Map();
    this.relayedBytes = new Map();
    this.relayedToSome = new Set();
    for (const [peer, docs] of this.pushed.drain()) {
      const byDoc = relayed.get(peer);
      const headsOnly: DocumentId[] = [];
      for (const doc of docs) {
        const changes = byDoc?.get(doc);
        const heads = changes === undefined ? undefined : this.components.heads(doc);
        if (changes === undefined || heads === undefined) {
          headsOnly.push(doc);
          continue;
        }
        for (let start = 0; start < changes.length; start += maxPushChanges) {
          const message: PushMessage = {
            type: 'push', v: 1, doc, heads, changes: changes.slice(start, start + maxPushChanges), ...(toSome.has(doc) ? {} : { reachedAll: true as const }),
          };
          this.sendDirect(peer, doc, encodePushMessage(message));
        }
      }
      if (headsOnly.length > 0) this.components.sendDigest(peer, headsOnly);
    }
  }
}
