/**
 * The timers of a workload on the simulation's clock: its operations spread over the run, its
 * retries, all cancelled at once when it stops (nothing it set fires after).
 */
import type { Timer } from '../../core/clock.js';
import type { SeededRandom } from '../core/seeded-random.js';
import type { Simulation } from '../harness/simulation.js';

export class WorkloadSchedule {
  private readonly timers = new Set<Timer>();
  private halted = false;

  constructor(private readonly sim: Simulation) {}

  get stopped(): boolean {
    return this.halted;
  }

  /** Runs `run` after `delayMs`, unless stopped by then. */
  after(delayMs: number, run: () => void): void {
    const timer = this.sim.clock.setTimeout(() => {
      this.timers.delete(timer);
      if (!this.halted) run();
    }, delayMs);
    this.timers.add(timer);
  }

  /** Runs `tick` `count` times, at moments drawn from `random` over `durationMs` from `startMs` (virtual ms since the run began). */
  spread(random: SeededRandom, count: number, startMs: number, durationMs: number, tick: () => void): void {
    const times = Array.from({ length: count }, () => random.float() * durationMs).sort((a, b) => a - b);
    const now = this.sim.clock.elapsedMs();
    for (const at of times) this.after(startMs + at - now, tick);
  }

  /** Cancels every timer; later ones are never set. */
  stop(): void {
    this.halted = true;
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
  }
}
