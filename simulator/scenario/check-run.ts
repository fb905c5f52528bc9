/**
 * The end of a run, shared by `runScenario` and by tests that script their own operations:
 * settling after the final heal (polled as the clock runs), then reading the final state and
 * running every checker over it.
 */
import { readFinalState, runCheckers, settled, unsettledReason, type CheckerResult, type FinalState, type ScopeMonitor } from '../checkers/index.js';
import type { Simulation } from '../harness/simulation.js';
import type { History } from '../workload/history.js';
import type { KeySpace } from '../workload/key-space.js';

const pollMs = 250;

/**
 * Runs the clock until the run has settled, and stayed so for one more poll (a node may still
 * have work under way that the state does not show yet, such as a create answered a moment before
 * its replicant is stored); answers when it first looked settled (virtual ms since the start), or
 * undefined after `maxMs`.
 */
export async function settle(sim: Simulation, keys: KeySpace, maxMs: number): Promise<number | undefined> {
  const deadline = sim.clock.elapsedMs() + maxMs;
  let since: number | undefined;
  while (sim.clock.elapsedMs() <= deadline) {
    if (await sim.perform(() => settled(sim, keys))) {
      if (since !== undefined) return since;
      since = sim.clock.elapsedMs();
    } else {
      since = undefined;
    }
    await sim.runFor(pollMs);
  }
  return undefined;
}

/** What the checkers are given besides the simulation. */
export interface CheckInput {
  readonly keys: KeySpace;
  readonly history: History;
  readonly monitor: ScopeMonitor;
  readonly healedAtMs: number;
  readonly settledAtMs: number | undefined;
  readonly boundMs: number;
  readonly restartFailures?: readonly string[];
}

/** Reads the final state (through the clock) and runs every checker. */
export async function checkRun(sim: Simulation, input: CheckInput): Promise<{ results: CheckerResult[]; final: FinalState }> {
  input.monitor.stop();
  const final = await sim.perform(() => readFinalState(sim, input.keys), { timeoutMs: 60_000 });
  const unsettled = input.settledAtMs === undefined ? await sim.perform(() => unsettledReason(sim, input.keys)) : undefined;
  const results = runCheckers({
    sim, keys: input.keys, history: input.history, final, liveScopeViolations: input.monitor.violations,
    tombstonedAtMs: input.monitor.tombstones.firstStoredAtMs, dependentsHeld: input.monitor.dependents, healedAtMs: input.healedAtMs,
    convergedAtMs: input.settledAtMs, unsettled, boundMs: input.boundMs, restartFailures: input.restartFailures ?? [],
  });
  return { results, final };
}
