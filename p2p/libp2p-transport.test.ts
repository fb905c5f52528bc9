import { connect, createServer, type Socket } from 'node:net';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { multiaddr } from '@multiformats/multiaddr';
import { describe, expect, it, vi } from 'vitest';
import { MemoryLogger } from '../core/logger.js';
import { encodeFrame } from './frame-codec.js';
import { createCheopsLibp2p } from './libp2p-node.js';
import { createLibp2pTransport, messageProtocol } from './libp2p-transport.js';
import { memoryKeyStore } from './peer-identity.js';
import { bareAddress, record, transportContract } from './transport-contract.js';

/** Open sockets of this process (TCP servers and connections). */
function openSockets(): number {
  return process.getActiveResourcesInfo().filter((type) => type.startsWith('TCP')).length;
}

async function startTransport(keyStore = memoryKeyStore(), logger = new MemoryLogger()) {
  const transport = await createLibp2pTransport({ listen: ['/ip4/127.0.0.1/tcp/0'], keyStore }, { logger });
  await transport.start();
  return transport;
}

transportContract(
  'Libp2pTransport',
  (count) => Promise.all(Array.from({ length: count }, () => startTransport())),
  { openHandles: openSockets },
);

describe('Libp2pTransport identity', () => {
  it('keeps its peer id across restarts on the same key store', async () => {
    const keyStore = memoryKeyStore();
    const first = await startTransport(keyStore);
    const id = first.peerId;
    await first.stop();
    const second = await startTransport(keyStore);
    expect(second.peerId).toBe(id);
    expect(second.addresses()[0]).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${id}$`));
    await second.stop();
  });
});

describe('Libp2pTransport hostile input', () => {
  it('drops malformed frames and streams, logs them, and keeps serving', async () => {
    const logger = new MemoryLogger();
    const transport = await startTransport(memoryKeyStore(), logger);
    const log = record(transport);
    const raw = await createCheopsLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: [] });
    await raw.start();
    try {
      const connection = await raw.dial(multiaddr(bareAddress(transport)));
      const stream = await connection.newStream(messageProtocol);
      stream.send(new Uint8Array([1, 0])); // a frame whose channel name is empty
      stream.send(new Uint8Array([3, 9, 0xff, 0xfe])); // a channel length past the frame's end
      stream.send(encodeFrame('ok', new Uint8Array([42])));
      await vi.waitFor(() => expect(log.messages.map((m) => m.channel)).toEqual(['ok']));
      expect(logger.find('dropped a malformed frame')).toHaveLength(2);
      stream.send(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])); // a length beyond any limit
      await vi.waitFor(() => expect(logger.find('dropped a stream with a malformed frame')).toHaveLength(1));
      await vi.waitFor(() => expect(stream.status).not.toBe('open'));
      const again = await connection.newStream(messageProtocol);
      again.send(encodeFrame('ok', new Uint8Array([43])));
      await vi.waitFor(() => expect(log.messages).toHaveLength(2));
      expect(logger.entries.every((entry) => entry.level !== 'error')).toBe(true);
    } finally {
      await raw.stop();
      await transport.stop();
    }
  });

  it('logs a flood of malformed frames within limits', async () => {
    const logger = new MemoryLogger();
    const transport = await startTransport(memoryKeyStore(), logger);
    const log = record(transport);
    const raw = await createCheopsLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: [] });
    await raw.start();
    try {
      const connection = await raw.dial(multiaddr(bareAddress(transport)));
      const stream = await connection.newStream(messageProtocol);
      for (let index = 0; index < 200; index += 1) stream.send(new Uint8Array([1, 0]));
      stream.send(encodeFrame('ok', new Uint8Array([42])));
      // Frames on a stream arrive in order: once the good one is in, every bad one was handled.
      await vi.waitFor(() => expect(log.messages.map((m) => m.channel)).toEqual(['ok']));
      expect(logger.find('dropped a malformed frame')).toHaveLength(10);
    } finally {
      await raw.stop();
      await transport.stop();
    }
    // Stopping logs the summary still owed.
    expect(logger.find('suppressed repeated warnings about a peer')).toMatchObject([{ fields: { suppressed: 190 } }]);
  });
});

/** A TCP proxy to `targetPort` that counts the bytes each way, and delays each chunk by `delayMs`. */
async function countingProxy(targetPort: number, delayMs = 0): Promise<{ port: number; toTarget: () => number; fromTarget: () => number; close: () => void }> {
  let toTarget = 0;
  let fromTarget = 0;
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect({ port: targetPort, host: '127.0.0.1', noDelay: true });
    inbound.setNoDelay(true);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    // Timers of one delay fire in the order they were set: the bytes stay in order.
    const relay = (from: Socket, to: Socket, count: (bytes: number) => void): void => {
      from.on('data', (chunk: Buffer) => {
        count(chunk.length);
        if (delayMs === 0) to.write(chunk);
        else setTimeout(() => to.destroyed || to.write(chunk), delayMs);
      });
    };
    relay(inbound, outbound, (bytes) => (toTarget += bytes));
    relay(outbound, inbound, (bytes) => (fromTarget += bytes));
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  return {
    port,
    toTarget: () => toTarget,
    fromTarget: () => fromTarget,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

type LinkedTransport = Awaited<ReturnType<typeof startTransport>>;

/**
 * Runs `body` with two transports linked through a proxy that delays each direction by
 * `oneWayMs`, connected, and one message (channel `first`) already across: its stream is open.
 * Long enough that a loaded machine's scheduling (~200 ms seen while CI shared it) stays far from
 * the margins the tests draw (one or two one-way delays against three or more).
 */
async function overSlowLink(
  body: (link: { sender: LinkedTransport; receiver: LinkedTransport; received: ReturnType<typeof record>; oneWayMs: number }) => Promise<void>,
  oneWayMs = 250,
): Promise<void> {
  const [sender, receiver] = await Promise.all([startTransport(), startTransport()]);
  const received = record(receiver);
  const targetPort = Number(/\/tcp\/(\d+)/.exec(bareAddress(receiver))?.[1]);
  const proxy = await countingProxy(targetPort, oneWayMs);
  try {
    await sender.dial(`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${receiver.peerId}`);
    await sender.send(receiver.peerId, 'first', new Uint8Array(1));
    await vi.waitFor(() => expect(received.messages).toHaveLength(1), { timeout: 20_000 });
    await body({ sender, receiver, received, oneWayMs });
  } finally {
    proxy.close();
    await Promise.all([sender.stop(), receiver.stop()]);
  }
}

describe('Libp2pTransport on the wire', () => {
  it('sends nothing back for each small message received (yamux window updates come at half the window)', async () => {
    const [sender, receiver] = await Promise.all([startTransport(), startTransport()]);
    const received = record(receiver);
    const targetPort = Number(/\/tcp\/(\d+)/.exec(bareAddress(receiver))?.[1]);
    const proxy = await countingProxy(targetPort);
    try {
      await sender.dial(`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${receiver.peerId}`);
      await sender.send(receiver.peerId, 'probe', new Uint8Array(40));
      await vi.waitFor(() => expect(received.messages).toHaveLength(1));
      // Let the connection's own start-up traffic (identify, subscriptions) finish.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const [sentBefore, backBefore] = [proxy.toTarget(), proxy.fromTarget()];
      const messages = 50;
      for (let index = 1; index <= messages; index += 1) {
        await sender.send(receiver.peerId, 'probe', new Uint8Array(40));
        await vi.waitFor(() => expect(received.messages).toHaveLength(index + 1));
      }
      // Each message: 40 bytes, channel and length prefix, yamux header, noise length and tag.
      expect(proxy.toTarget() - sentBefore).toBeLessThanOrEqual(messages * 90);
      // Unpatched yamux answered every data frame with a 30-byte window update: 1,500 bytes here.
      expect(proxy.fromTarget() - backBefore).toBeLessThan(300);
    } finally {
      proxy.close();
      await Promise.all([sender.stop(), receiver.stop()]);
    }
  });

  it('sends the first message of a new stream with its protocol name, without waiting a round trip', { timeout: 30_000 }, async () => {
    await overSlowLink(async ({ sender, receiver, received, oneWayMs }) => {
      const start = performance.now();
      await sender.send(receiver.peerId, 'second', new Uint8Array(1)); // another channel: a new stream
      await vi.waitFor(() => expect(received.messages).toHaveLength(2), { timeout: 20_000, interval: 5 });
      // One way is 250 ms; waiting for multistream-select's answer first would make it 750.
      expect(performance.now() - start).toBeLessThan(2 * oneWayMs);
    });
  });

  it('carries megabytes on a new stream in one one-way delay, without waiting for window updates', { timeout: 30_000 }, async () => {
    await overSlowLink(async ({ sender, receiver, received, oneWayMs }) => {
      // A heal sends whole documents like these right after a reconnection, on a new stream.
      const messages = 8;
      const start = performance.now();
      for (let index = 0; index < messages; index += 1) void sender.send(receiver.peerId, 'bulk', new Uint8Array(256 * 1024));
      await vi.waitFor(() => expect(received.messages).toHaveLength(1 + messages), { timeout: 20_000, interval: 5 });
      // 2 MiB: with yamux's default 256 KiB first window, the rest waits for window updates, a
      // round trip each (the window doubles per update): over 2 s here.
      expect(performance.now() - start).toBeLessThan(3 * oneWayMs);
    });
  });
});
