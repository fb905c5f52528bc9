import { describe, expect, it } from 'vitest';
import type { ResourceKey } from '../../core/ids.js';
import { KeyLocks } from './key-locks.js';

const a: ResourceKey = { app: 'kubernetes', service: 'pods', namespace: 'default', name: 'a' };
const b: ResourceKey = { ...a, name: 'b' };

describe('KeyLocks', () => {
  it('runs the holders of one key one after the other, in order, and other keys alongside', async () => {
    const locks = new KeyLocks();
    const events: string[] = [];
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const first = locks.run(a, async () => {
      events.push('a1 start');
      await gate;
      events.push('a1 end');
    });
    const second = locks.run(a, () => {
      events.push('a2');
      return Promise.resolve();
    });
    const other = locks.run(b, () => {
      events.push('b');
      return Promise.resolve();
    });
    await other;
    expect(events).toEqual(['a1 start', 'b']);
    open();
    await Promise.all([first, second]);
    expect(events).toEqual(['a1 start', 'b', 'a1 end', 'a2']);
    expect(locks.size).toBe(0);
  });

  it('releases the lock when the work fails', async () => {
    const locks = new KeyLocks();
    await expect(locks.run(a, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(locks.run(a, () => Promise.resolve(7))).resolves.toBe(7);
    expect(locks.size).toBe(0);
  });
});
