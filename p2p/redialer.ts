/**
 * Keeps this site connected to a set of addresses (the `--peer` addresses, and addresses learnt
 * later for known peers): libp2p does not redial a lost peer by itself. A target that is not
 * connected is dialled again with capped exponential backoff and full jitter; the cap is low
 * (2 s) so a restarted site is connected again, and seen up by heartbeats, within 5 s.
 */
import { deadlineSignal, type Clock, type Timer } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { PeerIdString } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { backoffDelayMs, type Random } from '../core/random.js';
import type { Transport, TransportEvents } from './transport.js';

export interface RedialerOptions {
  /** First retry delay; default 250 ms (jittered between half of it and all of it). */
  readonly baseDelayMs?: number;
  /** Longest delay between attempts; default 2,000 ms (a restarted peer is back within 5 s). */
  readonly maxDelayMs?: number;
  /** Deadline of one dial; default 3,000 ms (a dropped SYN must not stall the retries). */
  readonly dialTimeoutMs?: number;
  /** Period of the sweep that catches targets left unconnected; default 1,000 ms. */
  readonly checkIntervalMs?: number;
}

export interface RedialerComponents {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
}

/** A target as the redialer sees it. */
export interface RedialTarget {
  readonly address: string;
  /** The peer id learnt on the first successful dial (or given with the address). */
  readonly peer: PeerIdString | undefined;
  /** Failed attempts since the last success. */
  readonly failures: number;
  readonly connected: boolean;
}

interface Target {
  readonly address: string;
  peer: PeerIdString | undefined;
  failures: number;
  timer: Timer | undefined;
  dialing: AbortController | undefined;
}

export function createRedialer(options: RedialerOptions, components: RedialerComponents): Redialer {
  return new Redialer(options, components);
}

/** Redials the addresses it is given until stopped. */
export class Redialer {
  private readonly options: Required<RedialerOptions>;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly logger: Logger;
  private readonly targets = new Map<string, Target>();
  private sweep: Timer | undefined;

  constructor(options: RedialerOptions, components: RedialerComponents) {
    this.options = { baseDelayMs: 250, maxDelayMs: 2_000, dialTimeoutMs: 3_000, checkIntervalMs: 1_000, ...options };
    this.transport = components.transport;
    this.clock = components.clock;
    this.random = components.random;
    this.logger = components.logger.child({ component: 'redialer' });
  }

  start(): void {
    if (this.sweep !== undefined) return;
    this.transport.on('peer:disconnect', this.onPeerDisconnect);
    this.sweep = this.clock.setInterval(() => this.check(), this.options.checkIntervalMs);
    for (const target of this.targets.values()) this.schedule(target, 0);
  }

  stop(): void {
    this.sweep?.cancel();
    this.sweep = undefined;
    this.transport.off('peer:disconnect', this.onPeerDisconnect);
    for (const target of this.targets.values()) this.cancel(target);
  }

  /** Stays connected to `address`; `peer`, when known, avoids dialling a peer already connected. */
  add(address: string, peer?: PeerIdString): void {
    const existing = this.targets.get(address);
    if (existing !== undefined) {
      if (peer !== undefined) existing.peer = peer;
      return;
    }
    const target: Target = { address, peer, failures: 0, timer: undefined, dialing: undefined };
    this.targets.set(address, target);
    if (this.sweep !== undefined) this.schedule(target, 0);
  }

  /** Stops redialling `address` (an open connection stays open). */
  remove(address: string): void {
    const target = this.targets.get(address);
    if (target === undefined) return;
    this.cancel(target);
    this.targets.delete(address);
  }

  /** A snapshot of the targets. */
  list(): RedialTarget[] {
    return [...this.targets.values()].map((target) => ({
      address: target.address,
      peer: target.peer,
      failures: target.failures,
      connected: this.isConnected(target),
    }));
  }

  private readonly onPeerDisconnect = (event: TransportEvents['peer:disconnect']): void => {
    for (const target of this.targets.values()) {
      if (target.peer === event.peer && target.timer === undefined && target.dialing === undefined) {
        this.schedule(target, this.delay(0));
      }
    }
  };

  /** Schedules every target that is neither connected nor already being dialled. */
  private check(): void {
    for (const target of this.targets.values()) {
      if (target.timer === undefined && target.dialing === undefined && !this.isConnected(target)) {
        this.schedule(target, this.delay(target.failures));
      }
    }
  }

  private schedule(target: Target, delayMs: number): void {
    target.timer?.cancel();
    target.timer = this.clock.setTimeout(() => {
      target.timer = undefined;
      void this.dial(target);
    }, delayMs);
  }

  private async dial(target: Target): Promise<void> {
    if (this.sweep === undefined || target.dialing !== undefined || this.isConnected(target)) return;
    const controller = new AbortController();
    target.dialing = controller;
    try {
      const peer = await this.transport.dial(
        target.address,
        deadlineSignal(this.clock, this.options.dialTimeoutMs, controller.signal),
      );
      if (target.peer !== undefined && target.peer !== peer) {
        this.logger.warn({ address: target.address, expected: target.peer, peer }, 'another peer answers at this address');
      }
      target.peer = peer;
      target.failures = 0;
    } catch (error) {
      target.failures += 1;
      this.logger.debug(
        { address: target.address, failures: target.failures, err: errorMessage(error) },
        'redial failed',
      );
      if (this.sweep !== undefined && this.targets.get(target.address) === target) {
        this.schedule(target, this.delay(target.failures - 1));
      }
    } finally {
      target.dialing = undefined;
      // Aborting after the fact cancels the deadline's timer, so nothing stays scheduled.
      controller.abort();
    }
  }

  private delay(attempt: number): number {
    return backoffDelayMs(this.random, attempt, { baseMs: this.options.baseDelayMs, maxMs: this.options.maxDelayMs });
  }

  private isConnected(target: Target): boolean {
    return target.peer !== undefined && this.transport.connectedPeers().includes(target.peer);
  }

  private cancel(target: Target): void {
    target.timer?.cancel();
    target.timer = undefined;
    target.dialing?.abort();
    target.dialing = undefined;
  }
}
