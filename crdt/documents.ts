/**
 * What document sync (p2p/) needs from the document store: heads to compare, the Automerge sync
 * protocol on one document, and received changes applied. Every method that changes a document
 * persists the change before it resolves, so nothing is acknowledged that a crash could lose.
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
   */
  generateSyncMessage(docId: DocumentId, state: SyncState): Promise<[SyncState, Uint8Array | null]>;
  /**
   * Applies a sync message from a peer; creates the document when absent. Resolves once any
   * changes it carried are persisted; emits `doc:changed` with origin `remote` when it changed.
   */
  receiveSyncMessage(docId: DocumentId, state: SyncState, message: Uint8Array): Promise<SyncState>;
  /** Applies encoded changes (from a gossip push); persisted before it resolves. */
  applyChanges(docId: DocumentId, changes: readonly Uint8Array[]): Promise<void>;
  onChange(listener: DocumentListener): () => void;
}
