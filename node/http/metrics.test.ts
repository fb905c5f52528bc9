import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createFrontMetrics, processMetrics } from './metrics.js';

/** V8's collector, made callable without starting the process with --expose-gc. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** A site's registry with the front's metrics on it, of which only a weak reference leaves. */
function frontRegistry(): WeakRef<Registry> {
  const registry = new Registry();
  createFrontMetrics(registry).finished('passthrough', 'GET', 200, 0.001);
  return new WeakRef(registry);
}

describe('front metrics', () => {
  it('leave nothing behind a site that is gone: its registry is collected', async () => {
    const gc = collector();
    const refs = [frontRegistry(), frontRegistry(), frontRegistry()];
    // A weak reference holds its target until the current job ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    // prom-client's default metrics on a site's registry kept it for good (an event-loop monitor
    // and a GC observer nothing stops): a simulator swarm kept every site it had run.
    expect(refs.map((ref) => ref.deref())).toEqual([undefined, undefined, undefined]);
  });

  it('serve the process metrics from one registry per process, not from each site', async () => {
    const site = new Registry();
    createFrontMetrics(site);
    expect(await site.metrics()).not.toContain('cheops_process_cpu_user_seconds_total');
    expect(processMetrics()).toBe(processMetrics());
    expect(await processMetrics().metrics()).toContain('cheops_process_cpu_user_seconds_total');
  });
});
