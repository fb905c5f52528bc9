import { describe, expect, it } from 'vitest';
import { asSiteName } from '../../core/ids.js';
import { MemoryLogger } from '../../core/logger.js';
import { MemoryStorage } from '../../crdt/memory-storage.js';
import { metaIdOf } from '../../crdt/replicant.js';
import { MemoryStagingLog } from '../../crdt/staging-log.js';
import { CreateIntents, type CreateIntent } from './create-intents.js';

function intentFor(name: string): CreateIntent {
  const key = { app: 'kubernetes', service: 'pods', namespace: 'default', name } as const;
  return {
    metaId: metaIdOf(key, 0), key, incarnation: 0, scope: '{Site1 & Site2}', sites: [asSiteName('Site1'), asSiteName('Site2')],
    request: { apiVersion: 'v1', kind: 'Pod', metadata: { name } },
  };
}

/** A MemoryStagingLog that counts its flushes. */
class FlushCountingLog extends MemoryStagingLog {
  flushes = 0;

  override flush(): Promise<void> {
    this.flushes += 1;
    return super.flush();
  }
}

describe('CreateIntents with a staging log', () => {
  it('keeps an intent in the log only: recording it flushes the log, and it is settled there once its replicant is stored', async () => {
    const storage = new MemoryStorage();
    const log = new FlushCountingLog();
    const intents = new CreateIntents(storage, new MemoryLogger(), () => true, log);
    const intent = intentFor('web');
    await intents.stage(intent);
    await intents.record(intent);
    expect(log.flushes).toBe(1);
    expect(await storage.list(['create-intent'])).toEqual([]);
    // A crash now: the next process finds it in the log.
    expect(log.reopen().leftovers().map(({ id }) => id)).toEqual([intent.metaId]);
    // Settled from memory meanwhile (a create whose application failed to answer).
    expect(await intents.get(intent.metaId)).toEqual(intent);
    // Nothing for the replicant's batch to remove from the store; settled in the log after it.
    expect(intents.clearOperations(intent.metaId)).toEqual([]);
    intents.stored(intent.metaId);
    expect(log.reopen().leftovers()).toEqual([]);
    expect(await intents.get(intent.metaId)).toBeUndefined();
  });

  it('moves what a crash left staged to the store at the next start, once', async () => {
    const storage = new MemoryStorage();
    const before = new MemoryStagingLog();
    const crashed = new CreateIntents(storage, new MemoryLogger(), () => true, before);
    await crashed.stage(intentFor('made'));
    await crashed.stage(intentFor('settled'));
    await crashed.clear(intentFor('settled').metaId);
    const log = before.reopen();
    const logger = new MemoryLogger();
    const restarted = new CreateIntents(storage, logger, () => true, log);
    expect(await restarted.list()).toEqual([intentFor('made')]);
    expect(log.leftovers()).toEqual([]);
    expect(logger.entries.map((entry) => entry.message)).toContain('create intents staged before a crash recorded');
    // Cleared once settled: neither the store nor the log brings it back.
    await restarted.clear(intentFor('made').metaId);
    expect(await new CreateIntents(storage, new MemoryLogger(), () => true, log.reopen()).list()).toEqual([]);
  });

  it('drops a malformed leftover, and keeps the well-formed ones', async () => {
    const storage = new MemoryStorage();
    const before = new MemoryStagingLog();
    before.stage('not-a-meta-id', new TextEncoder().encode('{"half":'));
    await new CreateIntents(storage, new MemoryLogger(), () => true, before).stage(intentFor('good'));
    const logger = new MemoryLogger();
    expect(await new CreateIntents(storage, logger, () => true, before.reopen()).list()).toEqual([intentFor('good')]);
    expect(logger.entries.some((entry) => entry.level === 'warn' && entry.message === 'malformed staged create intent dropped')).toBe(true);
  });

  it('leaves the key index\'s marks in the log to the index', async () => {
    const storage = new MemoryStorage();
    const before = new MemoryStagingLog();
    before.stage('mark:abc', new Uint8Array(0));
    await new CreateIntents(storage, new MemoryLogger(), () => true, before).stage(intentFor('good'));
    const log = before.reopen();
    const logger = new MemoryLogger();
    expect(await new CreateIntents(storage, logger, () => true, log).list()).toEqual([intentFor('good')]);
    expect(log.leftovers().map(({ id }) => id)).toEqual(['mark:abc']);
    expect(logger.entries.filter((entry) => entry.level === 'warn')).toEqual([]);
  });

  it('records in the store, and is removed in the replicant\'s batch, when it has no log', async () => {
    const storage = new MemoryStorage();
    const intents = new CreateIntents(storage, new MemoryLogger());
    const intent = intentFor('web');
    await intents.stage(intent);
    await intents.record(intent);
    expect(await intents.list()).toEqual([intent]);
    await storage.batch(intents.clearOperations(intent.metaId));
    expect(await intents.list()).toEqual([]);
  });

  it('stages in the store, without an fsync, when it has no log', async () => {
    const storage = new MemoryStorage();
    const intents = new CreateIntents(storage, new MemoryLogger());
    await intents.stage(intentFor('web'));
    expect(await intents.list()).toEqual([intentFor('web')]);
    await intents.clear(intentFor('web').metaId);
    expect(await intents.list()).toEqual([]);
  });
});
