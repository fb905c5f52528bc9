import { describe, expect, it } from 'vitest';
import { ErrorCode, isCheopsError } from '../../core/errors.js';
import { asPeerIdString } from '../../core/ids.js';
import { silentLogger } from '../../core/logger.js';
import { systemClock } from '../../core/system.js';
import { createMemoryTransport, type MemoryTransport } from '../../p2p/memory-transport.js';
import { createRedialer } from '../../p2p/redialer.js';
import { transportContract } from '../../p2p/transport-contract.js';
import { SeededRandom } from '../core/seeded-random.js';
import { SimClock } from '../core/sim-clock.js';
import { Trace } from '../core/trace.js';
import { perfectLink, type LinkProfile } from './link-profile.js';
import { SimNetwork } from './sim-network.js';

transportContract('MemoryTransport on SimNetwork', (count) => {
  const network = new SimNetwork({ link: perfectLink }, { clock: systemClock, random: new SeededRandom('contract') });
  return Promise.all(
    Array.from({ length: count }, async () => {
      const transport = createMemoryTransport({}, { network, random: new SeededRandom(`t${Math.random()}`), logger: silentLogger });
      await transport.start();
      return transport;
    }),
  );
});

interface Arrival {
  readonly atMs: number;
  readonly value: number;
}

interface Net {
  readonly clock: SimClock;
  readonly network: SimNetwork;
  readonly trace: Trace;
  readonly a: MemoryTransport;
  readonly b: MemoryTransport;
  readonly c: MemoryTransport;
  /** What b received directly and by gossip, with arrival times. */
  readonly atB: { direct: Arrival[]; gossip: Arrival[]; disconnects: number };
  readonly atA: { direct: Arrival[] };
}

async function setup(link: Partial<LinkProfile>, seed = 'net'): Promise<Net> {
  const clock = new SimClock({ startMs: 0 });
  const trace = new Trace(clock);
  const network = new SimNetwork({ link, stallTimeoutMs: 5_000 }, { clock, random: new SeededRandom(seed), trace });
  const make = async (name: string): Promise<MemoryTransport> => {
    const transport = createMemoryTransport({ peerId: asPeerIdString(name), name }, { network, random: new SeededRandom(name), logger: silentLogger });
    await transport.start();
    transport.subscribe(`inbox/${name}`);
    return transport;
  };
  const [a, b, c] = [await make('a'), await make('b'), await make('c')];
  const atB = { direct: [] as Arrival[], gossip: [] as Arrival[], disconnects: 0 };
  const atA = { direct: [] as Arrival[] };
  b.on('message', (event) => atB.direct.push({ atMs: clock.now(), value: event.data[0] ?? -1 }));
  b.on('gossip', (event) => atB.gossip.push({ atMs: clock.now(), value: event.data[0] ?? -1 }));
  b.on('peer:disconnect', () => (atB.disconnects += 1));
  a.on('message', (event) => atA.direct.push({ atMs: clock.now(), value: event.data[0] ?? -1 }));
  await a.dial('/memory/b');
  return { clock, network, trace, a, b, c, atB, atA };
}

async function sendAll(net: Net, count: number, gapMs = 1): Promise<void> {
  for (let value = 0; value < count; value += 1) {
    await net.a.send(net.b.peerId, 'test', Uint8Array.of(value));
    await net.clock.runFor(gapMs);
  }
}

const values = (arrivals: readonly Arrival[]): number[] => arrivals.map((arrival) => arrival.value);
const range = (count: number): number[] => Array.from({ length: count }, (_, index) => index);

describe('SimNetwork latency', () => {
  it('delays each message by its link latency', async () => {
    const net = await setup({ latency: { type: 'fixed', ms: 30 } });
    await net.a.send(net.b.peerId, 'test', Uint8Array.of(7));
    await net.clock.runFor(29);
    expect(net.atB.direct).toEqual([]);
    await net.clock.runFor(1);
    expect(net.atB.direct).toEqual([{ atMs: 30, value: 7 }]);
  });

  it('keeps a connection first-in first-out whatever the delays drawn (a stream does not reorder)', async () => {
    const net = await setup({ latency: { type: 'uniform', minMs: 1, maxMs: 100 } });
    await sendAll(net, 100);
    await net.clock.runFor(200);
    expect(values(net.atB.direct)).toEqual(range(100));
    const times = net.atB.direct.map((arrival) => arrival.atMs);
    expect(times).toEqual([...times].sort((x, y) => x - y));
  });

  it('gives each direction of each link its own stream of delays', async () => {
    const net = await setup({ latency: { type: 'long-tail', medianMs: 20, p99Ms: 200 } });
    await net.a.send(net.b.peerId, 'test', Uint8Array.of(1));
    await net.b.send(net.a.peerId, 'test', Uint8Array.of(2));
    await net.clock.runFor(1_000);
    expect(net.atB.direct[0]?.atMs).not.toBe(net.atA.direct[0]?.atMs);
  });
});

