/**
 * What document sync (p2p/) needs from the document store: heads to compare, the Automerge sync
 * protocol on one document, and received changes applied. Received input is applied in memory
 * first and written in the next storage batch (`AppliedInput.written`); nothing speaks of it before
 * it is written (events, stored heads, sync messages), so nothing is acknowledged that a crash could
 * lose. Local changes alone may leave before they are durable (`onLocalChangeApplied`): the store
 * makes them under an actor id drawn at each open, so one lost here and held by a peer comes back
 * from that peer, and never meets another change numbered the same.
 * Sync states live with the caller (one per peer and document); the store keeps documents only.
 */
import type { SyncState as AutomergeSyncState } from '@automerge/automerge';
import type { DocumentId } from '../core/ids.js';

/** Automerge's sync state for one (peer, document) pair, opaque to the caller. */
export type SyncState = AutomergeSyncState;

export interface DocumentChangedEvent {
  readonly docId: DocumentId;
  /** The document's heads after the change. */
  readonly heads: readonly string[];
  /** The new changes, encoded; small ones are pushed to peers as they are. */
  readonly changes: readonly Uint8Array[];
  /** `local` for a change made on this site, `remote` for one received from a peer. */
  readonly origin: 'local' | 'remote';
  /**
   * Local changes only, when each was made with an audience (ChangeOptions.audience): the peers
   * that must hear of them now. The others may learn them later, from those peers.
   */
  readonly audience?: ReadonlySet<string>;
  /**
   * Local changes only, when each was made in the background (ChangeOptions.background): document
   * sync may hold them back while the site has more urgent work.
   */
  readonly background?: boolean;
}

/** Remote input applied in memory. */
export interface AppliedInput<T> {
  readonly result: T;
  /**
   * Settles once what the input changed is durable (at once when it changed nothing); rejects when
   * that write failed (the document is then dropped from memory: storage never had the input).
   */
  readonly written: Promise<void>;
}

export type DocumentListener = (event: DocumentChangedEvent) => void;

export interface SyncableDocuments {
  /** The ids of every stored document. */
  ids(): DocumentId[];
  has(docId: DocumentId): boolean;
  /** The heads of a stored document (without loading it), or undefined when absent. */
  heads(docId: DocumentId): readonly string[] | undefined;
  /**
   * The next sync message for `docId` given the peer's sync state, or null when the peer is
   * known to be in sync. Loads the document when needed; an absent document syncs as empty.
   * It speaks from written state only: a document holding received changes not yet written waits
   * for that write (one storage batch), so a peer is never told we have a change that a crash
   * could still lose.
   */
  generateSyncMessage(docId: DocumentId, state: SyncState): Promise<[SyncState, Uint8Array | null]>;
  /**
   * Applies a sync message from a peer; creates the document when absent. Resolves once any
   * changes it carried are persisted; emits `doc:changed` with origin `remote` when it changed.
   */
  receiveSyncMessage(docId: DocumentId, state: SyncState, message: Uint8Array): Promise<SyncState>;
  /**
   * Like receiveSyncMessage, but resolves once the message is applied in memory, with the new
   * sync state and `written`: many messages can be taken in before one storage batch is awaited.
   * The caller must not act on the changes (answer the peer, announce them) before `written`.
   */
  acceptSyncMessage(docId: DocumentId, state: SyncState, message: Uint8Array): Promise<AppliedInput<SyncState>>;
  /** Applies encoded changes (from a gossip push); persisted before it resolves. */
  applyChanges(docId: DocumentId, changes: readonly Uint8Array[]): Promise<void>;
  /** Like applyChanges, but resolves once applied in memory, with `written` (see acceptSyncMessage). */
  acceptChanges(docId: DocumentId, changes: readonly Uint8Array[]): Promise<AppliedInput<void>>;
  /**
   * Every change of `docId` as stored, and the heads they lead to, for a peer that holds none of
   * it (sent whole, without the sync protocol's rounds). Waits for received changes not yet
   * written; undefined when the document is absent, or holds changes made here that are not
   * written yet (nothing of ours leaves before it is durable: sync that one instead).
   */
  storedChanges(docId: DocumentId): Promise<{ readonly heads: readonly string[]; readonly changes: Uint8Array[] } | undefined>;
  /**
   * Whether the document lacks any of `heads` or holds received changes that wait for
   * dependencies it lacks (in memory, written or not): only the sync protocol brings those.
   */
  lacks(docId: DocumentId, heads: readonly string[]): Promise<boolean>;
  /** Changes once they are durable; the returned function unsubscribes. */
  onChange(listener: DocumentListener): () => void;
  /**
   * Local changes once applied in memory, as their storage write starts: one fsync before
   * `onChange` gives the same event (with the same `changes` array). For pushes, so that a
   * replicated write does not wait for the origin's disk before it travels.
   */
  onLocalChangeApplied(listener: DocumentListener): () => void;
  /**
   * Documents whose local changes a failed write lost, though they may have left already (pushed
   * as their write started): the peers that hold them can give them back.
   */
  onLocalChangesLost(listener: (docIds: readonly DocumentId[]) => void): () => void;
}
