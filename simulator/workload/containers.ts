/**
 * The cross namespaces of a run (KeySpace.containers), set up before its workload and faults:
 * each is created through its first member's front with its cross scope (`{Site1 % Site3}`), as
 * `cheops kubectl create namespace spread --scope …` would, and replicated to its members.
 */
import { simHttpUrl } from '../harness/sim-node.js';
import type { Simulation } from '../harness/simulation.js';
import { metaIdOf, replicantDocId } from '../../crdt/replicant.js';
import { createCall, objectBody, toRequest } from './kubectl-requests.js';
import type { KeySpace } from './key-space.js';

/** Creates every container and runs until its members hold its replicant alike; throws when one is refused or never spreads. */
export async function setUpContainers(sim: Simulation, keys: KeySpace, timeoutMs = 30_000): Promise<void> {
  for (const container of keys.containers) {
    const [first] = container.sites;
    if (first === undefined) continue;
    const status = await sim.perform(async () => {
      const call = createCall(container.ref, objectBody(container.ref, 'setup', {}, {}), { scope: container.scope });
      const response = await sim.site(first).call(toRequest(simHttpUrl(first), call));
      await response.text();
      return response.status;
    });
    if (status !== 201) throw new Error(`the cross namespace ${container.ref.name} could not be made on ${first}: HTTP ${status}`);
    const docId = replicantDocId(metaIdOf(container.resourceKey, 0));
    if (!(await sim.runUntil(() => sim.converged(docId, container.sites), { timeoutMs }))) throw new Error(`the cross namespace ${container.ref.name} did not reach ${container.sites.join(', ')}`);
    // Each member's reconciler makes it in its application right after.
    await sim.runFor(1_000);
  }
}
