/**
 * A site that crashes loses only what it had not stored, never sends what it had not stored, and
 * comes back with the same peer id from what its disks kept; the others reconnect and converge.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { asDocumentId } from '../../core/ids.js';
import { metaIdOf } from '../../crdt/replicant.js';
import { startSimulation, type Simulation } from '../../simulator/harness/simulation.js';
import { simHttpUrl } from '../../simulator/harness/sim-node.js';
import { createCall, labelCall, objectBody, toRequest, type ObjectRef } from '../../simulator/workload/kubectl-requests.js';
import { meshed, objectOn, send } from './support.js';

let sim: Simulation | undefined;
afterEach(() => {
  sim?.stop();
  sim = undefined;
});

const notes: ObjectRef = { resource: 'configmaps', namespace: 'default', name: 'notes' };
const notesDoc = asDocumentId(`res/${metaIdOf({ app: 'kubernetes', service: 'configmaps', namespace: 'default', name: 'notes' }, 0)}`);
const scope = '{Site1 & Site2 & Site3}';

describe('a crash and a restart', () => {
  it('keeps what was acknowledged, loses what was not, and converges after the restart', async () => {
    sim = await startSimulation({ seed: 'crash', sites: 3 });
    expect(await meshed(sim)).toBe(true);
    const site2 = sim.site('Site2');
    expect((await send(sim, 'Site2', createCall(notes, objectBody(notes, 'acknowledged', { text: 'kept' }, {}), { scope }))).status).toBe(201);

    // Started, never answered: the process dies while the write is under way.
    const lost = site2.call(toRequest(simHttpUrl(site2.name), labelCall(notes, 'lost', ['x', 'lost'])));
    let outcome = 'pending';
    lost.then(
      () => (outcome = 'answered'),
      (error: Error) => (outcome = error.name),
    );
    sim.crash('Site2');
    expect(site2.state).toBe('down');
    await sim.runFor(5_000);
    expect(outcome).toBe('SiteDownError');
    for (const name of ['Site1', 'Site3']) expect(sim.site(name).node.heartbeats.peer(site2.peerId)?.state).toBe('down');

    await sim.restart('Site2');
    expect(site2.incarnation).toBe(2);
    expect(site2.node.transport.peerId).toBe(site2.peerId);
    expect(await sim.runUntil(() => (sim as Simulation).converged(notesDoc), { timeoutMs: 30_000 })).toBe(true);
    await sim.runFor(1_000);
    // Every site holds the acknowledged create; the label never reached a disk, or reached the
    // application only (the crash window), in which case the restart leaves it there or not, but
    // no replicant carries it.
    const replicant = (await sim.perform(() => sim!.site('Site1').node.documents.read(notesDoc))) as Record<string, { val?: string } | undefined>;
    expect(replicant['desired']?.val).toContain('"acknowledged"');
    expect(replicant['desired']?.val).not.toContain('"lost"');
    for (const name of ['Site1', 'Site3']) expect(await objectOn(sim, name, notes)).toMatchObject({ data: { text: 'kept' } });
    expect(sim.trace.events(['site:crash']).map((event) => event.site)).toEqual(['Site2']);
  });

  it("keeps what the site's stand-in answered across a crash, with uids drawn from the seed", async () => {
    const createNamespace = async (simulation: Simulation): Promise<{ status: number; uid: unknown }> => {
      const body = JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
      const request = new Request('http://site1/api/v1/namespaces', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      return simulation.perform(async () => {
        const response = await simulation.site('Site1').node.standin.fetch(request);
        const object = (await response.json()) as { metadata?: { uid?: unknown } };
        return { status: response.status, uid: object.metadata?.uid };
      });
    };
    sim = await startSimulation({ seed: 'standin', sites: 2 });
    const created = await createNamespace(sim);
    expect(created.status).toBe(201);
    sim.crash('Site1');
    await sim.restart('Site1');
    const standin = sim.site('Site1').node.standin;
    const found = await sim.perform(async () => (await standin.fetch(new Request('http://site1/api/v1/namespaces/team-a'))).json());
    expect(found).toMatchObject({ metadata: { name: 'team-a', uid: created.uid } });

    const replay = await startSimulation({ seed: 'standin', sites: 2 });
    try {
      expect(await createNamespace(replay)).toEqual(created);
    } finally {
      replay.stop();
    }
  });

  it('recovers a site that crashed while others were replicating to it, on a lossy network', async () => {
    sim = await startSimulation({ seed: 'crash-under-load', sites: 4, link: { latency: { type: 'uniform', minMs: 5, maxMs: 60 }, loss: 0.05, reset: 0.01 } });
    expect(await meshed(sim, 60_000)).toBe(true);
    const all = '{Site1 & Site2 & Site3 & Site4}';
    const refs = ['Site1', 'Site3', 'Site4'].map((name): ObjectRef => ({ resource: 'configmaps', namespace: 'default', name: `from-${name.toLowerCase()}` }));
    const pending = ['Site1', 'Site3', 'Site4'].map((name, index) => {
      const ref = refs[index] as ObjectRef;
      return sim!.site(name).call(toRequest(simHttpUrl(sim!.site(name).name), createCall(ref, objectBody(ref, `o${index}`, {}, {}), { scope: all })));
    });
    await sim.runFor(3);
    sim.crash('Site2');
    expect((await sim.perform(() => Promise.all(pending))).map((response) => response.status)).toEqual([201, 201, 201]);
    await sim.runFor(2_000);
    await sim.restart('Site2');
    const docs = refs.map((ref) => asDocumentId(`res/${metaIdOf({ app: 'kubernetes', service: 'configmaps', namespace: 'default', name: ref.name }, 0)}`));
    expect(await sim.runUntil(() => docs.every((doc) => (sim as Simulation).converged(doc)), { timeoutMs: 60_000 })).toBe(true);
    await sim.runFor(1_000);
    for (const ref of refs) expect(await objectOn(sim, 'Site2', ref)).toMatchObject({ metadata: { name: ref.name } });
  });
});

describe('an application that takes its time (--app-latency)', () => {
  it('answers each call that much later, and a crash before its answer leaves the object made, unacknowledged', async () => {
    sim = await startSimulation({ seed: 'slow-app', sites: 2, appLatency: { type: 'fixed', ms: 40 } });
    expect(await meshed(sim)).toBe(true);
    const started = sim.clock.elapsedMs();
    expect((await send(sim, 'Site1', createCall(notes, objectBody(notes, 'first', { text: 'one' }, {})))).status).toBe(201);
    expect(sim.clock.elapsedMs() - started).toBeGreaterThanOrEqual(40);
    // Cut short after the application made it: the object stands, the client heard a reset.
    const other: ObjectRef = { ...notes, name: 'unanswered' };
    const site1 = sim.site('Site1');
    let outcome = 'pending';
    site1.call(toRequest(simHttpUrl(site1.name), createCall(other, objectBody(other, 'second', { text: 'two' }, {})))).then(
      () => (outcome = 'answered'),
      (error: Error) => (outcome = error.name),
    );
    expect(await sim.runUntil(() => sim?.apps.writes.some((write) => write.key?.name === 'unanswered') === true, { timeoutMs: 1_000 })).toBe(true);
    sim.crash('Site1');
    await sim.runFor(1_000);
    expect(outcome).toBe('SiteDownError');
    await sim.restart('Site1');
    expect(await objectOn(sim, 'Site1', other)).toMatchObject({ metadata: { name: 'unanswered' } });
  });
});
