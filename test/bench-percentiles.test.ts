import { describe, expect, it } from 'vitest';
import { defaultReplicationDelayOptions } from '../bench/replication-delay.js';
import { defaultSimReplicationDelayOptions } from '../bench/sim-replication-delay.js';
import { minSamplesForP99, percentile, summarize } from '../bench/stack-report.js';

describe('the p99 the replication-delay benchmarks report', () => {
  it('is the nearest-rank p99: of 100 values the second largest, of 20 their maximum', () => {
    const hundred = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(percentile(hundred, 0.99)).toBe(99);
    expect(summarize(hundred.slice(0, 20).reverse()).p99).toBe(20);
  });

  it('rests on at least 100 (write, remote site) pairs at every number of sites measured', () => {
    for (const sites of defaultReplicationDelayOptions.siteCounts) {
      expect(defaultReplicationDelayOptions.writes(sites) * (sites - 1)).toBeGreaterThanOrEqual(minSamplesForP99);
    }
    for (const sites of defaultSimReplicationDelayOptions.sites) {
      expect(defaultSimReplicationDelayOptions.writes(sites) * (sites - 1)).toBeGreaterThanOrEqual(minSamplesForP99);
    }
  });
});
