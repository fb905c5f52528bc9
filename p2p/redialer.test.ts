import { describe, expect, it } from 'vitest';
import { asPeerIdString } from '../core/ids.js';
import { MemoryLogger } from '../core/logger.js';
import { systemRandom } from '../core/system.js';
import { MemoryNetwork } from './memory-network.js';
import { createMemoryTransport, type MemoryTransport } from './memory-transport.js';
import { createRedialer } from './redialer.js';
import { ManualClock } from './testing/manual-clock.js';

function setup() {
  const clock = new ManualClock();
  const network = new MemoryNetwork({}, { clock });
  const logger = new MemoryLogger();
  const make = (name: string): MemoryTransport =>
    createMemoryTransport({ name, peerId: asPeerIdString(`peer-${name}`) }, { network, random: systemRandom, logger });
  return { clock, network, logger, make };
}

describe('Redialer', () => {
  it('keeps dialling an address until a peer answers, with capped backoff, and learns its id', async () => {
    const { clock, make, logger } = setup();
    const a = make('a');
    await a.start();
    const attempts: number[] = [];
    const dial = a.dial.bind(a);
    a.dial = (address, signal) => {
      attempts.push(clock.now());
      return dial(address, signal);
    };
    const redialer = createRedialer({}, { transport: a, clock, random: systemRandom, logger });
    redialer.add('/memory/b');
    redialer.start();
    await clock.advance(20_000);
    expect(attempts.length).toBeGreaterThanOrEqual(10);
    const gaps = attempts.slice(1).map((at, index) => at - (attempts[index] ?? 0));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2_000);
    expect(redialer.list()).toMatchObject([{ address: '/memory/b', peer: undefined, connected: false }]);

    const b = make('b');
    await b.start();
    await clock.advance(2_000);
    expect(a.connectedPeers()).toEqual([b.peerId]);
    expect(redialer.list()).toEqual([{ address: '/memory/b', peer: b.peerId, failures: 0, connected: true }]);
    const settled = attempts.length;
    await clock.advance(10_000);
    expect(attempts.length).toBe(settled);
    redialer.stop();
    await a.stop();
    await b.stop();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('reconnects a restarted peer within 5 s', async () => {
    const { clock, make, logger } = setup();
    const a = make('a');
    const b = make('b');
    await a.start();
    await b.start();
    const redialer = createRedialer({}, { transport: a, clock, random: systemRandom, logger });
    redialer.add('/memory/b/p2p/peer-b', b.peerId);
    redialer.start();
    await clock.advance(10);
    expect(a.connectedPeers()).toEqual([b.peerId]);

    await b.stop();
    expect(a.connectedPeers()).toEqual([]);
    await clock.advance(3_000);
    const restarted = make('b');
    await restarted.start();
    const backAt = clock.now();
    while (a.connectedPeers().length === 0 && clock.now() - backAt < 10_000) await clock.advance(50);
    expect(a.connectedPeers()).toEqual([restarted.peerId]);
    expect(clock.now() - backAt).toBeLessThanOrEqual(2_100);
    redialer.stop();
    await a.stop();
    await restarted.stop();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('stops redialling a removed address, and stops cleanly while a dial is pending', async () => {
    const { clock, make, logger } = setup();
    const a = make('a');
    await a.start();
    let pending = 0;
    a.dial = (_address, signal) =>
      new Promise((_resolve, reject) => {
        pending += 1;
        signal?.addEventListener('abort', () => {
          pending -= 1;
          reject(new Error('aborted'));
        });
      });
    const redialer = createRedialer({ dialTimeoutMs: 60_000 }, { transport: a, clock, random: systemRandom, logger });
    redialer.add('/memory/x');
    redialer.add('/memory/y');
    redialer.start();
    await clock.advance(10);
    expect(pending).toBe(2);
    redialer.remove('/memory/x');
    expect(pending).toBe(1);
    redialer.stop();
    await clock.advance(10);
    expect(pending).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });
});
