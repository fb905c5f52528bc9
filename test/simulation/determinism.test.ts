/**
 * The simulator's first promise: a seed replays a run exactly. One scenario with every fault
 * (latency with a long tail, loss, resets, gossip reordering and duplicates, clock skew, a
 * partition, a crash and restart, a heal) run twice from one seed must give the same trace hash
 * and the same document heads; another seed must give another trace.
 */
import { describe, expect, it } from 'vitest';
import { startSimulation, type Seed } from '../../simulator/index.js';
import { directoryConverged, directoryHeads, setHttp } from './support.js';

interface Outcome {
  readonly hash: string;
  readonly heads: Record<string, string[]>;
  readonly timeline: string;
  readonly events: number;
}

async function scenario(seed: Seed): Promise<Outcome> {
  const sim = await startSimulation({
    seed,
    sites: 4,
    link: { latency: { type: 'long-tail', medianMs: 10, p99Ms: 150 }, loss: 0.02, reset: 0.002, reorder: 0.2, duplicate: 0.05 },
    maxClockSkewMs: 500,
  });
  try {
    await sim.runUntil(() => directoryConverged(sim), { timeoutMs: 30_000 });
    sim.setLink('Site1', 'Site4', { latency: { type: 'normal', meanMs: 120, stdDevMs: 30 }, loss: 0.1 });
    sim.partition([['Site1', 'Site2'], ['Site3', 'Site4']]);
    await setHttp(sim, 'Site1', 'http://Site1.sim/left');
    await setHttp(sim, 'Site3', 'http://Site3.sim/right');
    await sim.runFor(3_000);
    sim.crash('Site2');
    await sim.runFor(1_500);
    await sim.restart('Site2');
    sim.heal();
    const converged = await sim.runUntil(() => directoryConverged(sim), { timeoutMs: 60_000 });
    expect(converged).toBe(true);
    await sim.runFor(5_000);
    return { hash: sim.traceHash(), heads: directoryHeads(sim), timeline: sim.trace.timeline(), events: sim.clock.events };
  } finally {
    sim.stop();
  }
}

describe('determinism', () => {
  it('replays a run exactly from its seed, and another seed gives another run', async () => {
    const first = await scenario(1234);
    const again = await scenario(1234);
    expect(again.timeline).toBe(first.timeline);
    expect(again.hash).toBe(first.hash);
    expect(again.heads).toEqual(first.heads);
    expect(again.events).toBe(first.events);

    const other = await scenario(4321);
    expect(other.hash).not.toBe(first.hash);
    expect(other.heads).not.toEqual(first.heads);
  });
});
