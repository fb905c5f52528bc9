/**
 * One direction of one relayed TCP connection: every chunk read from the source is written to the
 * destination when the link says it arrives, in the order it was read. A link direction
 * (`LinkDirection`) is shared by every connection on the link, because they share its bandwidth.
 */
import type { Socket } from 'node:net';
import type { Clock, Timer } from '../../core/clock.js';
import type { Random } from '../../core/random.js';
import { sampleLatency } from '../core/distributions.js';
import { chunkDelayMs, type LinkConditions } from './link-conditions.js';

/** What crossed one direction of a link, since the relay started. */
export interface DirectionStats {
  /** Bytes read from the sending side. */
  bytesIn: number;
  /** Bytes written to the receiving side (less than `bytesIn` while some are in flight or held). */
  bytesOut: number;
  chunks: number;
  /** Chunks that drew a loss (each delayed by a retransmission, never dropped). */
  lossEvents: number;
  retransmits: number;
  /** Most bytes waiting in one connection's direction at once (a queue that grows: the link is the bottleneck). */
  maxQueuedBytes: number;
}

/** One direction of a link: its conditions, its bandwidth, its counters. */
export class LinkDirection {
  readonly stats: DirectionStats = { bytesIn: 0, bytesOut: 0, chunks: 0, lossEvents: 0, retransmits: 0, maxQueuedBytes: 0 };
  /** When the link finishes sending what it was given (bandwidth is shared by every connection). */
  private busyUntilMs = 0;

  constructor(
    public conditions: LinkConditions,
    private readonly random: Random,
  ) {}

  /** When a chunk of `bytes` read at `nowMs` reaches the far end, before ordering behind earlier chunks. */
  arrivalMs(nowMs: number, bytes: number): number {
    let sentMs = nowMs;
    const bandwidth = this.conditions.bandwidthBytesPerSecond;
    if (bandwidth !== undefined) {
      this.busyUntilMs = Math.max(nowMs, this.busyUntilMs) + (bytes / bandwidth) * 1000;
      sentMs = this.busyUntilMs;
    }
    const { delayMs, retransmits } = chunkDelayMs(this.conditions, bytes, this.random);
    this.stats.chunks += 1;
    if (retransmits > 0) {
      this.stats.lossEvents += 1;
      this.stats.retransmits += retransmits;
    }
    return sentMs + delayMs;
  }

  /** A one-way delay with no loss drawn: for handshakes and a heal's first delivery. */
  latencyMs(): number {
    return sampleLatency(this.conditions.latency, this.random);
  }
}

interface Pending {
  /** The bytes, or undefined for the end of the stream (the source's FIN). */
  readonly data: Buffer | undefined;
  atMs: number;
}

export interface DelayLineOptions {
  /** Bytes waiting in this direction above which the source is paused (TCP's window closing). */
  readonly highWaterMarkBytes: number;
  /** Nothing is delivered before this time (the connection's handshake). */
  readonly notBeforeMs: number;
}

/** Carries one direction of one connection. `start()` begins reading. */
export class DelayLine {
  private readonly queue: Pending[] = [];
  private head = 0;
  private lastAtMs: number;
  private queuedBytes = 0;
  private timer: Timer | undefined;
  private held = false;
  private waitingDrain = false;
  private stopped = false;

  constructor(
    private readonly source: Socket,
    private readonly destination: Socket,
    private readonly direction: LinkDirection,
    private readonly clock: Clock,
    private readonly options: DelayLineOptions,
  ) {
    this.lastAtMs = options.notBeforeMs;
  }

  start(): void {
    this.source.on('data', this.onData);
    this.source.on('end', this.onEnd);
    this.destination.on('drain', this.onDrain);
  }

  /** Stops delivering and reading (a black hole): what is read stays queued until `release()`. */
  hold(): void {
    this.held = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.source.pause();
  }

  /**
   * Delivers again: what waited is sent one one-way delay after now (the retransmissions that
   * finally get through), still in order.
   */
  release(): void {
    if (!this.held || this.stopped) return;
    this.held = false;
    const floor = this.clock.now() + this.direction.latencyMs();
    for (let index = this.head; index < this.queue.length; index += 1) {
      const pending = this.queue[index]!;
      pending.atMs = Math.max(pending.atMs, floor);
    }
    this.lastAtMs = Math.max(this.lastAtMs, floor);
    this.maybeResume();
    this.arm();
  }

  /** Drops what is queued and stops reading; the sockets are the caller's to close. */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.queue.length = 0;
    this.head = 0;
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.destination.off('drain', this.onDrain);
  }

  private readonly onData = (chunk: Buffer): void => {
    const stats = this.direction.stats;
    stats.bytesIn += chunk.length;
    const atMs = Math.max(this.lastAtMs, this.direction.arrivalMs(this.clock.now(), chunk.length));
    this.push({ data: chunk, atMs });
    this.queuedBytes += chunk.length;
    stats.maxQueuedBytes = Math.max(stats.maxQueuedBytes, this.queuedBytes);
    if (this.queuedBytes > this.options.highWaterMarkBytes) this.source.pause();
    this.arm();
  };

  private readonly onEnd = (): void => {
    this.push({ data: undefined, atMs: Math.max(this.lastAtMs, this.clock.now() + this.direction.latencyMs()) });
    this.arm();
  };

  private readonly onDrain = (): void => {
    this.waitingDrain = false;
    this.maybeResume();
  };

  private push(pending: Pending): void {
    this.lastAtMs = pending.atMs;
    this.queue.push(pending);
  }

  private arm(): void {
    if (this.held || this.stopped || this.timer !== undefined || this.head >= this.queue.length) return;
    const first = this.queue[this.head]!;
    // Rounded up: a timer that fires early would find nothing due and cost one more turn.
    const delayMs = Math.max(0, Math.ceil(first.atMs - this.clock.now()));
    this.timer = this.clock.setTimeout(this.flush, delayMs);
  }

  private readonly flush = (): void => {
    this.timer = undefined;
    if (this.held || this.stopped) return;
    const now = this.clock.now();
    while (this.head < this.queue.length && this.queue[this.head]!.atMs <= now) {
      const { data } = this.queue[this.head]!;
      this.head += 1;
      this.deliver(data);
      if (this.stopped) return;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.maybeResume();
    this.arm();
  };

  private deliver(data: Buffer | undefined): void {
    if (this.destination.destroyed) return;
    if (data === undefined) {
      this.destination.end();
      return;
    }
    this.queuedBytes -= data.length;
    this.direction.stats.bytesOut += data.length;
    if (!this.destination.write(data)) this.waitingDrain = true;
  }

  private maybeResume(): void {
    if (this.held || this.stopped || this.waitingDrain) return;
    if (this.queuedBytes <= this.options.highWaterMarkBytes / 2 && this.source.isPaused()) this.source.resume();
  }
}
