/**
 * Heartbeats: every `intervalMs` each connected peer is pinged on the `heartbeat` channel and
 * answers with a pong. They measure RTT (smoothed, plus the last sample) and drive each known
 * peer's state: `up` on the first pong, `down` when the transport disconnects or when no pong
 * came for `downAfterMs`. Written against the Transport port and the Clock only.
 */
import type { Clock, Timer } from '../core/clock.js';
import { ErrorCode, errorMessage } from '../core/errors.js';
import type { PeerIdString } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import {
  decodeHeartbeatMessage,
  encodeHeartbeatMessage,
  heartbeatChannel,
  type HeartbeatMessage,
} from './heartbeat-messages.js';
import type { Transport, TransportEvents } from './transport.js';
import { TypedEmitter } from './typed-emitter.js';

export type PeerState = 'up' | 'down';

/** What heartbeats know of one peer. */
export interface PeerStatus {
  readonly peer: PeerIdString;
  readonly state: PeerState;
  /** Smoothed round-trip time (exponential moving average), once measured. */
  readonly rttMs: number | undefined;
  /** The last round-trip time measured. */
  readonly lastRttMs: number | undefined;
  /** Clock time of the last pong. */
  readonly lastPongAt: number | undefined;
  /** Clock time of the last change of state (or of first sight). */
  readonly since: number;
}

export interface PeerLivenessEvent {
  readonly peer: PeerIdString;
  /** The smoothed RTT when the event fired, if any was measured. */
  readonly rttMs: number | undefined;
}

export interface HeartbeatEvents {
  'peer:up': PeerLivenessEvent;
  'peer:down': PeerLivenessEvent;
}

export interface HeartbeatOptions {
  /** Ping period; default 1,000 ms: a killed peer shows down within 5 s with the default timeout. */
  readonly intervalMs?: number;
  /** Silence after which a peer is down; default 3,000 ms (three missed pings, not one lost). */
  readonly downAfterMs?: number;
  /** Weight of a new sample in the smoothed RTT; default 0.2 (TCP's SRTT uses 1/8). */
  readonly rttSmoothing?: number;
}

export interface HeartbeatComponents {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly logger: Logger;
}

export function createHeartbeats(options: HeartbeatOptions, components: HeartbeatComponents): Heartbeats {
  return new Heartbeats(options, components);
}

interface MutableStatus {
  state: PeerState;
  rttMs: number | undefined;
  lastRttMs: number | undefined;
  lastPongAt: number | undefined;
  since: number;
  nextSeq: number;
  /** Pings awaiting their pong: seq → our send time. */
  readonly outstanding: Map<number, number>;
}

/** Pings peers, measures RTT, and tells when peers go up and down. */
export class Heartbeats {
  private readonly options: Required<HeartbeatOptions>;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly events: TypedEmitter<HeartbeatEvents>;
  private readonly statuses = new Map<PeerIdString, MutableStatus>();
  private timer: Timer | undefined;

  constructor(options: HeartbeatOptions, components: HeartbeatComponents) {
    this.options = { intervalMs: 1_000, downAfterMs: 3_000, rttSmoothing: 0.2, ...options };
    this.transport = components.transport;
    this.clock = components.clock;
    this.logger = components.logger.child({ component: 'heartbeat' });
    this.events = new TypedEmitter(this.logger);
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.transport.on('message', this.onMessage);
    this.transport.on('peer:connect', this.onPeerConnect);
    this.transport.on('peer:disconnect', this.onPeerDisconnect);
    this.timer = this.clock.setInterval(() => this.tick(), this.options.intervalMs);
    this.tick();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.transport.off('message', this.onMessage);
    this.transport.off('peer:connect', this.onPeerConnect);
    this.transport.off('peer:disconnect', this.onPeerDisconnect);
  }

  /** Adds a peer to watch before it ever connects (it shows `down` until it answers). */
  track(peer: PeerIdString): void {
    this.status(peer);
  }

  /** A snapshot of every known peer. */
  peers(): PeerStatus[] {
    return [...this.statuses].map(([peer, status]) => this.snapshot(peer, status));
  }

  /** A snapshot of one peer, if known. */
  peer(peer: PeerIdString): PeerStatus | undefined {
    const status = this.statuses.get(peer);
    return status === undefined ? undefined : this.snapshot(peer, status);
  }

