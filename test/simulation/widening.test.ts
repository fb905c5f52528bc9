/**
 * A replicated object widened to another site by the scope of a write (`kubectl label … --scope
 * '{Site1 & Site2 & Site3}'` on an object replicated on Site1 and Site2), under the faults edge
 * sites meet: the new site cut off at the time, a delete on the other side of a partition, the
 * writer's crash right after its answer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulation, type Simulation } from '../../simulator/harness/simulation.js';
import { createCall, deleteCall, labelCall, objectBody } from '../../simulator/workload/kubectl-requests.js';
import { configMapRef, firstLifeDoc, labelsOn, meshed, objectOn, send } from './support.js';

let sim: Simulation | undefined;
afterEach(() => {
  sim?.stop();
  sim = undefined;
});

const pair = '{Site1 & Site2}';
const all = '{Site1 & Site2 & Site3}';

/** Three meshed sites, and `name` replicated on Site1 and Site2 and seen there. */
async function replicatedOnTwo(seed: string, name: string): Promise<Simulation> {
  const simulation = await startSimulation({ seed, sites: 3 });
  if (!(await meshed(simulation))) throw new Error(`the sites of ${seed} did not mesh`);
  const ref = configMapRef(name);
  expect((await send(simulation, 'Site1', createCall(ref, objectBody(ref, 'made', { text: 'made' }, {}), { scope: pair }))).status).toBe(201);
  expect(await simulation.runUntil(() => simulation.converged(firstLifeDoc(ref), ['Site1', 'Site2']), { timeoutMs: 5_000 })).toBe(true);
  await simulation.runFor(1_000);
  expect(await objectOn(simulation, 'Site2', ref)).toBeDefined();
  return simulation;
}

describe('widening a replicated object by the scope of a write', () => {
  it('reaches a site cut off when the write was made, once it is back, with the write', async () => {
    sim = await replicatedOnTwo('widen-cut-off', 'grow');
    const ref = configMapRef('grow');
    sim.partition([['Site1', 'Site2'], ['Site3']]);
    const answer = await send(sim, 'Site1', labelCall(ref, 'widen', ['tier', 'front'], { scope: all }));
    expect(answer.status).toBe(200);
    expect(answer.headers.get('warning')).toContain('is replicated on Site3 too from now on');
    expect(answer.headers.get('x-cheops-replicas')).toBe('Site1=applied, Site2=pending, Site3=pending');
    await sim.runFor(5_000);
    expect(await objectOn(sim, 'Site3', ref)).toBeUndefined();
    expect(await labelsOn(sim, 'Site2', ref)).toMatchObject({ tier: 'front' });

    sim.heal();
    expect(await sim.runUntil(() => sim!.converged(firstLifeDoc(ref)), { timeoutMs: 10_000 })).toBe(true);
    await sim.runFor(1_000);
    expect(await labelsOn(sim, 'Site3', ref)).toMatchObject({ tier: 'front' });
    // A member like the others now: its own writes reach them.
    expect((await send(sim, 'Site3', labelCall(ref, 'from-3', ['tier', 'back'], {}))).status).toBe(200);
    await sim.runFor(2_000);
    expect(await labelsOn(sim, 'Site1', ref)).toMatchObject({ tier: 'back' });
  });

  it('loses to a delete made on the other side of a partition: gone from every site, the new one included', async () => {
    sim = await replicatedOnTwo('widen-vs-delete', 'doomed');
    const ref = configMapRef('doomed');
    sim.partition([['Site1', 'Site3'], ['Site2']]);
    expect((await send(sim, 'Site1', labelCall(ref, 'widen', ['tier', 'front'], { scope: all }))).status).toBe(200);
    expect(await sim.runUntil(() => sim!.converged(firstLifeDoc(ref), ['Site1', 'Site3']), { timeoutMs: 5_000 })).toBe(true);
    await sim.runFor(1_000);
    expect(await labelsOn(sim, 'Site3', ref)).toMatchObject({ tier: 'front' });
    expect((await send(sim, 'Site2', deleteCall(ref, {}))).status).toBe(200);

    sim.heal();
    expect(await sim.runUntil(() => sim!.converged(firstLifeDoc(ref)), { timeoutMs: 10_000 })).toBe(true);
    await sim.runFor(2_000);
    for (const site of ['Site1', 'Site2', 'Site3']) expect(await objectOn(sim, site, ref)).toBeUndefined();
  });

  it('is not lost by a crash of the writer right after its answer', async () => {
    sim = await replicatedOnTwo('widen-crash', 'kept');
    const ref = configMapRef('kept');
    // Site1 reaches no one when it answers: what it acknowledged is only on its disk.
    sim.partition([['Site1'], ['Site2', 'Site3']]);
    expect((await send(sim, 'Site1', labelCall(ref, 'widen', ['tier', 'front'], { scope: all }))).status).toBe(200);
    sim.crash('Site1');
    await sim.restart('Site1');
    sim.heal();
    expect(await sim.runUntil(() => sim!.converged(firstLifeDoc(ref)), { timeoutMs: 15_000 })).toBe(true);
    await sim.runFor(2_000);
    for (const site of ['Site1', 'Site2', 'Site3']) expect(await labelsOn(sim, site, ref)).toMatchObject({ tier: 'front' });
  });
});
