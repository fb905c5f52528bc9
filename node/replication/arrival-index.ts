/**
 * A replicant received from a peer is indexed as soon as it is stored, not when its reconcile
 * pass comes. Until then the share policy shares a held replicant with nobody (fail closed), so
 * every message its peers sent about it was refused. In a heal the passes queue behind
 * application creates: at K = 1000, ~1,000 messages refused per site, each one left for
 * anti-entropy to make up for. The entry is kept in memory only (`reserve`); the pass stores it.
 */
import type { DocumentId, MetaId, SiteName } from '../../core/ids.js';
import { entryOf, type KeyIndex } from './key-index.js';
import type { Replicants } from './replicants.js';

export interface ArrivalIndexDeps {
  readonly self: SiteName;
  readonly index: KeyIndex;
  readonly replicants: Pick<Replicants, 'read'>;
  /** Documents dropped here: never indexed again. */
  readonly refused: ReadonlySet<DocumentId>;
}

/** Indexes `docId` from what is stored, if it is unknown to the index and this site is in its scope. */
export async function indexOnArrival(deps: ArrivalIndexDeps, docId: DocumentId, metaId: MetaId): Promise<void> {
  if (deps.index.byMetaId(metaId) !== undefined || deps.refused.has(docId)) return;
  const read = await deps.replicants.read(docId);
  // Anything else is the pass's to judge (and drop): only a replicant naming this site is shared.
  if (read.kind !== 'ok' || !read.replicant.meta.sites.includes(deps.self)) return;
  if (deps.index.byMetaId(metaId) !== undefined || deps.refused.has(docId)) return;
  deps.index.reserve(entryOf(read.replicant, undefined));
}
