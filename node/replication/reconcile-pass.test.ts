/**
 * A reconcile pass over an old life of a name while a later one is held here (seed 900150): the
 * old life was deleted somewhere (a later one exists), but this site has heard only of a write to
 * it, made by a site that had not heard of the delete either. Applying it would overwrite the
 * later life's object, which its own pass already made current.
 */
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { asSiteName } from '../../core/ids.js';
import { silentLogger } from '../../core/logger.js';
import { MemoryStorage } from '../../crdt/memory-storage.js';
import { metaIdOf, replicantDocId } from '../../crdt/replicant.js';
import { ManualClock, openStore, seededRandom, syncDocuments } from '../../crdt/test-helpers.js';
import type { Applier } from './applier.js';
import { KeyIndex } from './key-index.js';
import { KeyLocks } from './key-locks.js';
import { createReplicationMetrics } from './metrics.js';
import { reconcilePass } from './reconcile-pass.js';
import { Replicants } from './replicants.js';

const [site1, site2] = [asSiteName('Site1'), asSiteName('Site2')];
const key = { app: 'kubernetes', service: 'configmaps', namespace: 'default', name: 'twice' };

async function side(self: typeof site1, seed: number) {
  const storage = new MemoryStorage();
  const documents = await openStore(storage, seed);
  const index = new KeyIndex(storage, silentLogger);
  const replicants = new Replicants({ documents, index, clock: new ManualClock(), random: seededRandom(seed), logger: silentLogger, self, refused: new Set() });
  return { documents, index, replicants };
}

describe('a reconcile pass', () => {
  it('leaves alone the object of a later life of the name when an old life, not known deleted here, has a write to apply', async () => {
    const origin = await side(site1, 1);
    const here = await side(site2, 2);
    const sites = [site1, site2];
    const write = (body: Record<string, unknown>) => ({ key, op: 'upsert' as const, scope: '{Site1 & Site2}', sites, body, localId: 'uid-old' });
    await origin.replicants.writeLocal(write({ data: { v: 'old' } }));
    const oldLife = replicantDocId(metaIdOf(key, 0));
    await syncDocuments(origin.documents, here.documents, oldLife);
    // Site1 deletes the old life and makes a new one; only the new one reaches here.
    await origin.replicants.writeLocal({ ...write({}), op: 'delete', body: undefined });
    await origin.replicants.writeLocal(write({ data: { v: 'new' } }));
    const newLife = replicantDocId(metaIdOf(key, 1));
    await syncDocuments(origin.documents, here.documents, newLife);
    await here.replicants.mirror(newLife, 'always');
    await here.replicants.mirror(oldLife, 'always');
    expect(here.index.live(key)?.incarnation).toBe(1);

    const apply = vi.fn(() => Promise.resolve({ kind: 'applied' as const, op: 'update' as const }));
    const remove = vi.fn(() => Promise.resolve({ kind: 'deleted' as const, op: 'none' as const }));
    const pass = reconcilePass({
      self: site2, documents: here.documents, replicants: here.replicants, index: here.index, locks: new KeyLocks(),
      applier: { apply, delete: remove } as unknown as Applier, clock: new ManualClock(), logger: silentLogger,
      metrics: createReplicationMetrics(new Registry(), () => []), peerIdOf: () => undefined,
    });
    expect(await pass(oldLife)).toBe('done');
    expect(apply).not.toHaveBeenCalled();
    // The new life's own pass applies it.
    expect(await pass(newLife)).toBe('done');
    expect(apply).toHaveBeenCalledTimes(1);
  });
});
