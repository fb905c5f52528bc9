/**
 * The CI list (issue 5): a fixed list of seeds, each a five-site run with every fault on
 * (partitions cut, black-holed and one-way, crashes, crashes in the middle of a write, loss,
 * resets, reordering and duplicates, application outages, full disks, stalled disks) and a small workload, checked by every checker; half of
 * them with slow applications. Split over
 * four files so that vitest runs two at a time on a two-core machine; each seed is its own test,
 * and a failure prints its violations and the command that replays it.
 */
import { expect, it } from 'vitest';
import { runScenario } from '../../simulator/scenario/run-scenario.js';
import { replayCommand, type ScenarioOptions } from '../../simulator/scenario/scenario-options.js';

/** 100 seeds: 1 to 100. */
export const ciSeeds: readonly number[] = Array.from({ length: 100 }, (_, index) => index + 1);

/**
 * The settings of every CI seed: small enough for 100 seeds in a few minutes, faults on. Odd
 * seeds have applications that take 1–20 ms to answer (`--app-latency`), even ones answer at once.
 */
export function ciOptions(seed: number): ScenarioOptions {
  return {
    seed,
    sites: 5,
    durationMs: 15_000,
    faults: ['partitions', 'crashes', 'loss', 'reorder', 'app-outages', 'disk-full', 'slow-disk'],
    latency: { type: 'uniform', minMs: 10, maxMs: 50 },
    operations: 40,
    ...(seed % 2 === 1 ? { appLatency: { type: 'uniform', minMs: 1, maxMs: 20 } } : {}),
  };
}

/** One test per seed of `part` (0 to 3) of the list. */
export function ciPart(part: number): void {
  for (const seed of ciSeeds.filter((_, index) => index % 4 === part)) {
    it(`seed ${seed}`, async () => {
      const report = await runScenario(ciOptions(seed));
      const failures = report.results.filter((result) => !result.ok).flatMap((result) => [`${result.name}:`, ...result.violations.map((violation) => `  ${violation}`)]);
      expect(failures, `replay: ${replayCommand(report.options)}`).toEqual([]);
    }, 120_000);
  }
}
