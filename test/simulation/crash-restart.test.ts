/**
 * A site that crashes loses only what it had not stored, never sends what it had not stored, and
 * comes back with the same peer id from what its disk kept; the others reconnect and converge.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { asDocumentId } from '../../core/ids.js';
import { startSimulation, type Simulation } from '../../simulator/harness/simulation.js';
import { directoryConverged, directoryOf } from './support.js';

const notes = asDocumentId('notes/Site2');

let sim: Simulation | undefined;
afterEach(() => {
  sim?.stop();
  sim = undefined;
});

describe('a crash and a restart', () => {
  it('keeps what was acknowledged, loses what was not, and converges after the restart', async () => {
    // Every document shared with every site, so that a test document of its own replicates.
    sim = await startSimulation({ seed: 'crash', sites: 3, sharedWith: () => 'all' });
    expect(await sim.runUntil(() => directoryConverged(sim as Simulation), { timeoutMs: 30_000 })).toBe(true);
    const site2 = sim.site('Site2');
    const actor = site2.node.documents.actorId;

    await sim.perform(() => site2.node.documents.create(notes, { text: 'acknowledged' }));
    // Started, never acknowledged: the process dies before its write reaches the disk.
    const lost = site2.node.documents.change(notes, (draft: Record<string, unknown>) => {
      draft['text'] = 'lost';
    });
    let settled = false;
    lost.then(
      () => (settled = true),
      () => (settled = true),
    );
    sim.crash('Site2');
    expect(site2.state).toBe('down');
    await sim.runFor(5_000);
    expect(settled).toBe(false);
    for (const name of ['Site1', 'Site3']) {
      expect(sim.site(name).node.heartbeats.peer(site2.peerId)?.state).toBe('down');
    }

    await sim.restart('Site2');
    expect(site2.incarnation).toBe(2);
    expect(site2.node.documents.actorId).toBe(actor);
    expect(site2.node.transport.peerId).toBe(site2.peerId);
    const converged = (): boolean => directoryConverged(sim as Simulation) && (sim as Simulation).converged(notes);
    expect(await sim.runUntil(converged, { timeoutMs: 30_000 })).toBe(true);
    for (const name of ['Site1', 'Site2', 'Site3']) {
      expect(await sim.perform(() => sim!.site(name).node.documents.read(notes))).toEqual({ text: 'acknowledged' });
    }
    // The restart registered again under its name, keeping its claim.
    const entries = await directoryOf(sim, 'Site1');
    expect(entries.filter((entry) => entry.name === 'Site2').map((entry) => entry.peerId)).toEqual([site2.peerId]);
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

  it('recovers a site that crashed while others were syncing to it, on a lossy network', async () => {
    sim = await startSimulation({ seed: 'crash-under-load', sites: 4, link: { latency: { type: 'uniform', minMs: 5, maxMs: 60 }, loss: 0.05, reset: 0.01 } });
    expect(await sim.runUntil(() => directoryConverged(sim as Simulation), { timeoutMs: 60_000 })).toBe(true);
    for (const name of ['Site1', 'Site3', 'Site4']) void sim.site(name).node.directory.update({ http: `http://${name}.sim/v2` });
    await sim.runFor(3);
    sim.crash('Site2');
    await sim.runFor(2_000);
    await sim.restart('Site2');
    expect(await sim.runUntil(() => directoryConverged(sim as Simulation), { timeoutMs: 60_000 })).toBe(true);
    const entries = await directoryOf(sim, 'Site2');
    expect(entries.map((entry) => entry.http)).toEqual(['http://Site1.sim/v2', 'http://Site2.sim', 'http://Site3.sim/v2', 'http://Site4.sim/v2']);
  });
});
