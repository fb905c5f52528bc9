/** Helpers for the simulation tests: kubectl-equivalent calls through a site's front, and what applications hold. */
import { asDocumentId, asSiteName, type DocumentId } from '../../core/ids.js';
import { metaIdOf } from '../../crdt/replicant.js';
import { siteDirectoryId } from '../../crdt/site-directory.js';
import { simHttpUrl } from '../../simulator/harness/sim-node.js';
import { startSimulation, type Simulation } from '../../simulator/harness/simulation.js';
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

/** A config map of the `default` namespace. */
export function configMapRef(name: string): ObjectRef {
  return { resource: 'configmaps', namespace: 'default', name };
}

/** The replicant document of the first life (incarnation 0) of `ref`. */
export function firstLifeDoc(ref: ObjectRef): DocumentId {
  return asDocumentId(`res/${metaIdOf({ app: 'kubernetes', service: ref.resource, namespace: ref.namespace, name: ref.name }, 0)}`);
}

/** Two sites from `seed`, started and meshed. */
export async function twoMeshedSites(seed: string): Promise<Simulation> {
  const simulation = await startSimulation({ seed, sites: 2 });
  if (!(await meshed(simulation))) throw new Error(`the sites of ${seed} did not mesh`);
  return simulation;
}

/** The labels of `ref` in `site`'s application (none: `{}`). */
export async function labelsOn(sim: Simulation, site: string, ref: ObjectRef): Promise<unknown> {
  return ((await objectOn(sim, site, ref))?.['metadata'] as { labels?: unknown } | undefined)?.labels ?? {};
}