describe('SimNetwork loss on a connection', () => {
  it('turns packet loss into retransmission delay, in order and without a gap', async () => {
    const net = await setup({ latency: { type: 'fixed', ms: 10 }, loss: 0.3, retransmitMs: 200, maxRetransmits: 50 });
    await sendAll(net, 60);
    await net.clock.runFor(60_000);
    expect(values(net.atB.direct)).toEqual(range(60));
    expect(net.network.stats().retransmits).toBeGreaterThan(5);
    expect(net.atB.direct.some((arrival, index) => arrival.atMs - index >= 210)).toBe(true);
    expect(net.atB.disconnects).toBe(0);
  });

  it('models a reset: the message and the rest of the connection are lost, both ends see it close', async () => {
    const net = await setup({ latency: { type: 'fixed', ms: 10 } });
    await sendAll(net, 3);
    net.network.setLink(net.a.peerId, net.b.peerId, { reset: 1 }, { oneWay: true });
    await sendAll(net, 2);
    await net.b.send(net.a.peerId, 'test', Uint8Array.of(99));
    await net.clock.runFor(100);
    expect(values(net.atB.direct)).toEqual([0, 1, 2]);
    expect(net.atA.direct).toEqual([]);
    expect(net.atB.disconnects).toBe(1);
    expect(net.a.connectedPeers()).toEqual([]);
    expect(net.trace.events(['net:reset', 'net:disconnect']).map((event) => event.kind)).toEqual(['net:reset', 'net:disconnect']);
  });

  it('gives up a connection after too many retransmissions of one message', async () => {
    const net = await setup({ latency: { type: 'fixed', ms: 10 }, loss: 1, maxRetransmits: 3 });
    await sendAll(net, 1);
    // Noticed once the backoff ran out: 10 + 200 + 400 + 800 ms after the send.
    await net.clock.runFor(1_400);
    expect(net.atB.disconnects).toBe(0);
    await net.clock.runFor(20);
    expect(net.atB.disconnects).toBe(1);
    expect(net.atB.direct).toEqual([]);
    expect(net.trace.events(['net:disconnect'])[0]?.data['reason']).toBe('retransmits');
  });
});

describe('SimNetwork gossip', () => {
  const publishAll = async (net: Net, count: number): Promise<void> => {
    for (let value = 0; value < count; value += 1) {
      await net.a.publish('inbox/b', Uint8Array.of(value));
      await net.clock.runFor(1);
    }
  };

  it('reorders gossip: each message takes its own path', async () => {
    const net = await setup({ latency: { type: 'uniform', minMs: 1, maxMs: 50 }, reorder: 0.3 });
    await publishAll(net, 100);
    await net.clock.runFor(500);
    const received = values(net.atB.gossip);
    expect([...received].sort((x, y) => x - y)).toEqual(range(100));
    expect(received).not.toEqual(range(100));
  });

  it('duplicates gossip, or loses it, and only for subscribers', async () => {
    const doubled = await setup({ latency: { type: 'fixed', ms: 5 }, duplicate: 1 });
    await publishAll(doubled, 10);
    await doubled.clock.runFor(100);
    expect(doubled.atB.gossip).toHaveLength(20);
    expect(doubled.network.stats().gossipDuplicated).toBe(10);

    const lossy = await setup({ latency: { type: 'fixed', ms: 5 }, loss: 1 });
    await publishAll(lossy, 10);
    await lossy.a.publish('inbox/nobody', Uint8Array.of(1));
    await lossy.clock.runFor(100);
    expect(lossy.atB.gossip).toEqual([]);
    expect(lossy.network.stats()).toMatchObject({ gossipSent: 10, gossipLost: 10 });
  });

  it('drops gossip in flight when its connection closes', async () => {
    const net = await setup({ latency: { type: 'fixed', ms: 50 } });
    await net.a.publish('inbox/b', Uint8Array.of(1));
    await net.a.hangUp(net.b.peerId);
    await net.a.dial('/memory/b');
    await net.clock.runFor(100);
    expect(net.atB.gossip).toEqual([]);
  });
});

