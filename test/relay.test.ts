/**
 * The TCP link relay (simulator/relay/) over real sockets on loopback: latency per chunk and in
 * order, loss as retransmission delay with nothing missing, a bandwidth limit, cut in both modes
 * and heal, half-close, and a target that is down.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { linkConditions, TcpLinkRelay, type LinkConditions } from '../simulator/relay/index.js';
import { SeededRandom } from '../simulator/core/seeded-random.js';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server that echoes what it reads; it answers a FIN with its own. */
async function echoServer(): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.pipe(socket);
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { server, port, sockets };
}

async function relayTo(targetPort: number, conditions: Partial<LinkConditions> = {}, seed?: string): Promise<TcpLinkRelay> {
  const relay = await TcpLinkRelay.start({ targetPort, forward: linkConditions(conditions), ...(seed === undefined ? {} : { random: new SeededRandom(seed) }) });
  cleanups.push(() => relay.close());
  return relay;
}

/** A client socket with everything it receives collected, and how it ended. */
interface Client {
  readonly socket: Socket;
  received(): Buffer;
  /** Resolves when `length` bytes have arrived; rejects if the socket closes first. */
  waitFor(length: number, timeoutMs?: number): Promise<number>;
  readonly closed: Promise<{ error: string | undefined }>;
}

