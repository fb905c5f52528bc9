/**
 * Replicants keeps the key index in step with what it writes and reads: a replica found current at
 * some heads is marked so, and a pass at those heads stops without reading the document again.
 */
import { describe, expect, it, vi } from 'vitest';
import { asSiteName, type DocumentId, type SiteName } from '../../core/ids.js';
import { silentLogger } from '../../core/logger.js';
import type { DocumentStore } from '../../crdt/document-store.js';
import { MemoryStorage } from '../../crdt/memory-storage.js';
import { ReplicaStatus, type ReplicaEntry } from '../../crdt/replicant.js';
import { ManualClock, openStore, seededRandom, syncDocuments } from '../../crdt/test-helpers.js';
import { KeyIndex } from './key-index.js';
import { Replicants, type LocalWriteResult } from './replicants.js';

const site1 = asSiteName('Site1');
const site2 = asSiteName('Site2');
const key = { app: 'kubernetes', service: 'pods', namespace: 'default', name: 'purple' };

interface Side {
  readonly documents: DocumentStore;
  readonly index: KeyIndex;
  readonly replicants: Replicants;
  /** The documents said to be cool (DocumentStore.cool). */
  readonly cooled: DocumentId[];
}

async function side(self: SiteName, seed: number): Promise<Side> {
  const storage = new MemoryStorage();
  const documents = await openStore(storage, seed);
  const index = new KeyIndex(storage, silentLogger);
  const replicants = new Replicants({ documents, index, clock: new ManualClock(), random: seededRandom(seed), logger: silentLogger, self, refused: new Set() });
  const cooled: DocumentId[] = [];
  const cool = documents.cool.bind(documents);
  vi.spyOn(documents, 'cool').mockImplementation((docId) => {
    cooled.push(docId);
    cool(docId);
  });
  return { documents, index, replicants, cooled };
}

function write(on: Side, image: string): Promise<LocalWriteResult> {
  return on.replicants.writeLocal({
    key, op: 'upsert', scope: '{Site1 & Site2}', sites: [site1, site2], body: { spec: { image } }, localId: 'uid-1',
  });
}

function applied(written: LocalWriteResult): ReplicaEntry {
  return { status: ReplicaStatus.Applied, observedRevision: written.revision, observedGeneration: written.generation, localId: 'uid-2', updatedAt: 1 };
}

/** Site1 writes the replicant, Site2 receives it and records its replica as `entry` says. */
async function replicated(entry: (written: LocalWriteResult) => ReplicaEntry): Promise<{ one: Side; two: Side; written: LocalWriteResult }> {
  const one = await side(site1, 1);
  const two = await side(site2, 2);
  const written = await write(one, 'nginx');
  await syncDocuments(one.documents, two.documents, written.replicant.docId);
  await two.replicants.recordReplica(written.replicant.docId, entry(written));
  await Promise.all([one.index.settled(), two.index.settled()]);
  return { one, two, written };
}

describe('Replicants and the key index', () => {
  it('marks a replica it records applied current at the heads its change made', async () => {
    const { two, written } = await replicated(applied);
    const { docId, metaId } = written.replicant;
    expect(two.index.byMetaId(metaId)).toMatchObject({ currentAt: two.documents.heads(docId), statuses: { Site1: 'applied', Site2: 'applied' } });
    // Settled everywhere: the first to go when the cap of loaded documents is reached.
    expect(two.cooled).toEqual([docId]);
  });

  it('writes a replica entry in the background (no site waits on it to act), a write of the desired state not', async () => {
    const one = await side(site1, 1);
    const two = await side(site2, 2);
    const backgroundOf = (on: Side): boolean[] => {
      const seen: boolean[] = [];
      on.documents.onChange((event) => {
        if (event.origin === 'local') seen.push(event.background === true);
      });
      return seen;
    };
    const [atOne, atTwo] = [backgroundOf(one), backgroundOf(two)];
    const written = await write(one, 'nginx');
    await syncDocuments(one.documents, two.documents, written.replicant.docId);
    await two.replicants.recordReplica(written.replicant.docId, applied(written));
    expect([atOne, atTwo]).toEqual([[false], [true]]);
  });

  it('decodes a document once: read again unchanged, it gives the same replicant; changed, the new one', async () => {
    const { two, written } = await replicated(applied);
    const { docId } = written.replicant;
    const first = await two.replicants.read(docId);
    const again = await two.replicants.read(docId);
    expect(first.kind === 'ok' && again.kind === 'ok' && again.replicant === first.replicant).toBe(true);
    await two.replicants.recordReplica(docId, { ...applied(written), localId: 'uid-3' });
    const changed = await two.replicants.read(docId);
    expect(changed.kind === 'ok' && changed.replicant !== (first.kind === 'ok' ? first.replicant : undefined)).toBe(true);
    expect(changed.kind === 'ok' ? changed.replicant.replicas['Site2']?.localId : undefined).toBe('uid-3');
  });

  it('does not mark a replica it records pending current', async () => {
    const { two, written } = await replicated((done) => ({ ...applied(done), status: ReplicaStatus.Pending, error: 'application down' }));
    expect(two.index.byMetaId(written.replicant.metaId)?.currentAt).toBeUndefined();
    expect(two.index.byMetaId(written.replicant.metaId)?.statuses).toEqual({ Site1: 'applied', Site2: 'pending' });
    expect(two.cooled).toEqual([]);
  });

  it('mirrors a peer status on a replica current here at the new heads, and leaves a new desired state to the pass', async () => {
    const { one, two, written } = await replicated(applied);
    const { docId, metaId } = written.replicant;
    const before = one.index.byMetaId(metaId);
    await syncDocuments(one.documents, two.documents, docId);
    await one.replicants.mirror(docId, 'ifCurrent');
    expect(one.index.byMetaId(metaId)).toMatchObject({ currentAt: one.documents.heads(docId), statuses: { Site1: 'applied', Site2: 'applied' } });
    expect(one.index.byMetaId(metaId)?.currentAt).not.toEqual(before?.currentAt);
    expect(one.cooled).toEqual([docId]);

    const marked = one.index.byMetaId(metaId);
    await write(two, 'httpd');
    await syncDocuments(one.documents, two.documents, docId);
    const read = await one.replicants.mirror(docId, 'ifCurrent');
    expect(read.kind === 'ok' && read.replicant.desired.site).toBe(site2);
    // Site1's replica is behind the new desired state: the index is left as it was, for the pass.
    expect(one.index.byMetaId(metaId)).toBe(marked);
    expect(one.cooled).toEqual([docId]);
  });
});
