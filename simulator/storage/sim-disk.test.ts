import { describe, expect, it } from 'vitest';
import { asDocumentId } from '../../core/ids.js';
import { ErrorCode, isCheopsError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import { systemClock } from '../../core/system.js';
import { DocumentStore } from '../../crdt/document-store.js';
import { MemoryStorage } from '../../crdt/memory-storage.js';
import { storageContract } from '../../crdt/storage-contract.js';
import { SeededRandom } from '../core/seeded-random.js';
import { SimClock } from '../core/sim-clock.js';
import { Trace } from '../core/trace.js';
import { SimDisk, type SimDiskOptions } from './sim-disk.js';

storageContract('SimStorage, no latency', () =>
  Promise.resolve(new SimDisk({ writeLatency: { type: 'fixed', ms: 0 } }, { random: new SeededRandom('contract') }).open(systemClock)),
);
storageContract('SimStorage, 1 ms per operation on the real clock', () =>
  Promise.resolve(
    new SimDisk({ writeLatency: { type: 'fixed', ms: 1 }, readLatency: { type: 'fixed', ms: 1 } }, { random: new SeededRandom('contract') }).open(systemClock),
  ),
);

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

function setup(options: SimDiskOptions = { writeLatency: { type: 'fixed', ms: 10 } }): { clock: SimClock; disk: SimDisk; trace: Trace } {
  const clock = new SimClock({ startMs: 0 });
  const trace = new Trace(clock);
  return { clock, disk: new SimDisk({ label: 'Site1/node', ...options }, { random: new SeededRandom('disk'), trace }), trace };
}

/** Whether `promise` has settled after the clock ran. */
function watch(promise: Promise<unknown>): { settled: boolean } {
  const state = { settled: false };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

async function durableKeys(disk: SimDisk): Promise<string[]> {
  return (await new MemoryStorage(disk.data).list([])).map((entry) => entry.key.join('/'));
}

describe('SimDisk', () => {
  it('makes a write durable when, and only when, its promise resolves', async () => {
    const { clock, disk } = setup();
    const storage = disk.open(clock);
    const put = watch(storage.put(['k'], text('v')));
    await clock.runFor(9);
    expect(put.settled).toBe(false);
    expect(await durableKeys(disk)).toEqual([]);
    await clock.runFor(1);
    expect(put.settled).toBe(true);
    expect(await durableKeys(disk)).toEqual(['k']);
  });

  it('completes operations in the order issued, and a read sees the writes issued before it', async () => {
    const { clock, disk } = setup({ writeLatency: { type: 'uniform', minMs: 1, maxMs: 50 } });
    const storage = disk.open(clock);
    const done: number[] = [];
    for (let index = 0; index < 20; index += 1) void storage.put(['k'], text(String(index))).then(() => done.push(index));
    const read = storage.get(['k']);
    const value = await clock.runUntilSettled(read, { timeoutMs: 10_000 });
    expect(done).toEqual(Array.from({ length: 20 }, (_, index) => index));
    expect(new TextDecoder().decode(value)).toBe('19');
  });

  it('completes nothing while stalled, then what was issued meanwhile in order; a crash meanwhile loses it', async () => {
    const { clock, disk, trace } = setup();
    const storage = disk.open(clock);
    const before = watch(storage.put(['before'], text('0')));
    disk.stall();
    const write = watch(storage.put(['during'], text('1')));
    const read = watch(storage.get(['during']));
    await clock.runFor(2_000);
    expect([before.settled, write.settled, read.settled]).toEqual([true, false, false]);
    expect(await durableKeys(disk)).toEqual(['before']);
    disk.resume();
    expect(new TextDecoder().decode(await clock.runUntilSettled(storage.get(['during']), { timeoutMs: 100 }))).toBe('1');
    expect([write.settled, read.settled]).toEqual([true, true]);
    disk.stall();
    const lost = watch(storage.put(['lost'], text('2')));
    disk.crash();
    disk.resume();
    await clock.runFor(1_000);
    expect(lost.settled).toBe(false);
    expect(await durableKeys(disk)).toEqual(['before', 'during']);
    expect(trace.events(['disk:stall', 'disk:resume']).map((event) => event.kind)).toEqual(['disk:stall', 'disk:resume', 'disk:stall', 'disk:resume']);
  });

  it('stores what the caller passed even if it reuses the buffer before the write completes', async () => {
    const { clock, disk } = setup();
    const storage = disk.open(clock);
    const buffer = text('abc');
    const put = storage.batch([{ type: 'put', key: ['k'], value: buffer }]);
    buffer[0] = 0x7a;
    await clock.runUntilSettled(put, { timeoutMs: 100 });
    expect(await clock.runUntilSettled(storage.get(['k']), { timeoutMs: 100 })).toEqual(text('abc'));
  });

  it('loses the writes in flight at a crash, never answers them, and restarts from what was durable', async () => {
    const { clock, disk, trace } = setup();
    const before = disk.open(clock);
    await clock.runUntilSettled(before.put(['acknowledged'], text('1')), { timeoutMs: 100 });
    const inFlight = watch(before.batch([
      { type: 'put', key: ['batch', 'a'], value: text('a') },
      { type: 'put', key: ['batch', 'b'], value: text('b') },
    ]));
    await clock.runFor(5);
    expect(disk.crash()).toBe(1);
    const afterCrash = watch(before.get(['acknowledged']));
    await clock.runFor(1_000);
    expect(inFlight.settled).toBe(false);
    expect(afterCrash.settled).toBe(false);
    expect(before.state).toBe('crashed');

    const after = disk.open(clock);
    expect(await clock.runUntilSettled(after.list([]), { timeoutMs: 100 })).toEqual([{ key: ['acknowledged'], value: text('1') }]);
    expect(disk.stats()).toMatchObject({ crashes: 1, lostWrites: 1 });
    expect(trace.events(['disk:crash'])[0]?.data).toEqual({ disk: 'Site1/node', lostWrites: 1 });
  });

  it('never tears a batch: after a crash it is there whole or not at all', async () => {
    for (const crashAtMs of [0, 5, 9, 10, 11, 25]) {
      const { clock, disk } = setup();
      const storage = disk.open(clock);
      void storage.batch([
        { type: 'put', key: ['a'], value: text('a') },
        { type: 'put', key: ['b'], value: text('b') },
        { type: 'del', key: ['missing'] },
      ]);
      await clock.runFor(crashAtMs);
      disk.crash();
      const keys = await durableKeys(disk);
      expect(keys.length === 0 || keys.join() === 'a,b').toBe(true);
      expect(keys.length === 2).toBe(crashAtMs >= 10);
    }
  });

  it('lets one process at a time open it', async () => {
    const { clock, disk } = setup();
    const first = disk.open(clock);
    expect(() => disk.open(clock)).toThrow(/already open/);
    await clock.runUntilSettled(first.close(), { timeoutMs: 100 });
    const second = disk.open(clock);
    disk.crash();
    expect(disk.open(clock)).not.toBe(second);
  });

  it('stops with its process: killing the clock scope stops the writes in flight', async () => {
    const { clock, disk } = setup();
    const scope = clock.scope();
    const write = watch(disk.open(scope).put(['k'], text('v')));
    scope.kill();
    disk.crash();
    await clock.runFor(100);
    expect(write.settled).toBe(false);
    expect(await durableKeys(disk)).toEqual([]);
  });

  it('fails writes on request, applying nothing', async () => {
    const { clock, disk } = setup({ writeLatency: { type: 'fixed', ms: 1 }, writeFailureRate: 1 });
    const storage = disk.open(clock);
    const error: unknown = await clock.runUntilSettled(storage.put(['k'], text('v')), { timeoutMs: 100 }).catch((caught: unknown) => caught);
    expect(isCheopsError(error, ErrorCode.StorageFailure)).toBe(true);
    expect(await durableKeys(disk)).toEqual([]);
  });
});

describe('DocumentStore on a SimDisk that crashes', () => {
  it('keeps every change it acknowledged across a crash, and makes new ones under a new actor id', async () => {
    const { clock, disk } = setup({ writeLatency: { type: 'uniform', minMs: 1, maxMs: 5 } });
    const random = new SeededRandom('store');
    const open = async (): Promise<DocumentStore> => {
      const store = new DocumentStore({ storage: disk.open(clock.scope()), clock, random, logger: silentLogger });
      await clock.runUntilSettled(store.open(), { timeoutMs: 1_000 });
      return store;
    };
    const doc = asDocumentId('res/1');
    const before = await open();
    const actor = before.actorId;
    await clock.runUntilSettled(before.create(doc, { step: 0 }), { timeoutMs: 1_000 });
    const acknowledged = await clock.runUntilSettled(
      before.change(doc, (draft: Record<string, unknown>) => {
        draft['step'] = 1;
      }),
      { timeoutMs: 1_000 },
    );
    const unacknowledged = watch(
      before.change(doc, (draft: Record<string, unknown>) => {
        draft['step'] = 2;
      }),
    );
    disk.crash();
    await clock.runFor(100);
    expect(unacknowledged.settled).toBe(false);

    const after = await open();
    expect(after.actorId).not.toBe(actor);
    expect(after.heads(doc)).toEqual(acknowledged);
    expect(await clock.runUntilSettled(after.read(doc), { timeoutMs: 1_000 })).toEqual({ step: 1 });
  });
});
