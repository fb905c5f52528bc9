/**
 * Reads a stopped site's document store (its level database) to size the changes it holds: the
 * bytes of every Automerge change of its replicants, each encoded on its own as it would travel,
 * and the bytes of their compressed `save()`. Only for a site that is not running: LevelDB locks
 * its directory.
 */
import * as Automerge from '@automerge/automerge';
import { join } from 'node:path';
import type { DocumentId } from '../core/ids.js';
import { documentPrefix, indexPrefix, loadStoredDocument, parseStoredDocument } from '../crdt/document-layout.js';
import { LevelStorage } from '../crdt/level-storage.js';

/** What a store holds of its replicants. */
export interface ChangeSizes {
  readonly documents: number;
  readonly changes: number;
  /** Sum of every change's bytes (`Automerge.getAllChanges`). */
  readonly changeBytes: number;
  /** Sum of every document's `Automerge.save()` (compressed, the whole history). */
  readonly savedBytes: number;
}

/** Sizes the replicant documents (`res/…`) of the store in `dataDir`. */
export async function replicantChangeSizes(dataDir: string): Promise<ChangeSizes> {
  const storage = await LevelStorage.open({ location: join(dataDir, 'store'), sync: false });
  try {
    const ids = (await storage.list(indexPrefix)).map((entry) => entry.key[1] as DocumentId).filter((id) => id.startsWith('res/'));
    let changes = 0;
    let changeBytes = 0;
    let savedBytes = 0;
    for (const id of ids) {
      const doc = loadStoredDocument<unknown>(id, parseStoredDocument(id, await storage.list(documentPrefix(id))), '00'.repeat(16));
      const all = Automerge.getAllChanges(doc);
      changes += all.length;
      changeBytes += all.reduce((sum, change) => sum + change.length, 0);
      savedBytes += Automerge.save(doc).length;
    }
    return { documents: ids.length, changes, changeBytes, savedBytes };
  } finally {
    await storage.close();
  }
}
