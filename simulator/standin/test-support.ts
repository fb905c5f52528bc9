/**
 * Test doubles for the stand-in's unit tests: a manual clock and a seeded random source, so that a
 * test controls time and gets the same uids on every run. (The simulator has its own, richer ones.)
 */
import type { Clock, Timer } from '../../core/clock.js';
import { uuidFromBytes, type Random } from '../../core/random.js';

interface Scheduled {
  at: number;
  readonly callback: () => void;
  readonly intervalMs?: number;
  cancelled: boolean;
}

/** A clock that moves only when `advance` is called. */
export class ManualClock implements Clock {
  private current: number;
  private readonly timers: Scheduled[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMs: number): Timer {
    return this.schedule({ at: this.current + delayMs, callback, cancelled: false });
  }

  setInterval(callback: () => void, intervalMs: number): Timer {
    return this.schedule({ at: this.current + intervalMs, callback, intervalMs, cancelled: false });
  }

  private schedule(entry: Scheduled): Timer {
    this.timers.push(entry);
    return { cancel: () => void (entry.cancelled = true) };
  }

  /** Moves time forward by `ms`, running the timers that fall due, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.timers.filter((timer) => !timer.cancelled && timer.at <= target).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.current = Math.max(this.current, due.at);
      if (due.intervalMs === undefined) due.cancelled = true;
      else due.at += due.intervalMs;
      due.callback();
    }
    this.current = target;
  }
}

/** A deterministic Random (mulberry32); `fork` derives an independent stream from the label. */
export class SeededRandom implements Random {
  private state: number;
  private readonly seed: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.state = this.seed;
  }

  private next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }

  float(): number {
    return this.next();
  }

  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.int(256));
  }

  uuid(): string {
    return uuidFromBytes(this.bytes(16));
  }

  fork(label: string): Random {
    let hash = this.seed;
    for (const char of label) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
    return new SeededRandom(hash);
  }
}
