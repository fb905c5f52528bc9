/**
 * Heartbeats: every `intervalMs` each connected peer is pinged on the `heartbeat` channel. They
 * measure RTT (smoothed, plus the last sample) and drive each known peer's state: `up` on the
 * first answer, `down` when the transport disconnects or when no answer came for `downAfterMs`.
 * Written against the Transport port and the Clock only.
 *
 * A ping is answered by a pong at once only when it asks (`reply`: the sender is still taking the
 * warm-up samples of this connection). Otherwise the peer answers it in its own next ping, with
 * how long it held it, which the RTT leaves out. Both sides ping every interval anyway, so in
 * steady state a link carries one message each way per interval instead of two: on libp2p a
 * small message costs ~0.2 ms of CPU at each end, and an idle site pings every peer every second.
 *
 * The first ping after a (re)connect, or after the peer went silent, is cold: it pays for opening
 * the stream (and, early in a process, for JIT warm-up), so a loopback peer's first sample reads
 * 100–300 ms. Its pong marks the peer up but is kept out of the smoothed RTT, as is any ping sent
 * before it came back (it queued behind the stream's opening). A warm ping follows at once. The
 * first warm samples still carry the work a connect sets off (identify, subscriptions, the first
 * anti-entropy: ~20 ms against a steady ~3 ms on loopback), and delay only ever adds: during the
 * first `rttWarmupSamples` warm samples the RTT is their minimum, and the average starts from it.
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
import { InFlightSends } from './in-flight.js';
import type { Transport, TransportEvents } from './transport.js';
import { TypedEmitter } from './typed-emitter.js';
import { PeerWarningLimiter, type WarningLimiterOptions } from './warning-limiter.js';

export type PeerState = 'up' | 'down';

/** What heartbeats know of one peer. */
export interface PeerStatus {
  readonly peer: PeerIdString;
  readonly state: PeerState;
  /**
   * Smoothed round-trip time (exponential moving average) of warm samples, once measured. After a
   * reconnect it keeps its last value until the first warm sample replaces it.
   */
  readonly rttMs: number | undefined;
  /** The last round-trip time measured, cold samples included. */
  readonly lastRttMs: number | undefined;
  /** Clock time of the last pong. */
  readonly lastPongAt: number | undefined;
  /** Clock time of the last change of state (or of first sight). */
  readonly since: number;
}

export interface PeerLivenessEvent {
  readonly peer: PeerIdString;
  /**
   * The smoothed RTT when the event fired, if any was measured (none on a first `peer:up`: the
   * pong that marks a peer up is a cold sample).
   */
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
  /**
   * Silence after which the connection is closed, so that the redialer dials again; default
   * 10,000 ms, or twice downAfterMs if more. A connection whose packets vanish (a black-holed
   * link) otherwise stays open for minutes: TCP does not notice, and the pings that would show it
   * are ours. This replaces libp2p's connection monitor, which opened a new stream per
   * connection every 10 s to find out.
   */
  readonly hangUpAfterMs?: number;
  /** Weight of a new sample in the smoothed RTT; default 0.2 (TCP's SRTT uses 1/8). */
  readonly rttSmoothing?: number;
  /**
   * Warm samples after a (re)connect whose minimum, rather than their average, is the RTT;
   * default 3 (one at once, two on the next ticks: the connect's burst of work is over by then).
   */
  readonly rttWarmupSamples?: number;
  /** Limits of the warnings a peer's malformed heartbeats can cause (see PeerWarningLimiter). */
  readonly warnings?: WarningLimiterOptions;
}

/** Counters for metrics and tests. */
export interface HeartbeatStats {
  /** Heartbeats dropped because they did not decode (each counted, even when not logged). */
  malformed: number;
  /** Pings and pongs not sent because the peer's earlier ones were still waiting in the transport. */
  skippedSends: number;
}

/**
 * Most heartbeat sends to one peer waiting in the transport. A peer that stops reading must not
 * make our queue to it grow with every ping we send and every ping it sends us; the pongs it then
 * misses are the truth (it is not listening).
 */
const maxSendsInFlight = 8;

export interface HeartbeatComponents {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly logger: Logger;
}

export function createHeartbeats(options: HeartbeatOptions, components: HeartbeatComponents): Heartbeats {
  return new Heartbeats(options, components);
}

interface OutstandingPing {
  /** Our clock when we sent it. */
  readonly sentAt: number;
  /** Sent after a pong came on this connection: its sample measures the link, not the setup. */
  readonly warm: boolean;
}

interface MutableStatus {
  state: PeerState;
  rttMs: number | undefined;
  lastRttMs: number | undefined;
  lastPongAt: number | undefined;
  since: number;
  nextSeq: number;
  /** Watched on request (`track`): kept when it disconnects; other peers are then forgotten. */
  tracked: boolean;
  /** A pong came since the last (re)connect or down: pings sent now are warm. */
  warm: boolean;
  /** Warm samples since the last (re)connect or down; the first replaces an older `rttMs`. */
  warmSamples: number;
  /** Pings awaiting their pong, by seq. */
  readonly outstanding: Map<number, OutstandingPing>;
  /** When the current connection opened (clock ms), or undefined when not connected. */
  connectedAt: number | undefined;
  /** The peer's last ping that did not ask for a pong: our next ping answers it. */
  toEcho: { readonly seq: number; readonly receivedAt: number } | undefined;
}

