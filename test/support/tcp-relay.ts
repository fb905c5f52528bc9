/**
 * A TCP relay in front of one port, that a test can cut and heal: a partition between real
 * processes where iptables is not available. Cutting destroys the connections through it and
 * refuses new ones (accepted and closed at once, so a dial fails fast, as with a rejecting firewall).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpRelay {
  private readonly sockets = new Set<Socket>();
  private cutOff = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly targetPort: number,
  ) {}

  /** A relay on a free loopback port to `targetPort` on loopback. */
  static async start(targetPort: number): Promise<TcpRelay> {
    const holder: { relay?: TcpRelay } = {};
    const server = createServer((client) => holder.relay?.accept(client));
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
    holder.relay = new TcpRelay(server, port, targetPort);
    return holder.relay;
  }

  /** The multiaddr of the relay. */
  get multiaddr(): string {
    return `/ip4/127.0.0.1/tcp/${this.port}`;
  }

  get isCut(): boolean {
    return this.cutOff;
  }

  /** Drops every connection through the relay and refuses new ones until `heal()`. */
  cut(): void {
    this.cutOff = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  heal(): void {
    this.cutOff = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.cutOff) {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, '127.0.0.1');
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      this.sockets.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        this.sockets.delete(a);
        b.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