  on<E extends keyof HeartbeatEvents>(event: E, listener: (event: HeartbeatEvents[E]) => void): void {
    this.events.on(event, listener);
  }

  off<E extends keyof HeartbeatEvents>(event: E, listener: (event: HeartbeatEvents[E]) => void): void {
    this.events.off(event, listener);
  }

  private tick(): void {
    const now = this.clock.now();
    for (const [peer, status] of this.statuses) {
      const lastHeard = status.lastPongAt ?? Number.NEGATIVE_INFINITY;
      if (status.state === 'up' && now - lastHeard > this.options.downAfterMs) this.markDown(peer, status);
      for (const [seq, sentAt] of status.outstanding) {
        if (now - sentAt > this.options.downAfterMs) status.outstanding.delete(seq);
      }
    }
    for (const peer of this.transport.connectedPeers()) this.ping(peer);
  }

  private ping(peer: PeerIdString): void {
    const status = this.status(peer);
    const seq = status.nextSeq;
    const sentAt = this.clock.now();
    status.nextSeq += 1;
    status.outstanding.set(seq, sentAt);
    this.send(peer, { type: 'ping', v: 1, seq, sentAt });
  }

  private send(peer: PeerIdString, message: HeartbeatMessage): void {
    this.transport.send(peer, heartbeatChannel, encodeHeartbeatMessage(message)).catch((error: unknown) => {
      this.logger.debug({ peer, type: message.type, err: errorMessage(error) }, 'heartbeat not sent');
    });
  }

  private readonly onMessage = (event: TransportEvents['message']): void => {
    if (event.channel !== heartbeatChannel || this.timer === undefined) return;
    const decoded = decodeHeartbeatMessage(event.data);
    if (!decoded.ok) {
      this.logger.warn(
        { peer: event.from, reason: decoded.error, code: ErrorCode.PeerMessageInvalid },
        'dropped a malformed heartbeat',
      );
      return;
    }
    const message = decoded.value;
    if (message.type === 'ping') {
      this.send(event.from, { type: 'pong', v: 1, seq: message.seq, sentAt: message.sentAt });
      return;
    }
    this.onPong(event.from, message.seq);
  };

  private onPong(peer: PeerIdString, seq: number): void {
    const status = this.statuses.get(peer);
    // Our own send time, not the echoed one: a peer cannot make its RTT look better than it is.
    const sentAt = status?.outstanding.get(seq);
    if (status === undefined || sentAt === undefined) {
      this.logger.debug({ peer, seq }, 'ignored a pong for no outstanding ping');
      return;
    }
    status.outstanding.delete(seq);
    const now = this.clock.now();
    const rtt = Math.max(0, now - sentAt);
    const alpha = this.options.rttSmoothing;
    status.lastRttMs = rtt;
    status.rttMs = status.rttMs === undefined ? rtt : status.rttMs + alpha * (rtt - status.rttMs);
    status.lastPongAt = now;
    if (status.state !== 'up') {
      status.state = 'up';
      status.since = now;
      this.events.emit('peer:up', { peer, rttMs: status.rttMs });
    }
  }

  private readonly onPeerConnect = (event: TransportEvents['peer:connect']): void => {
    // Ping at once: a returning peer shows up within one round trip, not one interval.
    if (this.timer !== undefined) this.ping(event.peer);
  };

  private readonly onPeerDisconnect = (event: TransportEvents['peer:disconnect']): void => {
    const status = this.statuses.get(event.peer);
    if (status === undefined) return;
    status.outstanding.clear();
    if (status.state === 'up') this.markDown(event.peer, status);
  };

  private markDown(peer: PeerIdString, status: MutableStatus): void {
    status.state = 'down';
    status.since = this.clock.now();
    this.events.emit('peer:down', { peer, rttMs: status.rttMs });
  }

  private status(peer: PeerIdString): MutableStatus {
    let status = this.statuses.get(peer);
    if (status === undefined) {
      status = {
        state: 'down',
        rttMs: undefined,
        lastRttMs: undefined,
        lastPongAt: undefined,
        since: this.clock.now(),
        nextSeq: 0,
        outstanding: new Map(),
      };
      this.statuses.set(peer, status);
    }
    return status;
  }

  private snapshot(peer: PeerIdString, status: MutableStatus): PeerStatus {
    const { state, rttMs, lastRttMs, lastPongAt, since } = status;
    return { peer, state, rttMs, lastRttMs, lastPongAt, since };
  }
}
