import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BatchedHistogram } from './batched-histogram.js';

const config = { name: 'x_seconds', help: 'x', buckets: [0.1, 1] } as const;

/** The same observations through prom-client's own Histogram and through the batched one. */
function both(): { own: Registry; batched: Registry } {
  const own = new Registry();
  const batched = new Registry();
  const reference = new Histogram({ ...config, buckets: [...config.buckets], labelNames: ['kind'], registers: [own] });
  const histogram = new BatchedHistogram({ ...config, label: 'kind', values: ['a', 'b', 'c'] });
  batched.registerMetric(histogram);
  for (const [kind, index, value] of [['a', 0, 0.05], ['a', 0, 0.5], ['a', 0, 7], ['c', 2, 1]] as const) {
    reference.observe({ kind }, value);
    histogram.record(index, value);
  }
  return { own, batched };
}

describe('BatchedHistogram', () => {
  it('renders exactly what prom-client renders for the same observations', async () => {
    const { own, batched } = both();
    expect(await batched.metrics()).toBe(await own.metrics());
  });

  it('exports the same JSON (exemplars aside: there are none), and resets', async () => {
    const { own, batched } = both();
    const withoutExemplars = (json: unknown): unknown => JSON.parse(JSON.stringify(json, (key, value: unknown) => (key === 'exemplar' ? undefined : value)));
    expect(withoutExemplars(await batched.getMetricsAsJSON())).toEqual(withoutExemplars(await own.getMetricsAsJSON()));
    batched.resetMetrics();
    expect(await batched.metrics()).not.toContain('x_seconds_count');
  });
});
