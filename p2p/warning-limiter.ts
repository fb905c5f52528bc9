/**
 * Rate-limits the warnings a peer can make us log. Every malformed or refused message is worth a
 * warning, but a hostile peer that sends them in a loop would otherwise fill the log (and the disk
 * under it) at the rate of its uplink. Per peer, the first `burst` warnings of a window are logged
 * as they come; the rest are only counted, and summed up in one warning when the window ends. The
 * callers' own counters (DocSync `stats()`) still count every message.
 */
import type { Clock, Timer } from '../core/clock.js';
import type { Logger } from '../core/logger.js';

export interface WarningLimiterOptions {
  /** Warnings logged per peer and window before the rest are only counted; default 10. */
  readonly burst?: number;
  /** Length of a window; default 60,000 ms: at most one summary per peer and minute. */
  readonly windowMs?: number;
  /**
   * Most peers followed at once; default 1,000. A peer id costs nothing to make, so beyond this
   * the warnings of every further peer share one window instead of growing the map.
   */
  readonly maxPeers?: number;
}

export interface WarningLimiterComponents {
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The message of the summary logged when a window that suppressed warnings ends. */
export const suppressedWarningsMessage = 'suppressed repeated warnings about a peer';

/** The key of the window shared by the peers beyond `maxPeers`. */
const otherPeers = '(other peers)';

interface Window {
  readonly start: number;
  logged: number;
  suppressed: number;
  /** Suppressed warnings by message: the summary says what was suppressed. */
  readonly messages: Map<string, number>;
}

/** Logs at most `burst` warnings per peer and window, then one summary. */
export class PeerWarningLimiter {
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly maxPeers: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  /** Open windows in the order they opened (a Map keeps insertion order): the first ends first. */
  private readonly windows = new Map<string, Window>();
  private timer: Timer | undefined;

  constructor(options: WarningLimiterOptions, components: WarningLimiterComponents) {
    this.burst = options.burst ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxPeers = options.maxPeers ?? 1_000;
    this.clock = components.clock;
    this.logger = components.logger;
  }

  /** Logs `message` with `fields` as a warning about `peer`, unless the peer's window is spent. */
  warn(peer: string, fields: object, message: string): void {
    const now = this.clock.now();
    const key = this.windows.has(peer) || this.windows.size < this.maxPeers ? peer : otherPeers;
    let window = this.windows.get(key);
    if (window !== undefined && now - window.start >= this.windowMs) {
      this.close(key, window);
      window = undefined;
    }
    if (window === undefined) {
      window = { start: now, logged: 0, suppressed: 0, messages: new Map() };
      this.windows.set(key, window);
      this.schedule(now);
    }
    if (window.logged < this.burst) {
      window.logged += 1;
      this.logger.warn(fields, message);
      return;
    }
    window.suppressed += 1;
    window.messages.set(message, (window.messages.get(message) ?? 0) + 1);
  }

  /** Number of peers with an open window (tests: the map shrinks). */
  size(): number {
    return this.windows.size;
  }

  /** Logs the summaries still owed and cancels the timer. */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    for (const [key, window] of this.windows) this.close(key, window);
  }

  /** Closes the windows that ended, so the map holds only peers heard from lately. */
  private sweep(): void {
    this.timer = undefined;
    const now = this.clock.now();
    for (const [key, window] of this.windows) {
      if (now - window.start < this.windowMs) break;
      this.close(key, window);
    }
    this.schedule(now);
  }

  private schedule(now: number): void {
    if (this.timer !== undefined) return;
    const first = this.windows.values().next();
    if (first.done === true) return;
    const delayMs = Math.max(0, first.value.start + this.windowMs - now);
    this.timer = this.clock.setTimeout(() => this.sweep(), delayMs);
  }

  private close(key: string, window: Window): void {
    this.windows.delete(key);
    if (window.suppressed === 0) return;
    this.logger.warn(
      {
        peer: key,
        suppressed: window.suppressed,
        windowMs: this.windowMs,
        messages: Object.fromEntries(window.messages),
      },
      suppressedWarningsMessage,
    );
  }
}
