/**
 * A cross namespace under the simulator's faults (DESIGN.md §7): a partition during which each
 * side makes an object of the same name, a crash of one of the sites that made it right after its
 * answer, the heal: every member finds the name contested, reads and writes through any site go
 * to the first claim's object and report the other, and once the other is deleted the name is
 * the winner's alone again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { asDocumentId, asSiteName } from '../../core/ids.js';
import { metaIdOf } from '../../crdt/replicant.js';
import { simHttpUrl } from '../../simulator/harness/sim-node.js';
import { startSimulation, type Simulation } from '../../simulator/harness/simulation.js';
import { createCall, deleteCall, getCall, labelCall, objectBody, toReadRequest, type KubectlCall, type ObjectRef } from '../../simulator/workload/kubectl-requests.js';
import { meshed, objectOn, send } from './support.js';

let sim: Simulation | undefined;
afterEach(() => {
  sim?.stop();
  sim = undefined;
});

const members = ['Site1', 'Site2', 'Site3'];
const cross = '{Site1 % Site2 % Site3}';
const twin: ObjectRef = { resource: 'configmaps', namespace: 'spread', name: 'twin' };
const namespaceDoc = asDocumentId(`res/${metaIdOf({ app: 'kubernetes', service: 'namespaces', name: 'spread' }, 0)}`);

const createNamespace: KubectlCall = {
  verb: 'create', method: 'POST', url: '/api/v1/namespaces', contentType: 'application/json',
  body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'spread' } }, scope: cross, waitAllMs: undefined,
};

/** The names `site` notes contested in its replicants (its admin API). */
function contestedOn(site: string): Promise<string[]> {
  return sim!.perform(async () => {
    const response = await sim!.site(site).call(new Request(`${simHttpUrl(asSiteName(site))}/cheops/v1/replicants`));
    const { items } = (await response.json()) as { items: Array<{ contested: string[] }> };
    return items.flatMap((item) => item.contested);
  });
}

describe('a name made on both sides of a partition in a cross namespace', () => {
  it('is found on every member after the heal, a crash notwithstanding; the first claim wins, the other is reported until deleted', async () => {
    sim = await startSimulation({ seed: 'cross-claims', sites: 4, link: { latency: { type: 'long-tail', medianMs: 15, p99Ms: 120 } } });
    expect(await meshed(sim)).toBe(true);
    expect((await send(sim, 'Site1', createNamespace)).status).toBe(201);
    expect(await sim.runUntil(() => sim!.converged(namespaceDoc, members), { timeoutMs: 10_000 })).toBe(true);

    sim.partition([['Site1'], ['Site2', 'Site3', 'Site4']]);
    await sim.runFor(5_000);
    const first = await send(sim, 'Site1', createCall(twin, objectBody(twin, 'o1', { side: 'one' }, {})));
    expect([first.status, first.headers.get('warning')]).toEqual([201, expect.stringContaining('Site2 is unreachable: twin may exist there too')]);
    await sim.runFor(1_000);
    const second = await send(sim, 'Site2', createCall(twin, objectBody(twin, 'o2', { side: 'two' }, {})));
    expect([second.status, second.headers.get('warning')]).toEqual([201, expect.stringContaining('Site1 is unreachable: twin may exist there too')]);
    // On Site2's side the name is taken: Site3 is refused, naming Site2.
    const third = await send(sim, 'Site3', createCall(twin, objectBody(twin, 'o3', {}, {})));
    expect(third.status).toBe(409);
    expect(String(third.body['message'])).toContain('already exists on Site2');
    // Site2 dies right after its answer: its claim was stored before the object was made.
    sim.crash('Site2');
    sim.heal();
    await sim.restart('Site2');
    expect(await sim.runUntil(() => sim!.converged(namespaceDoc, members), { timeoutMs: 30_000 })).toBe(true);
    for (const site of members) expect(await contestedOn(site), site).toEqual(['configmaps spread/twin']);
    const crossView = await sim.perform(async () => (await sim!.site('Site3').call(new Request(`${simHttpUrl(asSiteName('Site3'))}/cheops/v1/cross`))).json());
    expect(crossView).toMatchObject({
      items: [{ scope: cross, sites: members, claims: [{ site: 'Site1', key: { name: 'twin' } }, { site: 'Site2', key: { name: 'twin' } }], contested: ['configmaps spread/twin'] }],
    });

    // From a member of Site2's side, and from outside the scope: Site1's object, the other reported.
    const reported = "configmaps spread/twin was made on Site1 and Site2 while they could not reach each other: Site1's, made first";
    const fromSite3 = await readTwin('Site3', undefined);
    expect([fromSite3.status, fromSite3.headers.get('x-cheops-forwarded-to'), fromSite3.headers.get('warning')]).toEqual([200, 'Site1', expect.stringContaining(reported)]);
    expect((fromSite3.body['data'] as Record<string, string>)['side']).toBe('one');
    const fromOutside = await readTwin('Site4', cross);
    expect([fromOutside.status, fromOutside.headers.get('x-cheops-forwarded-to'), fromOutside.headers.get('warning')]).toEqual([200, 'Site1', expect.stringContaining(reported)]);
    // A change through the loser goes to the winner's object.
    expect((await send(sim, 'Site2', labelCall(twin, 'o4', ['tier', 'web']))).status).toBe(200);
    expect(((await objectOn(sim, 'Site1', twin))?.['metadata'] as { labels?: Record<string, string> }).labels?.['tier']).toBe('web');
    expect(((await objectOn(sim, 'Site2', twin))?.['metadata'] as { labels?: Record<string, string> }).labels?.['tier']).toBeUndefined();

    // The other deleted as the warning says: the name is Site1's alone again, on every member.
    expect((await send(sim, 'Site3', deleteCall(twin, { scope: '{Site2}' }))).status).toBe(200);
    expect(await objectOn(sim, 'Site2', twin)).toBeUndefined();
    expect(await sim.runUntil(() => sim!.converged(namespaceDoc, members), { timeoutMs: 10_000 })).toBe(true);
    for (const site of members) expect(await contestedOn(site), site).toEqual([]);
    const after = await readTwin('Site2', undefined);
    expect([after.status, after.headers.get('warning')]).toEqual([200, null]);
  });
});

/** `kubectl get configmap twin -n spread -o json [--scope …]` through `site`'s front. */
function readTwin(site: string, scope: string | undefined): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  return sim!.perform(async () => {
    const response = await sim!.site(site).call(toReadRequest(simHttpUrl(asSiteName(site)), getCall(twin, scope)));
    return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
  });
}
