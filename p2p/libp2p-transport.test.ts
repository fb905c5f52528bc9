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
