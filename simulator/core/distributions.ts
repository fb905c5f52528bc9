/**
 * Latency distributions for simulated links and disks, and their sampling from a Random. Each
 * is described by numbers a user can reason about (a mean, a median and a 99th percentile), not by
 * a distribution's own parameters.
 */
import type { Random } from '../../core/random.js';

/** How long something takes, in milliseconds. */
export type LatencyDistribution =
  /** Always `ms`. */
  | { readonly type: 'fixed'; readonly ms: number }
  /** Uniform in [minMs, maxMs). */
  | { readonly type: 'uniform'; readonly minMs: number; readonly maxMs: number }
  /** Normal around `meanMs`, cut at `minMs` (default 0): a link with jitter. */
  | { readonly type: 'normal'; readonly meanMs: number; readonly stdDevMs: number; readonly minMs?: number }
  /**
   * Log-normal with this median and 99th percentile: most samples near the median and a long
   * tail (queueing, retransmissions), as measured on wide-area links.
   */
  | { readonly type: 'long-tail'; readonly medianMs: number; readonly p99Ms: number };

/** The 99th percentile of the standard normal distribution. */
const z99 = 2.326_347_874;

/** A standard normal sample (Box–Muller; the second value is dropped so each sample costs two draws). */
export function standardNormal(random: Random): number {
  // 1 - float() is in (0, 1]: the logarithm stays finite.
  const radius = Math.sqrt(-2 * Math.log(1 - random.float()));
  return radius * Math.cos(2 * Math.PI * random.float());
}

/** One sample of `distribution`, never negative. A fixed distribution draws nothing. */
export function sampleLatency(distribution: LatencyDistribution, random: Random): number {
  switch (distribution.type) {
    case 'fixed':
      return distribution.ms;
    case 'uniform':
      return distribution.minMs + random.float() * (distribution.maxMs - distribution.minMs);
    case 'normal':
      return Math.max(distribution.minMs ?? 0, distribution.meanMs + distribution.stdDevMs * standardNormal(random));
    case 'long-tail': {
      const mu = Math.log(distribution.medianMs);
      const sigma = (Math.log(distribution.p99Ms) - mu) / z99;
      return Math.exp(mu + sigma * standardNormal(random));
    }
  }
}

/** Throws a RangeError naming what is wrong with `distribution`. */
export function checkLatency(distribution: LatencyDistribution, name = 'latency'): void {
  const fail = (why: string): never => {
    throw new RangeError(`${name}: ${why} (${JSON.stringify(distribution)})`);
  };
  const nonNegative = (value: number): boolean => Number.isFinite(value) && value >= 0;
  switch (distribution.type) {
    case 'fixed':
      if (!nonNegative(distribution.ms)) fail('ms must be a finite number ≥ 0');
      return;
    case 'uniform':
      if (!nonNegative(distribution.minMs) || !(distribution.maxMs >= distribution.minMs) || !Number.isFinite(distribution.maxMs)) {
        fail('needs 0 ≤ minMs ≤ maxMs');
      }
      return;
    case 'normal':
      if (!nonNegative(distribution.meanMs) || !nonNegative(distribution.stdDevMs) || !nonNegative(distribution.minMs ?? 0)) {
        fail('meanMs, stdDevMs and minMs must be finite numbers ≥ 0');
      }
      return;
    case 'long-tail':
      if (!(distribution.medianMs > 0) || !(distribution.p99Ms >= distribution.medianMs) || !Number.isFinite(distribution.p99Ms)) {
        fail('needs 0 < medianMs ≤ p99Ms');
      }
      return;
  }
}

/** A short human form for timelines (`20–80ms`, `~50ms p99 400ms`). */
export function describeLatency(distribution: LatencyDistribution): string {
  switch (distribution.type) {
    case 'fixed':
      return `${distribution.ms}ms`;
    case 'uniform':
      return `${distribution.minMs}–${distribution.maxMs}ms`;
    case 'normal':
      return `${distribution.meanMs}±${distribution.stdDevMs}ms`;
    case 'long-tail':
      return `~${distribution.medianMs}ms p99 ${distribution.p99Ms}ms`;
  }
}
