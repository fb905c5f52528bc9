/**
 * The one real implementation of the Clock, Random and Logger ports: the only module of Cheops
 * that reads the wall clock, the OS random source or starts timers directly.
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pino, type DestinationStream } from 'pino';
import type { Clock, Timer } from './clock.js';
import type { Logger, LogLevel } from './logger.js';
import type { Random } from './random.js';

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout(callback, delayMs): Timer {
    // Node runs a 0 ms timeout 1 ms later at the earliest; "as soon as pending I/O is handled"
    // is what a caller of 0 means (the write path defers a replicated create's change so, and
    // that millisecond delayed every replication).
    if (delayMs <= 0) {
      const immediate = setImmediate(callback);
      return { cancel: () => clearImmediate(immediate) };
    }
    const handle = setTimeout(callback, delayMs);
    return { cancel: () => clearTimeout(handle) };
  },
  setInterval(callback, intervalMs): Timer {
    const handle = setInterval(callback, intervalMs);
    return { cancel: () => clearInterval(handle) };
  },
};

export const systemRandom: Random = {
  float: () => randomInt(0, 2 ** 48 - 1) / 2 ** 48,
  int: (maxExclusive) => randomInt(0, maxExclusive),
  bytes: (length) => new Uint8Array(randomBytes(length)),
  uuid: () => randomUUID(),
  fork: () => systemRandom,
};

export interface LoggerOptions {
  readonly level?: LogLevel | 'silent';
  readonly name?: string;
  /** Where log lines go; standard error by default, so standard output stays for command output. */
  readonly destination?: DestinationStream;
}

/** A pino logger writing JSON lines (one per entry) to standard error. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    { level: options.level ?? 'info', name: options.name ?? 'cheops', base: { pid: process.pid } },
    options.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
