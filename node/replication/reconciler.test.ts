import { describe, expect, it } from 'vitest';
import { asDocumentId } from '../../core/ids.js';
import { silentLogger } from '../../core/logger.js';
import { flushMicrotasks, ManualClock } from '../../p2p/testing/manual-clock.js';
import { seededRandom } from '../../crdt/test-helpers.js';
import { backlogSettleMs, maxYieldMs, Reconciler, type PassResult } from './reconciler.js';

const docA = asDocumentId('res/a');
const docB = asDocumentId('res/b');

function setup(results: PassResult[], concurrency = 8): { reconciler: Reconciler; clock: ManualClock; runs: string[]; release: () => void } {
  const clock = new ManualClock();
  const runs: string[] = [];
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => undefined;
  const reconciler = new Reconciler(
    { concurrency, retryBaseMs: 1_000, retryMaxMs: 60_000 },
    {
      pass: async (docId) => {
        runs.push(docId);
        await gate;
        return results.shift() ?? 'done';
      },
      clock,
      random: seededRandom(1),
      logger: silentLogger,
    },
  );
  const hold = (): void => {
    gate = new Promise((resolve) => {
      open = resolve;
    });
  };
  hold();
  return { reconciler, clock, runs, release: () => open() };
}

describe('Reconciler', () => {
  it('runs nothing before start, then one pass per document, and one more for a trigger during a pass', async () => {
    const { reconciler, runs, release } = setup([]);
    reconciler.schedule(docA);
    reconciler.schedule(docA);
    expect(runs).toEqual([]);
    reconciler.start();
    expect(runs).toEqual([docA]);
    reconciler.schedule(docA);
    reconciler.schedule(docA);
    release();
    await reconciler.idle();
    expect(runs).toEqual([docA, docA]);
  });

  it('says whether a document\'s next pass waits behind others', async () => {
    const { reconciler, release } = setup([], 1);
    reconciler.start();
    reconciler.schedule(docA);
    reconciler.schedule(docB);
    // a runs at once; b is queued behind it.
    expect([reconciler.isWaiting(docA), reconciler.isWaiting(docB)]).toEqual([false, true]);
    reconciler.schedule(docA);
    // Triggered while it runs: it passes again, after b.
    expect(reconciler.isWaiting(docA)).toBe(true);
    release();
    await reconciler.idle();
    expect([reconciler.isWaiting(docA), reconciler.isWaiting(docB)]).toEqual([false, false]);
  });

  it('bounds the passes running at once', async () => {
    const { reconciler, runs, release } = setup([], 1);
    reconciler.start();
    reconciler.schedule(docA);
    reconciler.schedule(docB);
    expect(runs).toEqual([docA]);
    release();
    await reconciler.idle();
    expect(runs).toEqual([docA, docB]);
  });

  it('retries a failed pass after a capped, growing backoff; a new trigger runs it at once', async () => {
    const { reconciler, clock, runs, release } = setup(['retry', 'retry', 'retry', 'done']);
    release();
    reconciler.start();
    reconciler.schedule(docA);
    await reconciler.idle();
    expect(runs).toHaveLength(1);
    expect(reconciler.retrying()).toBe(1);
    await clock.advance(999);
    // The first retry waits between half the base and the base.
    await clock.advance(1);
    await reconciler.idle();
    expect(runs).toHaveLength(2);
    await clock.advance(2_000);
    await reconciler.idle();
    expect(runs).toHaveLength(3);
    reconciler.schedule(docA);
    await reconciler.idle();
    expect(runs).toHaveLength(4);
    expect(reconciler.retrying()).toBe(0);
    await reconciler.stop();
  });

  it('runs every waiting retry at once when told what they waited for is back, their backoff started over', async () => {
    const { reconciler, clock, runs, release } = setup(['retry', 'retry', 'retry', 'retry', 'retry', 'done', 'done', 'retry', 'done']);
    release();
    reconciler.start();
    reconciler.schedule(docA);
    await reconciler.idle();
    for (let step = 0; step < 4; step += 1) {
      await clock.advance(2 ** step * 1_000);
      await reconciler.idle();
    }
    expect(runs).toHaveLength(5);
    reconciler.schedule(docB);
    await reconciler.idle();
    expect(reconciler.retrying()).toBe(1);
    reconciler.retryNow();
    await reconciler.idle();
    // a ran again at once (its next try was up to 16 s off); b, done, is not run.
    expect(runs).toEqual([docA, docA, docA, docA, docA, docB, docA]);
    expect(reconciler.retrying()).toBe(0);
    // Its one failure since starts the backoff over: back within the base.
    const again = [...runs];
    reconciler.schedule(docA);
    await reconciler.idle();
    expect(reconciler.retrying()).toBe(1);
    await clock.advance(1_000);
    await reconciler.idle();
    expect(runs).toEqual([...again, docA, docA]);
    await reconciler.stop();
  });
});

