/**
 * Partitions and heals with the whole node: five sites, a 2|3 partition with writes through the
 * fronts on both sides (a conflicting label, and a create on each side), a heal: every site of
 * the scope ends with the same replicant heads, one winner, the loser recorded, and each side's
 * create applied on the other. Then an asymmetric (stalling) partition, and sites that only know
 * the first site at start.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { asDocumentId } from '../../core/ids.js';
import { metaIdOf } from '../../crdt/replicant.js';
import { startSimulation, type Simulation } from '../../simulator/harness/simulation.js';
import { createCall, labelCall, objectBody, type ObjectRef } from '../../simulator/workload/kubectl-requests.js';
import { meshed, objectOn, send } from './support.js';

let sim: Simulation | undefined;
afterEach(() => {
  sim?.stop();
  sim = undefined;
});

const left = ['Site1', 'Site2'];
const right = ['Site3', 'Site4', 'Site5'];
const everyone = [...left, ...right];
const scope = `{${everyone.join(' & ')}}`;

function ref(name: string): ObjectRef {
  return { resource: 'configmaps', namespace: 'default', name };
}

function docOf(name: string): ReturnType<typeof asDocumentId> {
  return asDocumentId(`res/${metaIdOf({ app: 'kubernetes', service: 'configmaps', namespace: 'default', name }, 0)}`);
}

describe('a partition and its heal', () => {
  it('converges five sites after a 2|3 partition with conflicting writes on both sides', async () => {
    sim = await startSimulation({ seed: 'partition-2-3', sites: 5, link: { latency: { type: 'long-tail', medianMs: 15, p99Ms: 120 } } });
    expect(await meshed(sim)).toBe(true);
    const shared = ref('shared');
    expect((await send(sim, 'Site1', createCall(shared, objectBody(shared, 'o1', { k: 'v' }, {}), { scope }))).status).toBe(201);
    expect(await sim.runUntil(() => (sim as Simulation).converged(docOf('shared')), { timeoutMs: 5_000 })).toBe(true);

    sim.partition([left, right]);
    await sim.runFor(5_000);
    const leftView = sim.site('Site1').node.heartbeats.peers();
    expect(leftView.filter((peer) => peer.state === 'up').map((peer) => peer.peer)).toEqual([sim.site('Site2').peerId]);

    // Local first: each side answers at once, without the other.
    const onLeft = await send(sim, 'Site2', labelCall(shared, 'o2', ['side', 'left']));
    const onRight = await send(sim, 'Site4', labelCall(shared, 'o3', ['side', 'right']));
    expect([onLeft.status, onRight.status]).toEqual([200, 200]);
    expect(onLeft.headers.get('x-cheops-replicas')).toContain('Site3=pending');
    for (const [site, name] of [['Site1', 'from-left'], ['Site5', 'from-right']] as const) {
      expect((await send(sim, site, createCall(ref(name), objectBody(ref(name), `c-${name}`, {}, {}), { scope }))).status).toBe(201);
    }
    await sim.runFor(2_000);
    expect(sim.converged(docOf('shared'), left)).toBe(true);
    expect(sim.converged(docOf('shared'), right)).toBe(true);
    expect(sim.converged(docOf('shared'))).toBe(false);

    const healedAt = sim.clock.elapsedMs();
    sim.heal();
    const converged = (): boolean => ['shared', 'from-left', 'from-right'].every((name) => (sim as Simulation).converged(docOf(name)));
    expect(await sim.runUntil(converged, { timeoutMs: 30_000 })).toBe(true);
    // The redialer's backoff is capped at 2 s; then one sync round.
    expect(sim.clock.elapsedMs() - healedAt).toBeLessThan(5_000);
    await sim.runFor(1_000);
    const labels = new Set<string>();
    for (const site of everyone) {
      const object = (await objectOn(sim, site, shared)) as { metadata?: { labels?: Record<string, string> } } | undefined;
      labels.add(object?.metadata?.labels?.['side'] ?? 'none');
      expect(await objectOn(sim, site, ref('from-left'))).toBeDefined();
      expect(await objectOn(sim, site, ref('from-right'))).toBeDefined();
    }
    expect(labels.size).toBe(1);
    const replicant = (await sim.perform(() => sim!.site('Site3').node.documents.read(docOf('shared')))) ?? {};
    expect(Object.keys(replicant).filter((field) => field.startsWith('conflict:'))).toHaveLength(1);
    const kinds = sim.trace.events(['net:partition', 'net:heal']).map((event) => event.kind);
    expect(kinds).toEqual(['net:partition', 'net:heal']);
  });

  it('converges after an asymmetric partition that stalls one site, then closes its connections', async () => {
    sim = await startSimulation({ seed: 'one-way', sites: 3, stallTimeoutMs: 8_000 });
    expect(await meshed(sim)).toBe(true);
    sim.partitionOneWay(['Site1'], ['Site2', 'Site3']);
    const alone = ref('alone');
    expect((await send(sim, 'Site1', createCall(alone, objectBody(alone, 'o1', {}, {}), { scope: '{Site1 & Site2 & Site3}' }))).status).toBe(201);
    // Site1's pongs no longer arrive: the others see it down before its connections close.
    await sim.runFor(5_000);
    expect(sim.site('Site2').node.heartbeats.peer(sim.site('Site1').peerId)?.state).toBe('down');
    expect(sim.site('Site1').node.transport.connectedPeers()).toHaveLength(2);
    await sim.runFor(5_000);
    expect(sim.site('Site1').node.transport.connectedPeers()).toHaveLength(0);
    expect(await objectOn(sim, 'Site3', alone)).toBeUndefined();
    sim.heal();
    expect(await sim.runUntil(() => (sim as Simulation).converged(docOf('alone')), { timeoutMs: 30_000 })).toBe(true);
    await sim.runFor(500);
    expect(await objectOn(sim, 'Site3', alone)).toMatchObject({ metadata: { name: 'alone' } });
  });

  it('meshes sites that know only the first site, through the directory', async () => {
    sim = await startSimulation({ seed: 'bootstrap', sites: 4, peering: 'first' });
    expect(await meshed(sim)).toBe(true);
    for (const site of sim.sites) expect(site.node.transport.connectedPeers()).toHaveLength(3);
  });
});
