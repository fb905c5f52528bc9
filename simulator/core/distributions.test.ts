import { describe, expect, it } from 'vitest';
import { checkLatency, describeLatency, sampleLatency, type LatencyDistribution } from './distributions.js';
import { SeededRandom } from './seeded-random.js';

function samples(distribution: LatencyDistribution, count: number): number[] {
  const random = new SeededRandom('latency');
  return Array.from({ length: count }, () => sampleLatency(distribution, random)).sort((a, b) => a - b);
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

describe('latency distributions', () => {
  it('fixed is fixed and draws nothing', () => {
    const random = new SeededRandom('fixed');
    const before = new SeededRandom('fixed').nextUint32();
    expect(sampleLatency({ type: 'fixed', ms: 12 }, random)).toBe(12);
    expect(random.nextUint32()).toBe(before);
  });

  it('uniform stays in its range', () => {
    const values = samples({ type: 'uniform', minMs: 20, maxMs: 80 }, 5_000);
    expect(values[0]).toBeGreaterThanOrEqual(20);
    expect(values[values.length - 1]).toBeLessThan(80);
    expect(quantile(values, 0.5)).toBeCloseTo(50, -1);
  });

  it('normal centres on its mean and never goes below its floor', () => {
    const values = samples({ type: 'normal', meanMs: 50, stdDevMs: 10, minMs: 30 }, 10_000);
    expect(values[0]).toBeGreaterThanOrEqual(30);
    expect(Math.abs(quantile(values, 0.5) - 50)).toBeLessThan(1);
    expect(Math.abs(quantile(values, 0.841) - 60)).toBeLessThan(1.5);
  });

  it('long-tail has the median and the 99th percentile it was given', () => {
    const values = samples({ type: 'long-tail', medianMs: 40, p99Ms: 400 }, 40_000);
    expect(Math.abs(quantile(values, 0.5) / 40 - 1)).toBeLessThan(0.05);
    expect(Math.abs(quantile(values, 0.99) / 400 - 1)).toBeLessThan(0.15);
    expect(values[0]).toBeGreaterThan(0);
  });

  it('refuses nonsense with the reason', () => {
    expect(() => checkLatency({ type: 'uniform', minMs: 10, maxMs: 5 })).toThrow(/minMs ≤ maxMs/);
    expect(() => checkLatency({ type: 'fixed', ms: -1 })).toThrow(RangeError);
    expect(() => checkLatency({ type: 'long-tail', medianMs: 50, p99Ms: 10 })).toThrow(/medianMs ≤ p99Ms/);
    expect(() => checkLatency({ type: 'normal', meanMs: 5, stdDevMs: Number.NaN })).toThrow(RangeError);
    expect(describeLatency({ type: 'long-tail', medianMs: 50, p99Ms: 400 })).toBe('~50ms p99 400ms');
  });
});
