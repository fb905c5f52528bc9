import { describe, expect, it } from 'vitest';
import { MemoryLogger } from '../core/logger.js';
import { ManualClock } from './testing/manual-clock.js';
import { PeerWarningLimiter, suppressedWarningsMessage } from './warning-limiter.js';

function setup(options: ConstructorParameters<typeof PeerWarningLimiter>[0] = {}) {
  const clock = new ManualClock();
  const logger = new MemoryLogger();
  const limiter = new PeerWarningLimiter({ burst: 3, windowMs: 10_000, ...options }, { clock, logger });
  const warnings = (): string[] =>
    logger.entries.filter((entry) => entry.message !== suppressedWarningsMessage).map((entry) => entry.message);
  const summaries = () => logger.find(suppressedWarningsMessage).map((entry) => entry.fields);
  return { clock, logger, limiter, warnings, summaries };
}

describe('PeerWarningLimiter', () => {
  it('logs the first warnings of a peer, counts the rest, and sums them up when the window ends', async () => {
    const { clock, limiter, warnings, summaries } = setup();
    for (let index = 0; index < 10; index += 1) limiter.warn('p1', { index }, index % 2 === 0 ? 'even' : 'odd');
    expect(warnings()).toEqual(['even', 'odd', 'even']);
    expect(summaries()).toEqual([]);
    await clock.advance(9_999);
    expect(summaries()).toEqual([]);
    await clock.advance(1);
    expect(summaries()).toEqual([{ peer: 'p1', suppressed: 7, windowMs: 10_000, messages: { odd: 4, even: 3 } }]);
    // A new window: the peer's next warnings are logged again.
    limiter.warn('p1', {}, 'again');
    expect(warnings()).toHaveLength(4);
    expect(limiter.size()).toBe(1);
    await clock.advance(10_000);
    expect(limiter.size()).toBe(0);
    expect(summaries()).toHaveLength(1);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('limits each peer on its own', () => {
    const { limiter, warnings } = setup();
    for (let index = 0; index < 5; index += 1) {
      limiter.warn('p1', {}, 'from p1');
      limiter.warn('p2', {}, 'from p2');
    }
    expect(warnings().filter((message) => message === 'from p1')).toHaveLength(3);
    expect(warnings().filter((message) => message === 'from p2')).toHaveLength(3);
  });

  it('shares one window among peers beyond maxPeers, so made-up peer ids cannot grow it', async () => {
    const { clock, limiter, warnings, summaries } = setup({ maxPeers: 2 });
    for (let index = 0; index < 1_000; index += 1) limiter.warn(`peer-${index}`, {}, 'hello');
    expect(limiter.size()).toBe(3);
    expect(warnings()).toHaveLength(2 + 3);
    await clock.advance(10_000);
    expect(summaries()).toEqual([{ peer: '(other peers)', suppressed: 995, windowMs: 10_000, messages: { hello: 995 } }]);
    expect(limiter.size()).toBe(0);
  });

  it('logs what it owes when stopped, and leaves no timer behind', () => {
    const { clock, limiter, summaries } = setup();
    for (let index = 0; index < 5; index += 1) limiter.warn('p1', {}, 'x');
    expect(clock.pendingTimers()).toBe(1);
    limiter.stop();
    expect(summaries()).toMatchObject([{ peer: 'p1', suppressed: 2 }]);
    expect(clock.pendingTimers()).toBe(0);
    expect(limiter.size()).toBe(0);
  });
});
