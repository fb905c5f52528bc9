import { connect, createServer, type Server, type Socket } from 'node:net';
import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface';
import { afterEach, describe, expect, it } from 'vitest';
import { corkedWrites } from './corked-tcp.js';

const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A connected client socket, and everything the server side reads from it. */
async function socketPair(): Promise<{ client: Socket; received: () => number }> {
  let received = 0;
  const server: Server = createServer((socket) => socket.on('data', (chunk: Buffer) => (received += chunk.length)));
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  const client = connect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  cleanups.push(() => {
    client.destroy();
    server.close();
  });
  return { client, received: () => received };
}

/** What @libp2p/tcp's connection does: one `socket.write` per buffer of the list. */
function tcpLikeConnection(socket: Socket): MultiaddrConnection & { sendData(buffers: Uint8Array[]): void } {
  return {
    socket,
    sendData(buffers: Uint8Array[]): void {
      for (const buffer of buffers) socket.write(buffer);
    },
  } as unknown as MultiaddrConnection & { sendData(buffers: Uint8Array[]): void };
}

/** Counts the socket's writes to the kernel: one `_write` per unbatched chunk, one `_writev` per batch. */
function countWrites(socket: Socket): () => number {
  let writes = 0;
  const internals = socket as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
  for (const method of ['_write', '_writev'] as const) {
    const original = internals[method].bind(socket);
    internals[method] = (...args: unknown[]) => {
      writes += 1;
      return original(...args);
    };
  }
  return () => writes;
}

/** A transport factory whose dial hands `connection` to the upgrader, as @libp2p/tcp's does. */
function fakeTransport(connection: MultiaddrConnection): (components: unknown) => Transport {
  return () =>
    ({
      dial: async (_address: unknown, options: { upgrader: Upgrader }) => options.upgrader.upgradeOutbound(connection, {} as never),
      createListener: () => undefined,
    }) as unknown as Transport;
}

describe('corkedWrites', () => {
  it('sends what one tick writes to a connection in one write', async () => {
    const { client, received } = await socketPair();
    const connection = tcpLikeConnection(client);
    const writes = countWrites(client);
    const upgrader = { upgradeOutbound: () => Promise.resolve(connection) } as unknown as Upgrader;
    await corkedWrites(fakeTransport(connection))({}).dial({} as never, { upgrader } as never);

    // Three messages in one tick, each a 2-byte length and its body, as noise frames them.
    for (let i = 0; i < 3; i += 1) connection.sendData([new Uint8Array(2), new Uint8Array(40)]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes()).toBe(1);
    await expect.poll(received).toBe(126);

    // The next tick corks again.
    connection.sendData([new Uint8Array(2), new Uint8Array(10)]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes()).toBe(2);
    await expect.poll(received).toBe(138);
  });

  it('leaves a connection without a socket as it is', async () => {
    const sendData = (): void => undefined;
    const connection = { sendData } as unknown as MultiaddrConnection & { sendData: () => void };
    const upgrader = { upgradeOutbound: () => Promise.resolve(connection) } as unknown as Upgrader;
    await corkedWrites(fakeTransport(connection))({}).dial({} as never, { upgrader } as never);
    expect(connection.sendData).toBe(sendData);
  });
});
