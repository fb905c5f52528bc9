/**
 * A port that resets every connection made to it: the address a relayed site announces instead of
 * its real one. Sites dial each other through the relays only; a dial to an announced address (a
 * site learns them from the site directory) must fail fast, and must never reach something else
 * that happens to bind a port left free.
 */
import { createServer, type Server } from 'node:net';

export class RefusingListener {
  private refusedCount = 0;

  private constructor(
    private readonly server: Server,
    readonly host: string,
    readonly port: number,
  ) {}

  static async start(host = '127.0.0.1', port = 0): Promise<RefusingListener> {
    const holder: { listener?: RefusingListener } = {};
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.resetAndDestroy();
      if (holder.listener !== undefined) holder.listener.refusedCount += 1;
    });
    const bound = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
    holder.listener = new RefusingListener(server, host, bound);
    return holder.listener;
  }

  get multiaddr(): string {
    return `/ip4/${this.host}/tcp/${this.port}`;
  }

  /** Connections reset so far. */
  get refused(): number {
    return this.refusedCount;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
