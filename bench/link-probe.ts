/**
 * The physical limits the real-stack benchmarks compare against, measured in the same run through
 * a relay with the same conditions as the sites' links: the one-way delay of a small message
 * (half a ping's round trip), and the time to move given numbers of bytes both ways over a new
 * connection (the handshake, the transfer, and the last byte's trip).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { TcpLinkRelay, type LinkConditions } from '../simulator/relay/index.js';
import { summarize, type Summary } from './stack-report.js';

async function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

async function withRelay<T>(onConnection: (socket: Socket) => void, conditions: LinkConditions, use: (relay: TcpLinkRelay) => Promise<T>): Promise<T> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  const relay = await TcpLinkRelay.start({ targetPort: await listen(server), forward: conditions, backward: conditions });
  try {
    return await use(relay);
  } finally {
    await relay.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

function connected(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** One-way delays (half round trips) of `samples` one-byte pings on a warm connection. */
export async function probeOneWay(conditions: LinkConditions, samples = 30): Promise<Summary> {
  return withRelay((socket) => socket.pipe(socket), conditions, async (relay) => {
    const socket = await connected(relay.port);
    const oneWay: number[] = [];
    try {
      for (let i = 0; i <= samples; i += 1) {
        const start = performance.now();
        await new Promise<void>((resolve) => {
          socket.once('data', () => resolve());
          socket.write('p');
        });
        // The first ping also pays the TCP handshake: not a one-way delay.
        if (i > 0) oneWay.push((performance.now() - start) / 2);
      }
    } finally {
      socket.destroy();
    }
    return summarize(oneWay);
  });
}

/**
 * Milliseconds from a new connection to the moment `forwardBytes` have crossed one way and
 * `backwardBytes` the other (both sent at once, as a sync after a heal does), and the far side's
 * acknowledgement of the last byte has come back.
 */
export async function probeTransfer(conditions: LinkConditions, forwardBytes: number, backwardBytes: number): Promise<number> {
  const onConnection = (socket: Socket): void => {
    let received = 0;
    socket.write(Buffer.alloc(backwardBytes, 1));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= forwardBytes) socket.write('!');
    });
  };
  return withRelay(onConnection, conditions, async (relay) => {
    const start = performance.now();
    const socket = await connected(relay.port);
    try {
      await new Promise<void>((resolve) => {
        let received = 0;
        socket.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received >= backwardBytes + 1) resolve();
        });
        socket.write(Buffer.alloc(Math.max(1, forwardBytes), 2));
      });
    } finally {
      socket.destroy();
    }
    return performance.now() - start;
  });
}
