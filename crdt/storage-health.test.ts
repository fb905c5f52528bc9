import { describe, expect, it } from 'vitest';
import { CheopsError, ErrorCode } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { ManualClock } from '../p2p/testing/manual-clock.js';
import { MemoryStorage } from './memory-storage.js';
import { MemoryStagingLog, type StagingLog } from './staging-log.js';
import type { Storage } from './storage.js';
import { StorageHealth } from './storage-health.js';

/** A store whose writes fail while `full` is set, counting the writes it is asked for. */
function fullableStore(): { storage: Storage; disk: { full: boolean; writes: number } } {
  const inner = new MemoryStorage();
  const disk = { full: false, writes: 0 };
  const write = <T>(run: () => Promise<T>): Promise<T> => {
    disk.writes += 1;
    return disk.full ? Promise.reject(new CheopsError(ErrorCode.StorageFailure, 'IO error: No space left on device')) : run();
  };
  return {
    disk,
    storage: {
      get: (key) => inner.get(key),
      list: (prefix) => inner.list(prefix),
      close: () => inner.close(),
      put: (key, value) => write(() => inner.put(key, value)),
      delete: (key) => write(() => inner.delete(key)),
      batch: (operations) => write(() => inner.batch(operations)),
      deleteRange: (prefix) => write(() => inner.deleteRange(prefix)),
    },
  };
}

describe('StorageHealth', () => {
  it('probes a store that refused a write every second, and tells its listeners once a write goes through', async () => {
    const clock = new ManualClock();
    const { storage, disk } = fullableStore();
    const changes: boolean[] = [];
    const health = new StorageHealth({ clock, logger: silentLogger, changed: (writable) => changes.push(writable) });
    let backs = 0;
    health.onBack(() => (backs += 1));
    const watched = health.watch(storage);
    disk.full = true;
    await expect(watched.put(['a'], Uint8Array.of(1))).rejects.toThrow(/No space left/);
    expect([health.writable, changes]).toEqual([false, [false]]);
    await clock.advance(3_000);
    expect(disk.writes).toBe(4);
    expect(backs).toBe(0);
    disk.full = false;
    await clock.advance(1_000);
    expect([health.writable, backs, changes]).toEqual([true, 1, [false, true]]);
    // Writable again: no probe more.
    await clock.advance(10_000);
    expect(disk.writes).toBe(5);
    health.stop();
  });

  it('is back with the first write that goes through, before the next probe; a closed store is not a full one', async () => {
    const clock = new ManualClock();
    const { storage, disk } = fullableStore();
    const health = new StorageHealth({ clock, logger: silentLogger });
    let backs = 0;
    health.onBack(() => (backs += 1));
    const watched = health.watch(storage);
    disk.full = true;
    await expect(watched.batch([{ type: 'put', key: ['a'], value: Uint8Array.of(1) }])).rejects.toThrow();
    disk.full = false;
    await watched.delete(['a']);
    expect([health.writable, backs]).toEqual([true, 1]);
    const closed: Storage = { ...storage, put: () => Promise.reject(new CheopsError(ErrorCode.StorageClosed, 'the store is closed')) };
    await expect(health.watch(closed).put(['b'], Uint8Array.of(1))).rejects.toThrow(/closed/);
    expect(health.writable).toBe(true);
    health.stop();
  });

  it('counts a staging log refusing a write as the store refusing it, until the probe sees room', async () => {
    const clock = new ManualClock();
    const { storage, disk } = fullableStore();
    const health = new StorageHealth({ clock, logger: silentLogger });
    health.watch(storage);
    const log = new MemoryStagingLog();
    const refusing: StagingLog = { stage: () => { throw new CheopsError(ErrorCode.StorageFailure, 'IO error: No space left on device'); }, flush: () => Promise.resolve(), settle: () => undefined, leftovers: () => [], forgetLeftovers: () => undefined, close: () => undefined };
    expect(() => health.watchStaging(refusing).stage('mark:a', new Uint8Array(0))).toThrow(/No space left/);
    expect(health.writable).toBe(false);
    await clock.advance(1_000);
    expect([health.writable, disk.writes]).toEqual([true, 1]);
    // Taken: staged in the log it wraps.
    health.watchStaging(log).stage('mark:b', new Uint8Array(0));
    expect(log.reopen().leftovers().map(({ id }) => id)).toEqual(['mark:b']);
    health.stop();
  });
});
