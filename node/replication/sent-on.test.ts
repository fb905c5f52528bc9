import { describe, expect, it } from 'vitest';
import { asSiteName, type ResourceKey } from '../../core/ids.js';
import { metaIdOf, replicantDocId } from '../../crdt/replicant.js';
import { SentOnWrites } from './sent-on.js';

const key: ResourceKey = { app: 'kubernetes', service: 'pods', namespace: 'default', name: 'purple' };
const metaId = metaIdOf(key, 1);
const head = 'ab'.repeat(32);
const site2 = asSiteName('Site2');

function answer(status: number, headers: Record<string, string>): Response {
  return new Response(null, { status, headers });
}

describe('writes sent on to another member', () => {
  const lacking = (): Promise<boolean> => Promise.resolve(true);

  it('keeps a write applied there until this copy holds its heads', async () => {
    let now = 0;
    const sent = new SentOnWrites({ now: () => now });
    sent.record(key, site2, '{Site1 & Site2}', answer(200, { 'x-cheops-meta-id': metaId, 'x-cheops-heads': head }));
    const asked: Array<[string, readonly string[]]> = [];
    const first = await sent.lacking(key, (docId, heads) => {
      asked.push([docId, heads]);
      return Promise.resolve(true);
    });
    expect(first).toMatchObject({ site: 'Site2', metaId, heads: [head], scope: '{Site1 & Site2}' });
    expect(asked).toEqual([[replicantDocId(metaId), [head]]]);
    now = 10;
    // Held now: forgotten.
    expect(await sent.lacking(key, () => Promise.resolve(false))).toBeUndefined();
    expect(sent.size).toBe(0);
  });

  it('keeps nothing of a refused write, or of an answer without a valid meta-ID and heads (a peer is not trusted)', async () => {
    const sent = new SentOnWrites({ now: () => 0 });
    sent.record(key, site2, '{Site2}', answer(409, { 'x-cheops-meta-id': metaId, 'x-cheops-heads': head }));
    sent.record(key, site2, '{Site2}', answer(200, { 'x-cheops-meta-id': metaId }));
    sent.record(key, site2, '{Site2}', answer(200, { 'x-cheops-meta-id': 'not a meta-id', 'x-cheops-heads': head }));
    sent.record(key, site2, '{Site2}', answer(200, { 'x-cheops-meta-id': metaId, 'x-cheops-heads': `${head},../etc` }));
    expect(sent.size).toBe(0);
    expect(await sent.lacking(key, lacking)).toBeUndefined();
  });

  it('forgets a write older than its bound, and the oldest keys beyond its cap', async () => {
    let now = 0;
    const sent = new SentOnWrites({ now: () => now }, { maxAgeMs: 1_000, maxKeys: 2 });
    const keys = ['a', 'b', 'c'].map((name) => ({ ...key, name }));
    for (const each of keys) sent.record(each, site2, '{Site2}', answer(200, { 'x-cheops-meta-id': metaIdOf(each, 1), 'x-cheops-heads': head }));
    expect(sent.size).toBe(2);
    expect(await sent.lacking(keys[0] as ResourceKey, lacking)).toBeUndefined();
    expect(await sent.lacking(keys[2] as ResourceKey, lacking)).toBeDefined();
    now = 1_001;
    expect(await sent.lacking(keys[2] as ResourceKey, lacking)).toBeUndefined();
    expect(sent.size).toBe(1);
  });
});