describe('Reconciler giving way', () => {
  it('holds passes while more urgent work runs, and runs them once it is over or after maxYieldMs', async () => {
    const clock = new ManualClock();
    const runs: string[] = [];
    let busy = true;
    const reconciler = new Reconciler(
      { concurrency: 8, retryBaseMs: 1_000, retryMaxMs: 60_000 },
      {
        pass: (docId) => {
          runs.push(docId);
          return Promise.resolve('done');
        },
        yieldTo: () => busy,
        clock,
        random: seededRandom(1),
        logger: silentLogger,
      },
    );
    reconciler.start();
    reconciler.schedule(docA);
    await clock.advance(500);
    expect(runs).toEqual([]);
    busy = false;
    await clock.advance(50);
    expect(runs).toEqual([docA]);

    busy = true;
    reconciler.schedule(docB);
    await clock.advance(maxYieldMs - 100);
    expect(runs).toEqual([docA]);
    await clock.advance(200);
    expect(runs).toEqual([docA, docB]);
    await reconciler.stop();
  });

  it('is in a backlog from a pass that waits for a slot until nothing has run or waited for backlogSettleMs', async () => {
    const clock = new ManualClock();
    const finishes: Array<() => void> = [];
    const reconciler = new Reconciler(
      { concurrency: 1, retryBaseMs: 1_000, retryMaxMs: 60_000 },
      {
        pass: () => new Promise<PassResult>((resolve) => finishes.push(() => resolve('done'))),
        clock,
        random: seededRandom(1),
        logger: silentLogger,
      },
    );
    let ended = 0;
    reconciler.onBacklogEnded(() => {
      ended += 1;
    });
    const finishNext = async (): Promise<void> => {
      finishes.shift()?.();
      await flushMicrotasks();
    };
    reconciler.start();
    reconciler.schedule(docA);
    // A pass that runs at once is no backlog: an everyday write.
    expect(reconciler.inBacklog()).toBe(false);
    await finishNext();
    await clock.advance(backlogSettleMs * 2);
    expect([reconciler.inBacklog(), ended]).toEqual([false, 0]);

    reconciler.schedule(docA);
    reconciler.schedule(docB);
    expect(reconciler.inBacklog()).toBe(true);
    await finishNext();
    await finishNext();
    await reconciler.idle();
    await clock.advance(backlogSettleMs - 10);
    expect(reconciler.inBacklog()).toBe(true);
    // Work within the settle time (a heal's next batch of documents) keeps the backlog going.
    reconciler.schedule(docA);
    await finishNext();
    await clock.advance(backlogSettleMs - 10);
    expect([reconciler.inBacklog(), ended]).toEqual([true, 0]);
    await clock.advance(10);
    expect([reconciler.inBacklog(), ended]).toEqual([false, 1]);

    // Stopping ends a backlog too.
    reconciler.schedule(docA);
    reconciler.schedule(docB);
    expect(reconciler.inBacklog()).toBe(true);
    const stopped = reconciler.stop();
    expect([reconciler.inBacklog(), ended]).toEqual([false, 2]);
    await finishNext();
    await stopped;
  });
});