/** Pings peers, measures RTT, and tells when peers go up and down. */
export class Heartbeats {
  private readonly options: Required<HeartbeatOptions>;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly events: TypedEmitter<HeartbeatEvents>;
  private readonly statuses = new Map<PeerIdString, MutableStatus>();
  private readonly inFlight = new InFlightSends<PeerIdString>(maxSendsInFlight);
  private readonly warnings: PeerWarningLimiter;
  private readonly counters: HeartbeatStats = { malformed: 0, skippedSends: 0 };
  private timer: Timer | undefined;

  constructor(options: HeartbeatOptions, components: HeartbeatComponents) {
    this.options = {
      intervalMs: 1_000,
      downAfterMs: 3_000,
      // Never before the peer would be down, whatever downAfterMs is.
      hangUpAfterMs: Math.max(10_000, 2 * (options.downAfterMs ?? 3_000)),
      rttSmoothing: 0.2,
      rttWarmupSamples: 3,
      warnings: {},
      ...options,
    };
    this.transport = components.transport;
    this.clock = components.clock;
    this.logger = components.logger.child({ component: 'heartbeat' });
    this.events = new TypedEmitter(this.logger);
    this.warnings = new PeerWarningLimiter(this.options.warnings, { clock: this.clock, logger: this.logger });
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
    this.warnings.stop();
  }

  /**
   * Watches `peer` for good: it shows `down` until it answers, and stays listed while
   * disconnected. A peer that is only connected is listed while connected.
   */
  track(peer: PeerIdString): void {
    this.status(peer).tracked = true;
  }

