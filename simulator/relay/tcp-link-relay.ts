/**
 * A TCP relay that plays one network link between two sites: it listens on a port, and every
 * connection made to it is carried to the target port through the link's conditions (latency,
 * loss as retransmission delay, bandwidth; README.md). It can be cut and healed:
 *
 * - `cut('reset')`: a rejecting firewall. Connections through the link are reset both ways, and a
 *   new connection is reset one round trip after it is made (a TCP RST answering the SYN).
 * - `cut('blackhole')`: a dropping firewall, or a cable pulled. Nothing crosses, nothing is
 *   refused: open connections stall (the peers notice by their own timeouts), new ones hang.
 *   On heal, what was waiting is delivered (TCP's retransmissions get through) and the
 *   connections go on, as a real connection survives a short outage.
 * - `heal()`: new connections are carried again; the nodes' redialers reconnect by themselves.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Clock } from '../../core/clock.js';
import type { Random } from '../../core/random.js';
import { systemClock } from '../../core/system.js';
import { SeededRandom } from '../core/seeded-random.js';
import { DelayLine, LinkDirection, type DirectionStats } from './delay-line.js';
import { idealLink, type LinkConditions } from './link-conditions.js';

/** How a cut link treats the connections that try to cross it. */
export type CutMode = 'reset' | 'blackhole';

/** `open`, or cut in one of the two modes. */
export type LinkState = 'open' | CutMode;

export const cutModes: readonly CutMode[] = ['reset', 'blackhole'];

export interface TcpLinkRelayOptions {
  /** Where the traffic goes (the listening site's peer-to-peer port). */
  readonly targetPort: number;
  readonly targetHost?: string;
  /** Where the relay listens; default 127.0.0.1 and a free port. */
  readonly host?: string;
  readonly port?: number;
  /** Conditions from the dialling side to the target; default an ideal link. */
  readonly forward?: LinkConditions;
  /** Conditions from the target back to the dialling side; default the same as `forward`. */
  readonly backward?: LinkConditions;
  /** Draws latencies and losses; default seeded from the target port (a relay is not a replay). */
  readonly random?: Random;
  readonly clock?: Clock;
  /**
   * Bytes queued in one direction of a connection above which the relay stops reading it, as a
   * closing TCP window would; default 4 MiB (a 100 Mbit/s link's bandwidth-delay product at 300 ms).
   */
  readonly highWaterMarkBytes?: number;
}

/** Counters of a relay since it started. */
export interface TcpLinkRelayStats {
  readonly state: LinkState;
  /** Connections carried to the target. */
  readonly accepted: number;
  /** Connections reset because the link was cut, or because the target refused. */
  readonly refused: number;
  /** Connections open through the link now (held ones included). */
  readonly open: number;
  /** When the last connection reached the target (clock ms), or undefined. */
  readonly lastConnectedAtMs: number | undefined;
  readonly forward: Readonly<DirectionStats>;
  readonly backward: Readonly<DirectionStats>;
}

interface Carried {
  readonly client: Socket;
  upstream: Socket | undefined;
  lines: DelayLine[];
}

