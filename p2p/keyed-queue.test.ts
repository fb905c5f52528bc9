import { describe, expect, it } from 'vitest';
import { MemoryLogger } from '../core/logger.js';
import { KeyedQueue } from './keyed-queue.js';

describe('KeyedQueue', () => {
  it('runs the tasks of a key in order, says when the key is idle, and forgets it', async () => {
    const idle: string[] = [];
    const queue = new KeyedQueue<string>(new MemoryLogger(), (key) => idle.push(key));
    const order: string[] = [];
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    void queue.run('a', async () => {
      await gate;
      order.push('a1');
    });
    void queue.run('a', () => {
      order.push('a2');
      return Promise.resolve();
    });
    void queue.run('b', () => {
      order.push('b1');
      return Promise.resolve();
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['b1']);
    expect(idle).toEqual(['b']);
    expect(queue.busy('a')).toBe(true);
    release();
    await queue.idle();
    expect(order).toEqual(['b1', 'a1', 'a2']);
    expect(idle).toEqual(['b', 'a']);
    expect(queue.busy('a')).toBe(false);
  });

  it('logs a task that throws, and an idle callback that throws, and goes on', async () => {
    const logger = new MemoryLogger();
    const queue = new KeyedQueue<string>(logger, () => {
      throw new Error('idle broke');
    });
    await queue.run('a', () => Promise.reject(new Error('task broke')));
    await queue.run('a', () => Promise.resolve());
    await queue.idle();
    expect(logger.find('queued task failed')).toHaveLength(1);
    expect(logger.find('idle callback failed').length).toBeGreaterThanOrEqual(1);
  });
});
