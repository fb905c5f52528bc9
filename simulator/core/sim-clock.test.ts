import { describe, expect, it } from 'vitest';
import { sleep } from '../../core/clock.js';
import { SeededRandom } from './seeded-random.js';
import { SimClock, SimulationStalledError, TimerCallbackError } from './sim-clock.js';

describe('SimClock', () => {
  it('starts at a fixed date and moves only when run', async () => {
    const clock = new SimClock();
    expect(new Date(clock.now()).toISOString()).toBe('2026-01-01T00:00:00.000Z');
    await clock.runFor(1_500);
    expect(clock.elapsedMs()).toBe(1_500);
  });

  it('fires timers by time, and timers due at the same time in the order they were set', async () => {
    const clock = new SimClock({ startMs: 0 });
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('c@20'), 20);
    clock.setTimeout(() => fired.push('a@10'), 10);
    clock.setTimeout(() => fired.push('b@10'), 10);
    clock.setTimeout(() => fired.push('d@0.5'), 0.5);
    clock.setTimeout(() => fired.push('e@now'), -3);
    await clock.runFor(100);
    expect(fired).toEqual(['e@now', 'd@0.5', 'a@10', 'b@10', 'c@20']);
  });

  it('keeps the same-time order through many pushes and pops (the heap shape does not matter)', async () => {
    const clock = new SimClock({ startMs: 0 });
    const random = new SeededRandom('heap');
    const expected: Array<[number, number]> = [];
    const fired: Array<[number, number]> = [];
    for (let index = 0; index < 500; index += 1) {
      const at = random.int(20);
      expected.push([at, index]);
      clock.setTimeout(() => fired.push([at, index]), at);
    }
    await clock.runFor(100);
    expected.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(fired).toEqual(expected);
  });

  it('repeats intervals, and an interval cancelled from its own callback stops', async () => {
    const clock = new SimClock({ startMs: 0 });
    const ticks: number[] = [];
    const timer = clock.setInterval(() => {
      ticks.push(clock.now());
      if (ticks.length === 3) timer.cancel();
    }, 100);
    await clock.runFor(1_000);
    expect(ticks).toEqual([100, 200, 300]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('cancels before firing; cancelling twice or after firing is harmless', async () => {
    const clock = new SimClock({ startMs: 0 });
    let fired = 0;
    const once = clock.setTimeout(() => (fired += 1), 10);
    const cancelled = clock.setTimeout(() => (fired += 100), 10);
    cancelled.cancel();
    cancelled.cancel();
    expect(clock.pendingTimers()).toBe(1);
    await clock.runFor(20);
    once.cancel();
    expect(fired).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('drains promise chains, microtasks and next-tick callbacks before the next event', async () => {
    const clock = new SimClock({ startMs: 0 });
    const order: string[] = [];
    clock.setTimeout(() => {
      void (async () => {
        for (let step = 0; step < 50; step += 1) await Promise.resolve();
        await new Promise<void>((resolve) => process.nextTick(resolve));
        queueMicrotask(() => order.push('a: chain done'));
      })();
    }, 10);
    clock.setTimeout(() => order.push('b: next event at the same instant'), 10);
    await clock.runFor(10);
    expect(order).toEqual(['a: chain done', 'b: next event at the same instant']);
  });

  it('runs async code that sleeps on it, as production code does', async () => {
    const clock = new SimClock({ startMs: 0 });
    const seen: number[] = [];
    const work = (async () => {
      for (let index = 0; index < 3; index += 1) {
        await sleep(clock, 250);
        seen.push(clock.now());
      }
      return 'done';
    })();
    expect(await clock.runUntilSettled(work, { timeoutMs: 10_000 })).toBe('done');
    expect(seen).toEqual([250, 500, 750]);
    expect(clock.now()).toBe(750);
  });

  it('says a run is stalled when the awaited work can never settle or takes too long', async () => {
    const clock = new SimClock({ startMs: 0 });
    await expect(clock.runUntilSettled(new Promise(() => undefined), { timeoutMs: 1_000 })).rejects.toBeInstanceOf(SimulationStalledError);
    clock.setInterval(() => undefined, 100);
    await expect(clock.runUntilSettled(new Promise(() => undefined), { timeoutMs: 1_000 })).rejects.toThrow(/within 1000 ms/);
    expect(clock.now()).toBe(1_000);
  });

  it('passes a rejection of the awaited work through', async () => {
    const clock = new SimClock({ startMs: 0 });
    const failing = sleep(clock, 10).then(() => {
      throw new Error('boom');
    });
    await expect(clock.runUntilSettled(failing, { timeoutMs: 100 })).rejects.toThrow('boom');
  });

  it('runs until a condition holds, or answers false at the deadline', async () => {
    const clock = new SimClock({ startMs: 0 });
    let count = 0;
    clock.setInterval(() => (count += 1), 10);
    expect(await clock.runUntilTrue(() => count >= 5, { timeoutMs: 1_000 })).toBe(true);
    expect(clock.now()).toBe(50);
    expect(await clock.runUntilTrue(() => count >= 1_000, { timeoutMs: 200 })).toBe(false);
    expect(clock.now()).toBe(250);
  });

  it('reports a throwing timer callback as a crash at its virtual time', async () => {
    const clock = new SimClock({ startMs: 0 });
    clock.setTimeout(() => {
      throw new Error('bug');
    }, 42);
    const error: unknown = await clock.runFor(100).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TimerCallbackError);
    expect((error as TimerCallbackError).atMs).toBe(42);
  });

  it('stops a zero-delay loop instead of spinning forever', async () => {
    const clock = new SimClock({ startMs: 0, maxEventsPerInstant: 1_000 });
    const again = (): void => {
      clock.setTimeout(again, 0);
    };
    again();
    await expect(clock.runFor(10)).rejects.toThrow(/live-lock/);
  });

  it('gives each process a scope with its own skew, whose kill cancels only its timers', async () => {
    const clock = new SimClock({ startMs: 0 });
    const process = clock.scope({ skewMs: -250 });
    const other = clock.scope();
    const fired: string[] = [];
    process.setTimeout(() => fired.push('dead'), 10);
    process.setInterval(() => fired.push('dead tick'), 5);
    other.setTimeout(() => fired.push('alive'), 10);
    expect(process.now()).toBe(-250);
    expect(process.pendingTimers()).toBe(2);
    process.kill();
    process.setTimeout(() => fired.push('after death'), 1);
    expect(process.alive).toBe(false);
    expect(clock.pendingTimers()).toBe(1);
    await clock.runFor(100);
    expect(fired).toEqual(['alive']);
  });

  it('fires the same events in the same order for the same schedule (determinism)', async () => {
    const run = async (): Promise<string[]> => {
      const clock = new SimClock({ startMs: 0 });
      const random = new SeededRandom(7);
      const log: string[] = [];
      const spawn = (depth: number, name: string): void => {
        clock.setTimeout(() => {
          log.push(`${clock.now().toFixed(3)} ${name}`);
          if (depth < 4) for (let child = 0; child < 3; child += 1) spawn(depth + 1, `${name}.${child}`);
        }, random.float() * 10);
      };
      spawn(0, 'root');
      await clock.runFor(1_000);
      return log;
    };
    const first = await run();
    expect(first).toHaveLength(1 + 3 + 9 + 27 + 81);
    expect(await run()).toEqual(first);
  });
});