/** One link. Build it with `TcpLinkRelay.start`. */
export class TcpLinkRelay {
  readonly forward: LinkDirection;
  readonly backward: LinkDirection;
  private readonly carried = new Set<Carried>();
  private mode: LinkState = 'open';
  private accepted = 0;
  private refused = 0;
  private lastConnectedAtMs: number | undefined;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly options: TcpLinkRelayOptions,
    private readonly clock: Clock,
  ) {
    const random = options.random ?? new SeededRandom(`relay:${options.targetPort}`);
    const forward = options.forward ?? idealLink;
    this.forward = new LinkDirection(forward, random.fork('forward'));
    this.backward = new LinkDirection(options.backward ?? forward, random.fork('backward'));
  }

  /** Starts listening; resolves once the port is bound. */
  static async start(options: TcpLinkRelayOptions): Promise<TcpLinkRelay> {
    const holder: { relay?: TcpLinkRelay } = {};
    // Half-open allowed: one side's FIN is carried (late, like its data) while the other side still talks.
    const server = createServer({ noDelay: true, allowHalfOpen: true }, (client) => holder.relay?.accept(client));
    const host = options.host ?? '127.0.0.1';
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
    holder.relay = new TcpLinkRelay(server, port, options, options.clock ?? systemClock);
    return holder.relay;
  }

  /** The relay's address as a libp2p multiaddr. */
  get multiaddr(): string {
    return `/ip4/${this.options.host ?? '127.0.0.1'}/tcp/${this.port}`;
  }

  get targetPort(): number {
    return this.options.targetPort;
  }

  get state(): LinkState {
    return this.mode;
  }

  /** Changes the conditions of one direction or both; connections already open follow at once. */
  setConditions(conditions: LinkConditions, direction: 'forward' | 'backward' | 'both' = 'both'): void {
    if (direction !== 'backward') this.forward.conditions = conditions;
    if (direction !== 'forward') this.backward.conditions = conditions;
  }

  /** Cuts the link (see the module comment for the two modes). Cutting a cut link changes its mode. */
  cut(mode: CutMode = 'reset'): void {
    this.mode = mode;
    for (const connection of [...this.carried]) {
      if (mode === 'reset') this.drop(connection, true);
      else for (const line of connection.lines) line.hold();
    }
  }

  /** Opens the link again: held connections go on, new ones are carried. */
  heal(): void {
    if (this.mode === 'open') return;
    this.mode = 'open';
    for (const connection of [...this.carried]) {
      if (connection.upstream === undefined) this.carry(connection);
      else for (const line of connection.lines) line.release();
    }
  }

  stats(): TcpLinkRelayStats {
    return {
      state: this.mode,
      accepted: this.accepted,
      refused: this.refused,
      open: this.carried.size,
      lastConnectedAtMs: this.lastConnectedAtMs,
      forward: { ...this.forward.stats },
      backward: { ...this.backward.stats },
    };
  }

  /** Stops listening and resets every connection. */
  async close(): Promise<void> {
    for (const connection of [...this.carried]) this.drop(connection, true);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    client.setNoDelay(true);
    client.on('error', () => undefined);
    if (this.mode === 'reset') {
      this.refused += 1;
      client.pause();
      // A RST answering the SYN reaches the dialler one round trip after it sent the SYN.
      const rtt = this.forward.latencyMs() + this.backward.latencyMs();
      this.clock.setTimeout(() => client.resetAndDestroy(), rtt);
      return;
    }
    const connection: Carried = { client, upstream: undefined, lines: [] };
    this.carried.add(connection);
    client.on('close', (hadError) => this.closed(connection, hadError));
    if (this.mode === 'blackhole') {
      // The SYN is lost: the dialler waits; if it still waits at the heal, the connection is made then.
      client.pause();
      return;
    }
    this.carry(connection);
  }

  /** Connects to the target and starts both directions. */
  private carry(connection: Carried): void {
    const { client } = connection;
    if (client.destroyed) {
      this.carried.delete(connection);
      return;
    }
    const upstream = connect({ port: this.options.targetPort, host: this.options.targetHost ?? '127.0.0.1', noDelay: true, allowHalfOpen: true });
    connection.upstream = upstream;
    let connected = false;
    upstream.on('error', () => {
      // The target is down: the dialler sees the refusal as a reset.
      if (!connected && this.carried.has(connection)) this.refused += 1;
      this.drop(connection, true);
    });
    upstream.on('close', (hadError) => this.closed(connection, hadError));
    upstream.once('connect', () => {
      connected = true;
      this.accepted += 1;
      this.lastConnectedAtMs = this.clock.now();
    });
    // TCP's handshake: nothing crosses a new connection before one round trip has passed.
    const now = this.clock.now();
    const handshakeMs = this.forward.latencyMs() + this.backward.latencyMs();
    const highWaterMarkBytes = this.options.highWaterMarkBytes ?? 4 * 1024 * 1024;
    connection.lines = [
      new DelayLine(client, upstream, this.forward, this.clock, { highWaterMarkBytes, notBeforeMs: now + handshakeMs + this.forward.latencyMs() }),
      new DelayLine(upstream, client, this.backward, this.clock, { highWaterMarkBytes, notBeforeMs: now + handshakeMs + this.backward.latencyMs() }),
    ];
    for (const line of connection.lines) line.start();
    client.resume();
  }

  /**
   * A socket closed. A reset is passed on at once; a clean close waits for the other socket, which
   * may still have the last bytes and the FIN to deliver.
   */
  private closed(connection: Carried, hadError: boolean): void {
    if (hadError) this.drop(connection, true);
    else if (connection.client.destroyed && (connection.upstream?.destroyed ?? true)) this.drop(connection, false);
  }

  /** Forgets a connection; `reset` also resets both sockets (else they close as they were closing). */
  private drop(connection: Carried, reset: boolean): void {
    if (!this.carried.delete(connection)) return;
    for (const line of connection.lines) line.stop();
    const sockets = [connection.client, connection.upstream];
    for (const socket of sockets) {
      if (socket === undefined || socket.destroyed) continue;
      if (reset) socket.resetAndDestroy();
      else socket.destroy();
    }
  }
}