describe('SimNetwork partitions', () => {
  it('cuts connections across a symmetric partition and refuses new ones until healed', async () => {
    const net = await setup({ latency: { type: 'fixed', ms: 10 } });
    await net.a.dial('/memory/c');
    await net.a.send(net.b.peerId, 'test', Uint8Array.of(1));
    const id = net.network.partition([[net.a.peerId], [net.b.peerId]]);
    expect(net.a.connectedPeers()).toEqual([net.c.peerId]);
    expect(net.atB.disconnects).toBe(1);
    expect(net.network.stats().messagesLost).toBe(1);
    expect(net.trace.events(['net:disconnect'])[0]?.data).toMatchObject({ reason: 'partition', lost: 1 });
    const refused: unknown = await net.b.dial('/memory/a').catch((error: unknown) => error);
    expect(isCheopsError(refused, ErrorCode.SiteUnreachable)).toBe(true);
    await net.clock.runFor(100);
    expect(net.atB.direct).toEqual([]);
    net.network.heal(id);
    expect(await net.b.dial('/memory/a')).toBe(net.a.peerId);
    expect(net.network.activePartitions()).toEqual([]);
  });

  it('holds what a stalled direction sends and lets it through in order on a heal', async () => {
    const net = await setup({ latency: { type: 'fixed', ms: 10 } });
    const id = net.network.partitionOneWay([net.a.peerId], [net.b.peerId]);
    await sendAll(net, 5);
    await net.b.send(net.a.peerId, 'test', Uint8Array.of(42));
    await net.clock.runFor(1_000);
    expect(net.atB.direct).toEqual([]);
    expect(values(net.atA.direct)).toEqual([42]);
    expect(await net.c.dial('/memory/a')).toBe(net.a.peerId);
    await expect(net.b.dial('/memory/c')).resolves.toBe(net.c.peerId);
    net.network.heal(id);
    await net.clock.runFor(20);
    expect(values(net.atB.direct)).toEqual(range(5));
    expect(net.atB.disconnects).toBe(0);
  });

  it('closes a stalled connection after the stall timeout, losing what it held, and refuses dials both ways', async () => {
    const net = await setup({ latency: { type: 'fixed', ms: 10 } });
    net.network.partitionOneWay([net.a.peerId], [net.b.peerId]);
    await sendAll(net, 3);
    await net.clock.runFor(4_900);
    expect(net.atB.disconnects).toBe(0);
    await net.clock.runFor(200);
    expect(net.atB.disconnects).toBe(1);
    expect(net.network.stats().messagesLost).toBe(3);
    await expect(net.b.dial('/memory/a')).rejects.toThrow(/no route/);
    await expect(net.a.dial('/memory/b')).rejects.toThrow(/no route/);
    net.network.heal();
    await net.clock.runFor(20);
    expect(net.atB.direct).toEqual([]);
  });

  it('lets the redialer reconnect after a heal', async () => {
    const net = await setup({ latency: { type: 'fixed', ms: 10 } });
    const redialer = createRedialer({}, { transport: net.a, clock: net.clock, random: new SeededRandom('redial'), logger: silentLogger });
    redialer.add('/memory/b', net.b.peerId);
    redialer.start();
    net.network.partition([[net.a.peerId], [net.b.peerId]]);
    await net.clock.runFor(10_000);
    expect(net.a.connectedPeers()).toEqual([]);
    net.network.heal();
    expect(await net.clock.runUntilTrue(() => net.a.connectedPeers().length === 1, { timeoutMs: 2_500 })).toBe(true);
    redialer.stop();
  });
});

describe('SimNetwork on MemoryNetwork', () => {
  it('sees every connection open and close, a stopped transport included (what it relies on)', async () => {
    const net = await setup({ latency: { type: 'fixed', ms: 1 } });
    await net.c.dial('/memory/a');
    await net.c.dial('/memory/a');
    await net.a.stop();
    const kinds = net.trace.events(['net:connect', 'net:disconnect']).map((event) => `${event.kind} ${String(event.data['reason'] ?? '')}`);
    expect(kinds).toEqual(['net:connect ', 'net:connect ', 'net:disconnect detach', 'net:disconnect detach']);
    expect(net.network.stats()).toMatchObject({ connects: 2, disconnects: 2 });
    await net.c.send(net.b.peerId, 'test', Uint8Array.of(1)).catch(() => undefined);
    expect(net.network.stats().messagesSent).toBe(0);
  });
});

describe('SimNetwork determinism', () => {
  const run = async (seed: string): Promise<string> => {
    const net = await setup({ latency: { type: 'long-tail', medianMs: 20, p99Ms: 300 }, loss: 0.05, reorder: 0.2, duplicate: 0.1, reset: 0.01 }, seed);
    for (let value = 0; value < 200; value += 1) {
      if (net.a.connectedPeers().length === 0) await net.a.dial('/memory/b');
      await net.a.send(net.b.peerId, 'test', Uint8Array.of(value)).catch(() => undefined);
      await net.a.publish('inbox/b', Uint8Array.of(value));
      await net.clock.runFor(3);
    }
    await net.clock.runFor(30_000);
    return net.trace.hash();
  };

  it('gives the same trace for the same seed, another for another seed', async () => {
    const first = await run('seed-1');
    expect(await run('seed-1')).toBe(first);
    expect(await run('seed-2')).not.toBe(first);
  });
});
