import { describe, expect, it } from 'vitest';
import { MemoryLogger } from '../../core/logger.js';
import { metaIdOf } from '../../crdt/replicant.js';
import { MemoryStagingLog, type StagingLog } from '../../crdt/staging-log.js';
import { AnsweredUpdates, type AnsweredUpdate } from './answered-updates.js';

function updateOf(name: string, nonce = '0a0b0c0d'): AnsweredUpdate {
  const key = { app: 'kubernetes', service: 'pods', namespace: 'default', name } as const;
  return { metaId: metaIdOf(key, 0), key, body: { metadata: { name, labels: { v: '2' } } }, at: 1_000, nonce, base: ['ab'.repeat(32)] };
}

describe('AnsweredUpdates', () => {
  it('stages one record per replicant until settled; the next process loads what was left, and settling it closes it for good', async () => {
    const log = new MemoryStagingLog();
    const updates = new AnsweredUpdates(new MemoryLogger(), log);
    const [kept, settled] = [updateOf('kept'), updateOf('settled')];
    expect(await updates.stage(updateOf('kept', '00000001'))).toBe(true);
    // A later update of the same replicant takes the record's place.
    expect(await updates.stage(kept)).toBe(true);
    expect(await updates.stage(settled)).toBe(true);
    updates.settle(settled.metaId);
    expect(updates.get(kept.metaId)).toEqual(kept);
    expect(updates.get(settled.metaId)).toBeUndefined();

    const next = log.reopen();
    const restarted = new AnsweredUpdates(new MemoryLogger(), next);
    expect(restarted.load()).toEqual([kept]);
    expect(restarted.get(kept.metaId)).toEqual(kept);
    restarted.settle(kept.metaId);
    expect(next.reopen().leftovers()).toEqual([]);
  });

  it('stages a record before the answer, then with the answer, and settles only the record of the nonce it is told', async () => {
    const log = new MemoryStagingLog();
    const updates = new AnsweredUpdates(new MemoryLogger(), log);
    const { body: _answer, ...before } = updateOf('web');
    expect(await updates.stage(before)).toBe(true);
    // The process dying as the application works: the next one finds the record without an answer.
    expect(new AnsweredUpdates(new MemoryLogger(), log.reopen()).load()).toEqual([before]);
    updates.answered(before.metaId, { metadata: { name: 'web', labels: { v: '2' } } }, 'uid-1');
    const withAnswer = { ...before, body: { metadata: { name: 'web', labels: { v: '2' } } }, localId: 'uid-1' };
    expect(updates.get(before.metaId)).toEqual(withAnswer);
    expect(new AnsweredUpdates(new MemoryLogger(), log.reopen()).load()).toEqual([withAnswer]);
    updates.settle(before.metaId, 'ffffffff');
    expect(updates.get(before.metaId)).toBeDefined();
    updates.settle(before.metaId, before.nonce);
    expect(updates.get(before.metaId)).toBeUndefined();
    expect(log.reopen().leftovers()).toEqual([]);
  });

  it('drops a malformed record and leaves the other records of the log alone', () => {
    const log = new MemoryStagingLog();
    const good = updateOf('good');
    log.stage(`update:${good.metaId}`, new TextEncoder().encode(JSON.stringify(good)));
    log.stage(`update:${updateOf('bad').metaId}`, new TextEncoder().encode(JSON.stringify({ ...updateOf('bad'), nonce: 'not hex' })));
    log.stage('mark:x', new Uint8Array(0));
    const logger = new MemoryLogger();
    const next = log.reopen();
    expect(new AnsweredUpdates(logger, next).load()).toEqual([good]);
    expect(logger.entries.map((entry) => entry.message)).toContain('malformed answered updates dropped from the staging log');
    expect(next.leftovers().map(({ id }) => id)).toEqual([`update:${good.metaId}`, 'mark:x']);
  });

  it('answers false, so that the change is stored before the answer, without a log or when the log cannot flush', async () => {
    expect(await new AnsweredUpdates(new MemoryLogger()).stage(updateOf('web'))).toBe(false);
    const memory = new MemoryStagingLog();
    const failing: StagingLog = Object.assign(Object.create(memory) as MemoryStagingLog, { flush: () => Promise.reject(new Error('EIO: i/o error, fdatasync')) });
    const updates = new AnsweredUpdates(new MemoryLogger(), failing);
    expect(await updates.stage(updateOf('web'))).toBe(false);
    expect(updates.get(updateOf('web').metaId)).toBeUndefined();
    expect(memory.reopen().leftovers()).toEqual([]);
  });
});
