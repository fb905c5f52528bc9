/** Helpers for the simulation tests: reading and writing the site directory through the clock. */
import { siteDirectoryId, type SiteEntry } from '../../crdt/site-directory.js';
import type { Simulation } from '../../simulator/harness/simulation.js';

/** The directory as `name` sees it (reads run on the simulated disk, so through the clock). */
export function directoryOf(sim: Simulation, name: string): Promise<SiteEntry[]> {
  return sim.perform(() => sim.site(name).node.directory.list());
}

/** `name` changes its own directory entry and waits until the change is stored. */
export async function setHttp(sim: Simulation, name: string, http: string): Promise<void> {
  await sim.perform(() => sim.site(name).node.directory.update({ http }));
}

/** Whether every up site among `names` holds the directory at the same heads. */
export function directoryConverged(sim: Simulation, names?: readonly string[]): boolean {
  return sim.converged(siteDirectoryId, names);
}

/** Sorted heads of the directory per site, for comparing runs. */
export function directoryHeads(sim: Simulation): Record<string, string[]> {
  return Object.fromEntries([...sim.heads(siteDirectoryId)].map(([name, heads]) => [name, [...(heads ?? [])].sort()]));
}
