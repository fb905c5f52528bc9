import { encode } from 'cborg';
import { describe, expect, it } from 'vitest';
import { MemoryLogger } from '../core/logger.js';
import { systemRandom } from '../core/system.js';
import { encodeHeartbeatMessage, heartbeatChannel } from './heartbeat-messages.js';
import { createHeartbeats, type Heartbeats, type PeerLivenessEvent } from './heartbeat.js';
import { MemoryNetwork } from './memory-network.js';
import { createMemoryTransport, type MemoryTransport } from './memory-transport.js';
import { ManualClock } from './testing/manual-clock.js';

interface Node {
  readonly transport: MemoryTransport;
  readonly heartbeats: Heartbeats;
  readonly logger: MemoryLogger;
  readonly ups: PeerLivenessEvent[];
  readonly downs: PeerLivenessEvent[];
}

async function setup(): Promise<{ clock: ManualClock; a: Node; b: Node; link: { cut: boolean; delayMs: number } }> {
  const clock = new ManualClock();
  const link = { cut: false, delayMs: 20 };
  const network = new MemoryNetwork(
    {
      linkPolicy: {
        canConnect: () => true,
        decide: () => (link.cut ? { type: 'drop' } : { type: 'deliver', delayMs: link.delayMs }),
      },
    },
    { clock },
  );
  const make = async (name: string): Promise<Node> => {
    const logger = new MemoryLogger();
    const transport = createMemoryTransport({ name }, { network, random: systemRandom, logger });
    await transport.start();
    const heartbeats = createHeartbeats({}, { transport, clock, logger });
    const node: Node = { transport, heartbeats, logger, ups: [], downs: [] };
    heartbeats.on('peer:up', (event) => node.ups.push(event));
    heartbeats.on('peer:down', (event) => node.downs.push(event));
    heartbeats.start();
    return node;
  };
  return { clock, a: await make('a'), b: await make('b'), link };
}

describe('Heartbeats', () => {
  it('marks a peer up on its first pong and measures the RTT', async () => {
    const { clock, a, b } = await setup();
    expect(a.heartbeats.peers()).toEqual([]);
    await a.transport.dial('/memory/b');
    await clock.advance(39);
    expect(a.ups).toEqual([]);
    await clock.advance(1);
    expect(a.ups).toEqual([{ peer: b.transport.peerId, rttMs: 40 }]);
    expect(b.ups).toEqual([{ peer: a.transport.peerId, rttMs: 40 }]);
    expect(a.heartbeats.peer(b.transport.peerId)).toMatchObject({ state: 'up', rttMs: 40, lastRttMs: 40 });
    await clock.advance(5_000);
    expect(a.ups).toHaveLength(1);
    expect(a.downs).toEqual([]);
  });

  it('smooths the RTT and keeps the last sample', async () => {
    const { clock, a, b, link } = await setup();
    await a.transport.dial('/memory/b');
    await clock.advance(100);
    link.delayMs = 70;
    await clock.advance(1_100);
    const status = a.heartbeats.peer(b.transport.peerId);
    expect(status?.lastRttMs).toBe(140);
    expect(status?.rttMs).toBeCloseTo(40 + 0.2 * (140 - 40), 5);
  });

  it('marks a silent peer down within downAfterMs plus one interval, and up again when it answers', async () => {
    const { clock, a, b, link } = await setup();
    await a.transport.dial('/memory/b');
    await clock.advance(100);
    link.cut = true;
    const cutAt = clock.now();
    await clock.advance(3_000);
    expect(a.downs).toEqual([]);
    await clock.advance(1_000);
    expect(a.downs).toEqual([{ peer: b.transport.peerId, rttMs: 40 }]);
    expect(a.heartbeats.peer(b.transport.peerId)).toMatchObject({ state: 'down' });
    expect(clock.now() - cutAt).toBeLessThanOrEqual(5_000);
    link.cut = false;
    await clock.advance(1_000);
    expect(a.ups).toHaveLength(2);
    expect(a.heartbeats.peer(b.transport.peerId)?.state).toBe('up');
  });

  it('marks a peer down at once when the transport disconnects, and up soon after a redial', async () => {
    const { clock, a, b } = await setup();
    await a.transport.dial('/memory/b');
    await clock.advance(100);
    await b.transport.hangUp(a.transport.peerId);
    expect(a.downs.map((event) => event.peer)).toEqual([b.transport.peerId]);
    expect(b.downs.map((event) => event.peer)).toEqual([a.transport.peerId]);
    await clock.advance(5_000);
    expect(a.downs).toHaveLength(1);
    await b.transport.dial('/memory/a');
    await clock.advance(40);
    expect(a.ups).toHaveLength(2);
    expect(b.ups).toHaveLength(2);
  });

  it('drops malformed heartbeats and forged pongs, logging them, without crashing', async () => {
    const { clock, a, b } = await setup();
    await a.transport.dial('/memory/b');
    await clock.advance(100);
    const garbage = [
      new Uint8Array([1, 2, 3]),
      new Uint8Array(0),
      encode({ type: 'ping', v: 1, seq: -1, sentAt: 0 }),
      encode({ type: 'pong', v: 9, seq: 1, sentAt: 0 }),
      encode({ type: 'hello', v: 1 }),
      encode({ type: 'ping', v: 1, seq: 'x', sentAt: 0 }),
      encode('ping'),
    ];
    for (const bytes of garbage) await b.transport.send(a.transport.peerId, heartbeatChannel, bytes);
    await b.transport.send(
      a.transport.peerId,
      heartbeatChannel,
      encodeHeartbeatMessage({ type: 'pong', v: 1, seq: 123_456, sentAt: clock.now() }),
    );
    await clock.advance(100);
    expect(a.logger.find('dropped a malformed heartbeat')).toHaveLength(garbage.length);
    expect(a.logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
    expect(a.heartbeats.peer(b.transport.peerId)).toMatchObject({ state: 'up', rttMs: 40 });
  });

  it('lists tracked peers as down until they answer, and stops cleanly', async () => {
    const { clock, a, b } = await setup();
    a.heartbeats.track(b.transport.peerId);
    expect(a.heartbeats.peers()).toMatchObject([{ peer: b.transport.peerId, state: 'down', rttMs: undefined }]);
    a.heartbeats.stop();
    b.heartbeats.stop();
    expect(clock.pendingTimers()).toBe(0);
  });
});
