/**
 * Five sites, a 2|3 partition with writes on both sides, a heal: every site must end with the
 * same site directory, at identical heads, holding every write. Then the same through an
 * asymmetric (stalling) partition, and with sites that only know the first site at start.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulation, type Simulation } from '../../simulator/harness/simulation.js';
import { directoryConverged, directoryOf, setHttp } from './support.js';

let sim: Simulation | undefined;
afterEach(() => {
  sim?.stop();
  sim = undefined;
});

const left = ['Site1', 'Site2'];
const right = ['Site3', 'Site4', 'Site5'];
const everyone = [...left, ...right];

async function registeredEverywhere(simulation: Simulation, count: number): Promise<boolean> {
  return simulation.runUntil(() => directoryConverged(simulation) && simulation.upSites().every((site) => site.node.heartbeats.peers().filter((peer) => peer.state === 'up').length === count - 1), {
    timeoutMs: 30_000,
  });
}

describe('a partition and its heal', () => {
  it('converges five sites after a 2|3 partition with writes on both sides', async () => {
    sim = await startSimulation({ seed: 'partition-2-3', sites: 5, link: { latency: { type: 'long-tail', medianMs: 15, p99Ms: 120 } } });
    expect(await registeredEverywhere(sim, 5)).toBe(true);
    for (const name of everyone) expect((await directoryOf(sim, name)).map((entry) => entry.name)).toEqual(everyone);

    sim.partition([left, right]);
    await sim.runFor(5_000);
    const leftView = sim.site('Site1').node.heartbeats.peers();
    expect(leftView.filter((peer) => peer.state === 'up').map((peer) => peer.peer)).toEqual([sim.site('Site2').peerId]);

    for (const name of everyone) await setHttp(sim, name, `http://${name}.sim/v2`);
    await sim.runFor(5_000);
    expect(directoryConverged(sim, left)).toBe(true);
    expect(directoryConverged(sim, right)).toBe(true);
    expect(directoryConverged(sim)).toBe(false);
    const fromLeft = await directoryOf(sim, 'Site1');
    expect(fromLeft.filter((entry) => entry.http.endsWith('/v2')).map((entry) => entry.name)).toEqual(left);

    const healedAt = sim.clock.elapsedMs();
    sim.heal();
    expect(await sim.runUntil(() => directoryConverged(sim as Simulation), { timeoutMs: 30_000 })).toBe(true);
    // The redialer's backoff is capped at 2 s; then one sync round.
    expect(sim.clock.elapsedMs() - healedAt).toBeLessThan(5_000);
    for (const name of everyone) {
      const entries = await directoryOf(sim, name);
      expect(entries.map((entry) => [entry.name, entry.http])).toEqual(everyone.map((site) => [site, `http://${site}.sim/v2`]));
    }
    const kinds = sim.trace.events(['net:partition', 'net:heal']).map((event) => event.kind);
    expect(kinds).toEqual(['net:partition', 'net:heal']);
  });

  it('converges after an asymmetric partition that stalls one site, then closes its connections', async () => {
    sim = await startSimulation({ seed: 'one-way', sites: 3, stallTimeoutMs: 8_000 });
    expect(await registeredEverywhere(sim, 3)).toBe(true);
    sim.partitionOneWay(['Site1'], ['Site2', 'Site3']);
    await setHttp(sim, 'Site1', 'http://Site1.sim/alone');
    await setHttp(sim, 'Site2', 'http://Site2.sim/v2');
    // Site1's pongs no longer arrive: the others see it down before its connections close.
    await sim.runFor(5_000);
    expect(sim.site('Site2').node.heartbeats.peer(sim.site('Site1').peerId)?.state).toBe('down');
    expect(sim.site('Site1').node.transport.connectedPeers()).toHaveLength(2);
    await sim.runFor(5_000);
    expect(sim.site('Site1').node.transport.connectedPeers()).toHaveLength(0);
    sim.heal();
    expect(await sim.runUntil(() => directoryConverged(sim as Simulation), { timeoutMs: 30_000 })).toBe(true);
    const entries = await directoryOf(sim, 'Site3');
    expect(entries.map((entry) => entry.http)).toEqual(['http://Site1.sim/alone', 'http://Site2.sim/v2', 'http://Site3.sim']);
  });

  it('meshes sites that know only the first site, through the directory', async () => {
    sim = await startSimulation({ seed: 'bootstrap', sites: 4, peering: 'first' });
    expect(await registeredEverywhere(sim, 4)).toBe(true);
    for (const site of sim.sites) expect(site.node.transport.connectedPeers()).toHaveLength(3);
  });
});
