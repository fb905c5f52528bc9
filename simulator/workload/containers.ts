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

/**
 * Creates every container and runs until its members hold its replicant alike. One refused or
 * not spread in time is recorded in the trace (`sim:setup-failed`) and the run goes on: its
 * objects' writes are then refused, which the checkers allow.
 */
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
    const docId = replicantDocId(metaIdOf(container.resourceKey, 0));
    const spread = status === 201 && (await sim.runUntil(() => sim.converged(docId, container.sites), { timeoutMs }));
    if (!spread) sim.trace.record('sim:setup-failed', { namespace: container.ref.name, status });
    // Each member's reconciler makes it in its application right after.
    await sim.runFor(1_000);
  }
}
