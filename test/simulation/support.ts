/** Helpers for the simulation tests: kubectl-equivalent calls through a site's front, and what applications hold. */
import { asSiteName } from '../../core/ids.js';
import { siteDirectoryId } from '../../crdt/site-directory.js';
import { simHttpUrl } from '../../simulator/harness/sim-node.js';
import type { Simulation } from '../../simulator/harness/simulation.js';
import { toRequest, type KubectlCall, type ObjectRef } from '../../simulator/workload/kubectl-requests.js';

/** What a front answered. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

/** Sends `call` to `site`'s front and runs the clock until it answers. */
export function send(sim: Simulation, site: string, call: KubectlCall): Promise<Answer> {
  return sim.perform(async () => {
    const response = await sim.site(site).call(toRequest(simHttpUrl(asSiteName(site)), call));
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  });
}

/** The object `site`'s application holds, or undefined (read in process, through the clock). */
export function objectOn(sim: Simulation, site: string, ref: ObjectRef): Promise<Record<string, unknown> | undefined> {
  return sim.perform(async () => {
    const path = `/api/v1/namespaces/${ref.namespace}/${ref.resource}/${ref.name}`;
    const response = await sim.site(site).node.standin.fetch(new Request(`http://app${path}`, { headers: { accept: 'application/json' } }));
    return response.status === 200 ? ((await response.json()) as Record<string, unknown>) : undefined;
  });
}

/** Whether every up site among `names` holds the directory at the same heads. */
export function directoryConverged(sim: Simulation, names?: readonly string[]): boolean {
  return sim.converged(siteDirectoryId, names);
}

/** Runs until every site is up, sees every other up, and the directory has converged. */
export function meshed(sim: Simulation, timeoutMs = 30_000): Promise<boolean> {
  const count = sim.sites.length;
  return sim.runUntil(
    () => directoryConverged(sim) && sim.sites.every((site) => site.state === 'up' && site.node.site.sites.list().filter((item) => item.state !== 'down').length === count),
    { timeoutMs },
  );
}
