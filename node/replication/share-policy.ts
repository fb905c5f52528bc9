/**
 * Scope safety for replicants (docs/REPLICATION.md §5), as p2p's SharePolicy: `res/<metaId>` is
 * shared with the sites of its scope only. A replicant not held yet may be brought by any site of
 * the directory (its scope is not known before it arrives; one that leaves this site out is then
 * dropped by the reconciler and refused from then on). One held but not read yet is shared with
 * nobody until it is read: fail closed. A replicant received from a peer is read as soon as it is
 * stored (arrival-index.ts), not when its reconcile pass comes.
 */
import type { DocumentId } from '../../core/ids.js';
import type { DocumentStore } from '../../crdt/document-store.js';
import { metaIdOfDocId } from '../../crdt/replicant.js';
import type { SharedWith } from '../../p2p/share-policy.js';
import type { KeyIndex } from './key-index.js';
import { peerIdsOf, type SitesPort } from './sites.js';

/** What the share policy reads, synchronously. */
export interface ReplicantSharePolicyDeps {
  readonly index: KeyIndex;
  readonly documents: Pick<DocumentStore, 'has'>;
  readonly sites: SitesPort;
  /** Documents dropped here: refused whoever offers them. */
  readonly refused: ReadonlySet<DocumentId>;
}

const nobody: SharedWith = new Set();

/** The share policy of replicant documents; undefined for a document that is not one. */
export function replicantSharePolicy(deps: ReplicantSharePolicyDeps): (docId: DocumentId) => SharedWith | undefined {
  return (docId) => {
    const metaId = metaIdOfDocId(docId);
    if (metaId === undefined) return undefined;
    if (deps.refused.has(docId)) return nobody;
    const entry = deps.index.byMetaId(metaId);
    if (entry !== undefined) return peerIdsOf(deps.sites, entry.sites);
    if (deps.documents.has(docId)) return nobody;
    return peerIdsOf(deps.sites, deps.sites.names());
  };
}
