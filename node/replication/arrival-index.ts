/**
 * A replicant received from a peer is indexed as soon as it is stored, not when its reconcile
 * pass comes. Until then the share policy shares a held replicant with nobody (fail closed), so
 * every message its peers sent about it was refused. In a heal the passes queue behind
 * application creates: at K = 1000, ~1,000 messages refused per site, each one left for
 * anti-entropy to make up for. The entry is kept in memory only (`reserve`); the pass stores it.
 *
 * A change to a replicant whose replica here was current (most often another site's replica
 * entry, its status) is mirrored at once too, while the document is still loaded, when its pass
 * waits behind others: if the replica is still current, the index says so at the new heads and
 * the pass stops there. The pass would find the same, but from the back of the queue: in a heal,
 * behind ~1,000 passes that push the document out of memory, so each of those changes cost a
 * second load. A pass that has just started reads the document anyway: nothing to do here.
 */
import type { DocumentId, MetaId, SiteName } from '../../core/ids.js';
import { entryOf, type KeyIndex } from './key-index.js';
import type { Replicants } from './replicants.js';

export interface ArrivalIndexDeps {
  readonly self: SiteName;
  readonly index: KeyIndex;
  readonly replicants: Pick<Replicants, 'read' | 'mirror'>;
  /** Documents dropped here: never indexed again. */
  readonly refused: ReadonlySet<DocumentId>;
  /** Whether the pass this change scheduled waits behind others (Reconciler.isWaiting). */
  readonly passWaiting: (docId: DocumentId) => boolean;
}

/**
 * Indexes `docId` from what is stored: if it is unknown to the index and this site is in its
 * scope, in memory; if this site's replica was current in it, at the new heads when it still is.
 */
export async function indexOnArrival(deps: ArrivalIndexDeps, docId: DocumentId, metaId: MetaId): Promise<void> {
  if (deps.refused.has(docId)) return;
  const known = deps.index.byMetaId(metaId);
  if (known !== undefined) {
    // Not current before this change, a write through the front under way, or the pass already
    // running: the pass's to judge.
    if (known.currentAt !== undefined && known.localWritePending !== true && deps.passWaiting(docId)) await deps.replicants.mirror(docId, 'ifCurrent');
    return;
  }
  const read = await deps.replicants.read(docId);
  // Anything else is the pass's to judge (and drop): only a replicant naming this site is shared.
  if (read.kind !== 'ok' || !read.replicant.meta.sites.includes(deps.self)) return;
  if (deps.index.byMetaId(metaId) !== undefined || deps.refused.has(docId)) return;
  deps.index.reserve(entryOf(read.replicant, undefined));
}