  /** Stops watching `peer` for good (it left the site directory); it stays listed while connected. */
  untrack(peer: PeerIdString): void {
    const status = this.statuses.get(peer);
    if (status === undefined) return;
    status.tracked = false;
    if (!this.transport.connectedPeers().includes(peer)) this.statuses.delete(peer);
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

  /** A snapshot of the counters. */
  stats(): HeartbeatStats {
    return { ...this.counters };
  }

  private tick(): void {
    const now = this.clock.now();
    const connected = new Set(this.transport.connectedPeers());
    for (const [peer, status] of this.statuses) {
      const lastHeard = status.lastPongAt ?? Number.NEGATIVE_INFINITY;
      if (status.state === 'up' && now - lastHeard > this.options.downAfterMs) this.markDown(peer, status);
      for (const [seq, ping] of status.outstanding) {
        if (now - ping.sentAt > this.options.downAfterMs) status.outstanding.delete(seq);
      }
      // A disconnect that happened while stopped left no event: forget the untracked peer here.
      if (!status.tracked && !connected.has(peer)) {
        if (status.state === 'up') this.markDown(peer, status);
        this.statuses.delete(peer);
      }
    }
    for (const peer of connected) {
      const status = this.status(peer);
      status.connectedAt ??= now;
      const heard = Math.max(status.lastPongAt ?? Number.NEGATIVE_INFINITY, status.connectedAt);
      if (now - heard > this.options.hangUpAfterMs) this.hangUp(peer, now - heard);
      else this.ping(peer);
    }
  }

  private hangUp(peer: PeerIdString, silentMs: number): void {
    const status = this.status(peer);
    // Counted from now again: one hang-up per silence, even if the transport is slow to close.
    status.connectedAt = this.clock.now();
    this.logger.info({ peer, silentMs }, 'closing a connection that has not answered a ping');
    this.transport.hangUp(peer).catch((error: unknown) => {
      this.logger.debug({ peer, err: errorMessage(error) }, 'closing a silent connection failed');
    });
  }

  private ping(peer: PeerIdString): void {
    const status = this.status(peer);
    const seq = status.nextSeq;
    const sentAt = this.clock.now();
    // Until the warm-up samples are in, the answer must come now, not one interval later: the
    // first RTT a new connection shows is their minimum.
    const reply = !status.warm || status.warmSamples < this.options.rttWarmupSamples;
    const echo = status.toEcho;
    const echoFields = echo === undefined || sentAt - echo.receivedAt > this.options.downAfterMs
      ? {}
      : { echoSeq: echo.seq, echoHeldMs: sentAt - echo.receivedAt };
    if (!this.send(peer, { type: 'ping', v: 1, seq, sentAt, reply, ...echoFields })) return;
    status.toEcho = undefined;
    status.nextSeq += 1;
    status.outstanding.set(seq, { sentAt, warm: status.warm });
  }

  /** Sends `message` unless too many earlier ones wait for `peer`; false when skipped. */
  private send(peer: PeerIdString, message: HeartbeatMessage): boolean {
    if (!this.inFlight.tryStart(peer)) {
      this.counters.skippedSends += 1;
      this.logger.debug({ peer, type: message.type }, 'heartbeat skipped: earlier ones still wait in the transport');
      return false;
    }
    this.transport.send(peer, heartbeatChannel, encodeHeartbeatMessage(message)).then(
      () => this.inFlight.finish(peer),
      (error: unknown) => {
        this.inFlight.finish(peer);
        this.logger.debug({ peer, type: message.type, err: errorMessage(error) }, 'heartbeat not sent');
      },
    );
    return true;
  }

  private readonly onMessage = (event: TransportEvents['message']): void => {
    if (event.channel !== heartbeatChannel || this.timer === undefined) return;
    const decoded = decodeHeartbeatMessage(event.data);
    if (!decoded.ok) {
      this.counters.malformed += 1;
      this.warnings.warn(
        event.from,
        { peer: event.from, reason: decoded.error, code: ErrorCode.PeerMessageInvalid },
        'dropped a malformed heartbeat',
      );
      return;
    }
    const message = decoded.value;
    if (message.type === 'pong') {
      this.onPong(event.from, message.seq, 0);
      return;
    }
    if (message.echoSeq !== undefined) this.onPong(event.from, message.echoSeq, message.echoHeldMs ?? 0);
    if (message.reply === false) {
      this.status(event.from).toEcho = { seq: message.seq, receivedAt: this.clock.now() };
      return;
    }
    this.send(event.from, { type: 'pong', v: 1, seq: message.seq, sentAt: message.sentAt });
  };

  /** An answer to our ping `seq`, after the peer held it `heldMs` (0 for a pong). */
  private onPong(peer: PeerIdString, seq: number, heldMs: number): void {
    const status = this.statuses.get(peer);
    // Our own send time, not the echoed one: a peer cannot make its RTT look better than it is.
    const ping = status?.outstanding.get(seq);
    if (status === undefined || ping === undefined) {
      this.logger.debug({ peer, seq }, 'ignored a pong for no outstanding ping');
      return;
    }
    status.outstanding.delete(seq);
    const now = this.clock.now();
    const elapsed = Math.max(0, now - ping.sentAt);
    const rtt = elapsed - Math.min(elapsed, heldMs);
    status.lastRttMs = rtt;
    status.lastPongAt = now;
    if (ping.warm) this.addSample(status, rtt);
    const wasWarm = status.warm;
    status.warm = true;
    if (status.state !== 'up') {
      status.state = 'up';
      status.since = now;
      this.events.emit('peer:up', { peer, rttMs: status.rttMs });
    }
    // The sample was cold: a warm one one round trip from now, not one interval.
    if (!wasWarm && this.timer !== undefined) this.ping(peer);
  }

  /** Feeds a warm sample to the smoothed RTT: the minimum while warming up, then the average. */
  private addSample(status: MutableStatus, rtt: number): void {
    const previous = status.warmSamples === 0 ? undefined : status.rttMs;
    status.warmSamples += 1;
    if (previous === undefined) status.rttMs = rtt;
    else if (status.warmSamples <= this.options.rttWarmupSamples) status.rttMs = Math.min(previous, rtt);
    else status.rttMs = previous + this.options.rttSmoothing * (rtt - previous);
  }

  private readonly onPeerConnect = (event: TransportEvents['peer:connect']): void => {
    if (this.timer === undefined) return;
    const status = this.status(event.peer);
    status.connectedAt = this.clock.now();
    this.coldStart(status);
    // Ping at once: a returning peer shows up within one round trip, not one interval.
    this.ping(event.peer);
  };

  private readonly onPeerDisconnect = (event: TransportEvents['peer:disconnect']): void => {
    const status = this.statuses.get(event.peer);
    if (status === undefined) return;
    status.outstanding.clear();
    status.toEcho = undefined;
    status.connectedAt = undefined;
    this.coldStart(status);
    if (status.state === 'up') this.markDown(event.peer, status);
    // Peers seen only because they connected are forgotten with their connection: peer ids cost
    // nothing to make, and a map of every peer ever seen would only grow.
    if (!status.tracked) this.statuses.delete(event.peer);
  };

  private markDown(peer: PeerIdString, status: MutableStatus): void {
    status.state = 'down';
    status.since = this.clock.now();
    this.coldStart(status);
    this.events.emit('peer:down', { peer, rttMs: status.rttMs });
  }

  /**
   * The next pong is cold (a new stream, or a link that just came back from a stall). Pings still
   * outstanding turn cold too: a pong that waited out a stall measures the stall.
   */
  private coldStart(status: MutableStatus): void {
    status.warm = false;
    status.warmSamples = 0;
    for (const [seq, ping] of status.outstanding) status.outstanding.set(seq, { ...ping, warm: false });
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
        tracked: false,
        warm: false,
        warmSamples: 0,
        outstanding: new Map(),
        connectedAt: undefined,
        toEcho: undefined,
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
