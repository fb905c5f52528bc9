import { describe, expect, it } from 'vitest';
import { asSiteName, type DocumentId, type ResourceKey } from '../../core/ids.js';
import { silentLogger } from '../../core/logger.js';
import { MemoryStorage } from '../../crdt/memory-storage.js';
import { CollaborationKind, metaIdOf, replicantDocId, type Replicant } from '../../crdt/replicant.js';
import { indexOnArrival } from './arrival-index.js';
import { KeyIndex } from './key-index.js';
import type { ReplicantRead } from './replicants.js';

const site1 = asSiteName('Site1');
const site2 = asSiteName('Site2');

function replicant(name: string, sites: readonly string[]): Replicant {
  const key: ResourceKey = { app: 'kubernetes', service: 'pods', namespace: 'default', name };
  const metaId = metaIdOf(key, 0);
  const desired = { revision: '1-Site1-00000000', generation: 1, site: site1, at: 1, body: {} };
  return {
    docId: replicantDocId(metaId), metaId, desired, deleted: false, replicas: {}, conflicts: [], dependents: [], claims: [], joined: [],
    meta: { key, collaboration: CollaborationKind.Replication, scope: `{${sites.join(' & ')}}`, sites: sites.map(asSiteName), origin: site1, incarnation: 0, createdAt: 1 },
  };
}

/** The index of Site2, and the replicants its store holds. */
function setup(held: readonly Replicant[], refused: ReadonlySet<DocumentId> = new Set()) {
  const storage = new MemoryStorage();
  const index = new KeyIndex(storage, silentLogger);
  const reads: DocumentId[] = [];
  const mirrored: DocumentId[] = [];
  const read = (docId: DocumentId): Promise<ReplicantRead> => {
    reads.push(docId);
    const found = held.find((candidate) => candidate.docId === docId);
    return Promise.resolve(found === undefined ? { kind: 'absent' } : { kind: 'ok', replicant: found, ignored: [], content: {} });
  };
  const replicants = {
    read,
    mirror: (docId: DocumentId, when: 'always' | 'ifCurrent'): Promise<ReplicantRead> => {
      expect(when).toBe('ifCurrent');
      mirrored.push(docId);
      return read(docId);
    },
  };
  return { storage, index, reads, mirrored, deps: { self: site2, index, replicants, refused, passWaiting: () => true } };
}

describe('indexOnArrival', () => {
  it('indexes a received replicant naming this site, in memory only', async () => {
    const purple = replicant('purple', ['Site1', 'Site2']);
    const { storage, index, deps } = setup([purple]);
    await indexOnArrival(deps, purple.docId, purple.metaId);
    expect(index.byMetaId(purple.metaId)).toMatchObject({ key: purple.meta.key, sites: [site1, site2], deleted: false });
    expect(index.live(purple.meta.key)?.metaId).toBe(purple.metaId);
    // The pass stores it; a crash before then loses nothing the pass will not redo.
    expect(await storage.get(['replicant-key', purple.metaId])).toBeUndefined();
  });

  it('leaves to the pass a replicant whose scope leaves this site out, one refused, and one unreadable', async () => {
    const foreign = replicant('foreign', ['Site1', 'Site3']);
    const dropped = replicant('dropped', ['Site1', 'Site2']);
    const { index, deps } = setup([foreign, dropped], new Set([dropped.docId]));
    await indexOnArrival(deps, foreign.docId, foreign.metaId);
    await indexOnArrival(deps, dropped.docId, dropped.metaId);
    const missing = replicant('missing', ['Site2', 'Site3']);
    await indexOnArrival(deps, missing.docId, missing.metaId);
    expect(index.size).toBe(0);
  });

  it('does not read a replicant the index knows and whose replica here was not current', async () => {
    const purple = replicant('purple', ['Site1', 'Site2']);
    const { index, reads, mirrored, deps } = setup([purple]);
    await indexOnArrival(deps, purple.docId, purple.metaId);
    await indexOnArrival(deps, purple.docId, purple.metaId);
    expect(reads).toEqual([purple.docId]);
    expect(mirrored).toEqual([]);
    expect(index.byMetaId(purple.metaId)?.currentAt).toBeUndefined();
  });

  it('mirrors a change to a replicant whose replica here was current, unless a write through the front is under way', async () => {
    const purple = replicant('purple', ['Site1', 'Site2']);
    const { index, mirrored, deps } = setup([purple]);
    await indexOnArrival(deps, purple.docId, purple.metaId);
    await index.put({ ...index.byMetaId(purple.metaId)!, currentAt: ['aa'] });
    await indexOnArrival(deps, purple.docId, purple.metaId);
    expect(mirrored).toEqual([purple.docId]);
    await index.markLocalWrite(purple.metaId, true);
    await indexOnArrival(deps, purple.docId, purple.metaId);
    expect(mirrored).toEqual([purple.docId]);
  });

  it('leaves a change to a current replica to its pass when that pass has just started', async () => {
    const purple = replicant('purple', ['Site1', 'Site2']);
    const { index, mirrored, deps } = setup([purple]);
    await indexOnArrival(deps, purple.docId, purple.metaId);
    await index.put({ ...index.byMetaId(purple.metaId)!, currentAt: ['aa'] });
    await indexOnArrival({ ...deps, passWaiting: () => false }, purple.docId, purple.metaId);
    expect(mirrored).toEqual([]);
  });
});
