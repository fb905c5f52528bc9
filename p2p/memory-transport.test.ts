import { describe, expect, it } from 'vitest';
import { ErrorCode, isCheopsError } from '../core/errors.js';
import { asPeerIdString } from '../core/ids.js';
import { MemoryLogger } from '../core/logger.js';
import { systemClock, systemRandom } from '../core/system.js';
import { MemoryNetwork, type LinkPolicy } from './memory-network.js';
import { createMemoryTransport } from './memory-transport.js';
import { ManualClock } from './testing/manual-clock.js';
import { bareAddress, record, transportContract } from './transport-contract.js';

transportContract('MemoryTransport', (count) => {
  const network = new MemoryNetwork({}, { clock: systemClock });
  const logger = new MemoryLogger();
  return Promise.all(
    Array.from({ length: count }, async () => {
      const transport = createMemoryTransport({}, { network, random: systemRandom, logger });
      await transport.start();
      return transport;
    }),
  );
});

describe('MemoryNetwork link policy', () => {
  it('delays messages on the injected clock and keeps their order when delays vary', async () => {
    const clock = new ManualClock();
    const delays = [50, 10, 30, 0];
    let next = 0;
    const policy: LinkPolicy = {
      canConnect: () => true,
      decide: () => ({ type: 'deliver', delayMs: delays[next++ % delays.length] ?? 0 }),
    };
    const network = new MemoryNetwork({ linkPolicy: policy }, { clock });
    const deps = { network, random: systemRandom, logger: new MemoryLogger() };
    const a = createMemoryTransport({ name: 'a' }, deps);
    const b = createMemoryTransport({ name: 'b' }, deps);
    await a.start();
    await b.start();
    const logB = record(b);
    await a.dial('/memory/b');
    for (let index = 0; index < 4; index += 1) await a.send(b.peerId, 'c', new Uint8Array([index]));
    await clock.advance(49);
    expect(logB.messages).toEqual([]);
    await clock.advance(1);
    expect(logB.messages.map((m) => m.data[0])).toEqual([0, 1, 2, 3]);
    await a.stop();
    await b.stop();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('refuses connections the policy cuts, and loses messages in flight on hangUp', async () => {
    const clock = new ManualClock();
    let open = true;
    const network = new MemoryNetwork(
      { linkPolicy: { canConnect: () => open, decide: () => ({ type: 'deliver', delayMs: 100 }) } },
      { clock },
    );
    const deps = { network, random: systemRandom, logger: new MemoryLogger() };
    const a = createMemoryTransport({ name: 'a', peerId: asPeerIdString('peer-a') }, deps);
    const b = createMemoryTransport({ name: 'b', peerId: asPeerIdString('peer-b') }, deps);
    await a.start();
    await b.start();
    const logB = record(b);
    expect(a.addresses()).toEqual(['/memory/a/p2p/peer-a']);
    expect(await a.dial('/memory/b/p2p/peer-b')).toBe('peer-b');
    await a.send(b.peerId, 'c', new Uint8Array([1]));
    await a.hangUp(b.peerId);
    await clock.advance(200);
    expect(logB.messages).toEqual([]);
    open = false;
    const error: unknown = await a.dial(bareAddress(b)).catch((e: unknown) => e);
    expect(isCheopsError(error, ErrorCode.SiteUnreachable)).toBe(true);
    const wrongId: unknown = await a.dial('/memory/b/p2p/someone-else').catch((e: unknown) => e);
    expect(isCheopsError(wrongId, ErrorCode.SiteUnreachable)).toBe(true);
  });
});
