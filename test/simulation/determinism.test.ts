/**
 * The simulator's first promise: a seed replays a run exactly. A run with every fault (partitions
 * cut and black-holed, one-way partitions, crashes and restarts, crashes in the middle of a
 * write, loss, resets, gossip reordering and duplicates, clock skew) and the whole node (writes
 * through the fronts, forwarding, replication, the reconciler) run twice from one seed must give
 * the same trace hash, the same timeline and the same answers; another seed another trace. And
 * the same through `cheops sim`.
 */
import { describe, expect, it } from 'vitest';
import { runSim, type SimOutput } from '../../cli/sim-command.js';
import { runScenario, type ScenarioReport } from '../../simulator/scenario/run-scenario.js';
import type { ScenarioOptions } from '../../simulator/scenario/scenario-options.js';

const options: ScenarioOptions = {
  seed: 1234,
  sites: 5,
  durationMs: 15_000,
  faults: ['partitions', 'crashes', 'loss', 'reorder'],
  latency: { type: 'long-tail', medianMs: 10, p99Ms: 150 },
  operations: 50,
  maxClockSkewMs: 500,
};

function answers(report: ScenarioReport): string[] {
  return report.details.operations.map((op) => `${op.id} ${op.site} ${op.call.verb} ${op.outcome} ${op.status ?? '-'} ${op.metaId ?? '-'} ${op.replicas ?? '-'}`);
}

describe('determinism', () => {
  it('replays a run exactly from its seed, replication and faults included, and another seed gives another run', async () => {
    const first = await runScenario(options);
    const again = await runScenario(options);
    expect(first.counts.acknowledged).toBeGreaterThan(10);
    expect(first.details.appWrites.some((write) => write.source === 'node')).toBe(true);
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.timeline).toEqual(first.timeline);
    expect(answers(again)).toEqual(answers(first));
    expect(again.details.appWrites).toEqual(first.details.appWrites);
    expect(again.network).toEqual(first.network);
    expect(again.results).toEqual(first.results);

    const other = await runScenario({ ...options, seed: 4321 });
    expect(other.traceHash).not.toBe(first.traceHash);
  });

  it('gives the same trace hash and verdict through cheops sim', async () => {
    const run = async (): Promise<{ code: number; text: string }> => {
      let text = '';
      const output: SimOutput = { stdout: (chunk) => (text += chunk), stderr: () => undefined, interactive: false };
      const flags = { seed: '77', sites: '3', duration: '8s', faults: 'all', latency: '10-50ms', workload: '20', timeline: 'faults' as const, progress: false };
      return { code: await runSim(flags, output), text };
    };
    const [first, second] = [await run(), await run()];
    const hash = /trace hash: ([0-9a-f]{64})/.exec(first.text)?.[1];
    expect(hash).toBeDefined();
    expect(second.text).toContain(`trace hash: ${hash ?? ''}`);
    expect(first.text).toMatch(/^verdict: (PASS|FAIL)/m);
    expect(first.text).toContain('summary');
    expect(first.code).toBe(first.text.includes('verdict: PASS') ? 0 : 1);
    expect(second.code).toBe(first.code);
  });
});
