/**
 * What document sync remembers about each peer, in memory only: the Automerge sync state per
 * document, the heads the peer last told us it has, and an epoch that changes when the peer goes
 * down, so work queued before a disconnect does not resurrect a forgotten session.
 *
 * Nothing here may outlive a peer for good (peer ids cost nothing to make): a session is dropped
 * when the peer goes down or its last document is forgotten, and an epoch once no queued task
 * can hold it (`releaseEpoch`).
 */
import { initSyncState } from '@automerge/automerge';
import type { DocumentId, PeerIdString } from '../core/ids.js';
import type { SyncState } from '../crdt/documents.js';

interface PeerSession {
  readonly states: Map<DocumentId, SyncState>;
  readonly knownHeads: Map<DocumentId, readonly string[]>;
  /** Documents whose next message must start a new session on both sides (`startAfresh`). */
  readonly afresh: Set<DocumentId>;
}

export class SyncSessions {
  private readonly sessions = new Map<PeerIdString, PeerSession>();
  private readonly epochs = new Map<PeerIdString, number>();
  /** Epochs come from one counter, so a released epoch (read as 0) is never handed out again. */
  private generation = 0;

  /** The sync state of (peer, doc); a fresh one when none is kept. */
  state(peer: PeerIdString, doc: DocumentId): SyncState {
    return this.session(peer).states.get(doc) ?? initSyncState();
  }

  /** Whether a sync state of (peer, doc) is kept: a message generated without one starts a new session. */
  hasState(peer: PeerIdString, doc: DocumentId): boolean {
    return this.sessions.get(peer)?.states.has(doc) === true;
  }

  setState(peer: PeerIdString, doc: DocumentId, state: SyncState): void {
    this.session(peer).states.set(doc, state);
  }

  /** The heads `peer` last announced for `doc` (a push or a summary), if any. */
  knownHeads(peer: PeerIdString, doc: DocumentId): readonly string[] | undefined {
    return this.sessions.get(peer)?.knownHeads.get(doc);
  }

  setKnownHeads(peer: PeerIdString, doc: DocumentId, heads: readonly string[]): void {
    this.session(peer).knownHeads.set(doc, heads);
  }

  /** Drops the sync state of (peer, doc), keeping its known heads: the next message starts afresh. */
  forgetSyncState(peer: PeerIdString, doc: DocumentId): void {
    this.sessions.get(peer)?.states.delete(doc);
  }

  /**
   * As `forgetSyncState`, and the next message of (peer, doc) is marked fresh, so that the peer
   * starts over too, even if a message of the peer's old session comes in before ours leaves and
   * makes a state again. Without the mark, that state made our message an ordinary one, and the
   * peer, believing it had sent what our store had lost, never sent it again: the two sides
   * exchanged empty messages every tick (swarm seed 4900112, a full disk while a replicant was
   * widened).
   */
  startAfresh(peer: PeerIdString, doc: DocumentId): void {
    const session = this.session(peer);
    session.states.delete(doc);
    session.afresh.add(doc);
  }

  /** Whether (peer, doc)'s next message must start a new session (`startAfresh`); clears the mark, and the state made since. */
  takeAfresh(peer: PeerIdString, doc: DocumentId): boolean {
    const session = this.sessions.get(peer);
    if (session?.afresh.delete(doc) !== true) return false;
    session.states.delete(doc);
    return true;
  }

  /** Forgets what we knew of one document at `peer` (its sync broke: start over). */
  forgetDocument(peer: PeerIdString, doc: DocumentId): void {
    const session = this.sessions.get(peer);
    if (session === undefined) return;
    session.states.delete(doc);
    session.knownHeads.delete(doc);
    session.afresh.delete(doc);
    if (session.states.size === 0 && session.knownHeads.size === 0 && session.afresh.size === 0) this.sessions.delete(peer);
  }

  /** Changes each time `peer`'s session is reset. */
  epoch(peer: PeerIdString): number {
    return this.epochs.get(peer) ?? 0;
  }

  /** Forgets everything about `peer` (it went down) and starts a new epoch. */
  reset(peer: PeerIdString): void {
    this.sessions.delete(peer);
    this.generation += 1;
    this.epochs.set(peer, this.generation);
  }

  /**
   * Drops the epoch of `peer` (it reads 0 again). Call it only when no queued task holds an epoch
   * of `peer`; a later `reset` still moves to an epoch no task has seen.
   */
  releaseEpoch(peer: PeerIdString): void {
    this.epochs.delete(peer);
  }

  /** Drops the session of `peer` without a new epoch (no queued task holds one; it is gone). */
  forgetPeer(peer: PeerIdString): void {
    this.sessions.delete(peer);
  }

  /** Forgets every peer (document sync stopped: while stopped it misses messages). */
  clear(): void {
    this.sessions.clear();
    this.epochs.clear();
  }

  /** Number of peers with a session or an epoch, for tests: the maps must shrink. */
  peerCount(): number {
    return new Set([...this.sessions.keys(), ...this.epochs.keys()]).size;
  }

  /** Number of (peer, document) sync states kept, for metrics and tests. */
  size(): number {
    let count = 0;
    for (const session of this.sessions.values()) count += session.states.size;
    return count;
  }

  private session(peer: PeerIdString): PeerSession {
    let session = this.sessions.get(peer);
    if (session === undefined) {
      session = { states: new Map(), knownHeads: new Map(), afresh: new Set() };
      this.sessions.set(peer, session);
    }
    return session;
  }
}