async function client(port: number): Promise<Client> {
  const socket = connect({ port, host: '127.0.0.1', noDelay: true });
  const chunks: Buffer[] = [];
  let length = 0;
  let error: string | undefined;
  const waiters = new Set<() => void>();
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    length += chunk.length;
    for (const wake of waiters) wake();
  });
  socket.on('error', (cause: NodeJS.ErrnoException) => (error = cause.code ?? cause.message));
  const closed = new Promise<{ error: string | undefined }>((resolve) => socket.once('close', () => {
    for (const wake of waiters) wake();
    resolve({ error });
  }));
  cleanups.push(() => void socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    received: () => Buffer.concat(chunks),
    closed,
    waitFor: (wanted, timeoutMs = 5_000) => {
      const start = performance.now();
      return new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${length} of ${wanted} bytes after ${timeoutMs} ms`)), timeoutMs);
        const check = (): void => {
          if (length >= wanted) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(performance.now() - start);
          } else if (socket.destroyed) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`closed (${error ?? 'no error'}) after ${length} of ${wanted} bytes`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('TcpLinkRelay', () => {
  it('adds the one-way latency to each chunk, each way: a round trip costs twice the latency', async () => {
    const { port } = await echoServer();
    const relay = await relayTo(port, { latency: { type: 'fixed', ms: 50 } });
    // The first exchange also pays the TCP handshake's round trip, counted from the connect (the
    // relay starts it when it accepts, while the client is still getting ready to write).
    const connecting = performance.now();
    const c = await client(relay.port);
    c.socket.write('x');
    await c.waitFor(1);
    expect(performance.now() - connecting).toBeGreaterThanOrEqual(195);
    const rtts: number[] = [];
    for (let i = 2; i <= 6; i += 1) {
      c.socket.write('x');
      rtts.push(await c.waitFor(i));
    }
    // Never faster than the latency both ways; typically just that (once each way, not twice: a
    // loaded machine may delay one exchange, not the median).
    for (const rtt of rtts) expect(rtt).toBeGreaterThanOrEqual(99);
    expect([...rtts].sort((a, b) => a - b)[2]).toBeLessThan(150);
    const stats = relay.stats();
    expect(stats.forward.bytesOut).toBe(6);
    expect(stats.backward.bytesOut).toBe(6);
    expect(stats.accepted).toBe(1);
  });

  it('keeps the order of the bytes under jitter', async () => {
    const { port } = await echoServer();
    const relay = await relayTo(port, { latency: { type: 'uniform', minMs: 0, maxMs: 30 } });
    const c = await client(relay.port);
    const sent: Buffer[] = [];
    for (let i = 0; i < 200; i += 1) {
      const chunk = Buffer.from(`${i.toString().padStart(4, '0')};`);
      sent.push(chunk);
      c.socket.write(chunk);
      if (i % 10 === 0) await sleep(2);
    }
    const all = Buffer.concat(sent);
    await c.waitFor(all.length);
    expect(c.received().toString()).toBe(all.toString());
    expect(relay.stats().forward.chunks).toBeGreaterThan(10);
  });

  it('models loss as retransmission delay: every byte arrives, late, and in order', async () => {
    const { port } = await echoServer();
    // A fixed seed: the losses drawn are the same in every run. Drawn anew each run, a chunk lost
    // five times in a row (TCP's backoff: 6.5 s, about one run in 250) outlasted the wait below.
    const relay = await relayTo(port, { latency: { type: 'fixed', ms: 5 }, loss: 0.2 }, 'relay-loss-test');
    const c = await client(relay.port);
    const exchanges: number[] = [];
    for (let i = 1; i <= 30; i += 1) {
      c.socket.write(String(i % 10));
      exchanges.push(await c.waitFor(i));
    }
    expect(c.received().toString()).toBe(Array.from({ length: 30 }, (_, i) => String((i + 1) % 10)).join(''));
    const stats = relay.stats();
    expect(stats.forward.lossEvents + stats.backward.lossEvents).toBeGreaterThan(2);
    // A lost one-packet chunk is a tail: repaired after at least 10 ms (two round trips, floored).
    expect(exchanges.filter((ms) => ms >= 19).length).toBeGreaterThan(2);
    expect(Math.min(...exchanges.slice(1))).toBeLessThan(16);
  });

  it('limits the bandwidth', async () => {
    const { port } = await echoServer();
    // 8 Mbit/s: 1 MB/s each way.
    const relay = await relayTo(port, { bandwidthBytesPerSecond: 1_000_000 });
    const c = await client(relay.port);
    const payload = Buffer.alloc(400_000, 7);
    const start = performance.now();
    c.socket.write(payload);
    await c.waitFor(payload.length, 10_000);
    const elapsed = performance.now() - start;
    // Out at 1 MB/s and back at 1 MB/s, pipelined: about 0.4 s, not much more.
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(elapsed).toBeLessThan(1_500);
  });

  it("cut in 'reset' mode: open connections are reset, new ones refused; heal carries new ones", async () => {
    const { port } = await echoServer();
    const relay = await relayTo(port, { latency: { type: 'fixed', ms: 5 } });
    const before = await client(relay.port);
    before.socket.write('a');
    await before.waitFor(1);
    relay.cut('reset');
    expect((await before.closed).error).toBe('ECONNRESET');
    const during = await client(relay.port);
    expect((await during.closed).error).toBe('ECONNRESET');
    expect(relay.stats()).toMatchObject({ state: 'reset', refused: 1, open: 0 });
    relay.heal();
    const after = await client(relay.port);
    after.socket.write('b');
    await after.waitFor(1);
    expect(relay.stats()).toMatchObject({ state: 'open', accepted: 2 });
  });

  it("cut in 'blackhole' mode: nothing crosses and nothing is refused; heal delivers what waited", async () => {
    const { port } = await echoServer();
    const relay = await relayTo(port, { latency: { type: 'fixed', ms: 5 } });
    const open = await client(relay.port);
    open.socket.write('a');
    await open.waitFor(1);
    relay.cut('blackhole');
    open.socket.write('b');
    const late = await client(relay.port);
    late.socket.write('c');
    await sleep(300);
    expect(open.received().toString()).toBe('a');
    expect(late.received().length).toBe(0);
    expect(open.socket.destroyed || late.socket.destroyed).toBe(false);
    relay.heal();
    await open.waitFor(2);
    await late.waitFor(1);
    expect(open.received().toString()).toBe('ab');
    expect(late.received().toString()).toBe('c');
  });

  it('carries a half-close: the FIN arrives after the data, and the answer still comes back', async () => {
    const { port } = await echoServer();
    const relay = await relayTo(port, { latency: { type: 'fixed', ms: 20 } });
    const c = await client(relay.port);
    const ended = new Promise<void>((resolve) => c.socket.once('end', () => resolve()));
    c.socket.end('last words');
    await ended;
    expect(c.received().toString()).toBe('last words');
    expect((await c.closed).error).toBeUndefined();
  });

  it('resets a connection when the target is down', async () => {
    const { port, server } = await echoServer();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const relay = await relayTo(port);
    const c = await client(relay.port);
    expect((await c.closed).error).toBe('ECONNRESET');
    expect(relay.stats().refused).toBe(1);
  });
});
