/**
 * A site whose application goes away for a while (`--faults app-outages`), its node up: what the
 * application made without answering is not lost and not left on one site, and what waited for
 * the application runs as soon as it answers again, not after its last backoff.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { asSiteName } from '../../core/ids.js';
import type { AppOutageKind } from '../../simulator/harness/app-availability.js';
import { simHttpUrl } from '../../simulator/harness/sim-node.js';
import type { Simulation } from '../../simulator/harness/simulation.js';
import { createCall, labelCall, objectBody } from '../../simulator/workload/kubectl-requests.js';
import { configMapRef, firstLifeDoc, labelsOn, objectOn, send, twoMeshedSites } from './support.js';

let sim: Simulation | undefined;
afterEach(() => {
  sim?.stop();
  sim = undefined;
});

const scope = '{Site1 & Site2}';

/** Takes `site`'s application away the moment it has made a write of `name`: the write stands, its answer is lost. */
function outageAfterWriteOf(simulation: Simulation, site: string, name: string, kind: AppOutageKind): void {
  const unsubscribe = simulation.apps.subscribe((write) => {
    if (write.site !== site || write.key?.name !== name || write.source !== 'client') return;
    unsubscribe();
    simulation.site(site).app.begin(kind, simulation.clock.elapsedMs());
  });
}

/** A metric of `site`'s `/metrics`, as Prometheus scrapes it. */
async function metric(simulation: Simulation, site: string, name: string): Promise<number | undefined> {
  const text = await simulation.perform(async () => (await simulation.site(site).call(new Request(`${simHttpUrl(asSiteName(site))}/metrics`))).text());
  const line = text.split('\n').find((row) => row.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

function appBack(simulation: Simulation, site: string): void {
  simulation.site(site).app.end(simulation.clock.elapsedMs());
}

describe('an application outage', () => {
  it('replicates a create the application made but could not answer, once it answers, with no retry', async () => {
    sim = await twoMeshedSites('app-outage-create');
    const ref = configMapRef('unanswered');
    outageAfterWriteOf(sim, 'Site1', ref.name, 'refusing');
    const answer = await send(sim, 'Site1', createCall(ref, objectBody(ref, 'made', { text: 'made' }, {}), { scope }));
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ kind: 'Status', code: 503 });
    expect(await objectOn(sim, 'Site1', ref)).toMatchObject({ data: { text: 'made' } });
    await sim.runFor(5_000);
    expect(await objectOn(sim, 'Site2', ref)).toBeUndefined();

    appBack(sim, 'Site1');
    const site2 = sim.site('Site2');
    expect(await sim.runUntil(() => site2.node.documents.has(firstLifeDoc(ref)), { timeoutMs: 5_000 })).toBe(true);
    expect(await sim.runUntil(() => sim!.converged(firstLifeDoc(ref)), { timeoutMs: 5_000 })).toBe(true);
    await sim.runFor(1_000);
    expect(await objectOn(sim, 'Site2', ref)).toMatchObject({ data: { text: 'made' } });
  });

  it('runs the passes that failed meanwhile as soon as the application answers again', async () => {
    sim = await twoMeshedSites('app-outage-passes');
    const site2 = sim.site('Site2');
    site2.app.begin('unavailable', sim.clock.elapsedMs());
    const refs = ['one', 'two', 'three'].map(configMapRef);
    for (const ref of refs) expect((await send(sim, 'Site1', createCall(ref, objectBody(ref, ref.name, { text: ref.name }, {}), { scope }))).status).toBe(201);
    // Long enough for each pass to have failed five or six times: its next try is up to 32 s off.
    await sim.runFor(40_000);
    for (const ref of refs) expect(await objectOn(sim, 'Site2', ref)).toBeUndefined();
    expect(await metric(sim, 'Site2', 'cheops_local_application_up')).toBe(0);

    appBack(sim, 'Site2');
    const backAt = sim.clock.elapsedMs();
    const allThere = async (): Promise<boolean> => (await Promise.all(refs.map((ref) => objectOn(sim!, 'Site2', ref)))).every((object) => object !== undefined);
    while (!(await allThere()) && sim.clock.elapsedMs() - backAt < 10_000) await sim.runFor(100);
    // The probe sees the application back within a second; the passes run at once then.
    expect(sim.clock.elapsedMs() - backAt).toBeLessThan(2_500);
    expect(await metric(sim, 'Site2', 'cheops_local_application_up')).toBe(1);
  });

  it('says a stalled application is down while it holds the calls, and applies what they carried once it answers', async () => {
    sim = await twoMeshedSites('app-outage-stalled');
    const site2 = sim.site('Site2');
    site2.app.begin('stalled', sim.clock.elapsedMs());
    const ref = configMapRef('held');
    expect((await send(sim, 'Site1', createCall(ref, objectBody(ref, ref.name, { text: 'held' }, {}), { scope }))).status).toBe(201);
    // The pass's create is held: nothing fails, only its age (5 s) and an unanswered probe (2 s) tell.
    await sim.runFor(3_000);
    expect(await metric(sim, 'Site2', 'cheops_local_application_up')).toBe(1);
    await sim.runFor(7_000);
    expect(await metric(sim, 'Site2', 'cheops_local_application_up')).toBe(0);
    expect(await objectOn(sim, 'Site2', ref)).toBeUndefined();

    appBack(sim, 'Site2');
    await sim.runFor(500);
    expect(await metric(sim, 'Site2', 'cheops_local_application_up')).toBe(1);
    expect(await objectOn(sim, 'Site2', ref)).toMatchObject({ data: { text: 'held' } });
  });

  it('keeps answering at once on a site whose peer application stalls, and the peer applies the write when it serves again', async () => {
    sim = await twoMeshedSites('app-outage-stalled');
    sim.site('Site2').app.begin('stalled', sim.clock.elapsedMs());
    const ref = configMapRef('while-stalled');
    const sentAt = sim.clock.elapsedMs();
    expect((await send(sim, 'Site1', createCall(ref, objectBody(ref, 'made', { text: 'made' }, {}), { scope }))).status).toBe(201);
    expect(sim.clock.elapsedMs() - sentAt).toBeLessThan(100);
    await sim.runFor(5_000);
    expect(await objectOn(sim, 'Site2', ref)).toBeUndefined();
    // The pass under way was held, not failed: it goes on the moment the application serves.
    appBack(sim, 'Site2');
    await sim.runFor(200);
    expect(await objectOn(sim, 'Site2', ref)).toMatchObject({ data: { text: 'made' } });
  });

  it("puts back an update the application made without answering, since its client was not told; the retry then lands", async () => {
    sim = await twoMeshedSites('app-outage-update');
    const ref = configMapRef('notes');
    expect((await send(sim, 'Site1', createCall(ref, objectBody(ref, 'created', { text: 'one' }, {}), { scope }))).status).toBe(201);
    expect(await sim.runUntil(() => sim!.converged(firstLifeDoc(ref)), { timeoutMs: 5_000 })).toBe(true);

    outageAfterWriteOf(sim, 'Site1', ref.name, 'unavailable');
    const answer = await send(sim, 'Site1', labelCall(ref, 'labelled', ['tier', 'gold'], { scope }));
    expect(answer.status).toBe(504);
    expect(await labelsOn(sim, 'Site1', ref)).toMatchObject({ tier: 'gold' });

    appBack(sim, 'Site1');
    await sim.runFor(3_000);
    expect(await labelsOn(sim, 'Site1', ref)).not.toHaveProperty('tier');
    expect(await labelsOn(sim, 'Site2', ref)).not.toHaveProperty('tier');

    expect((await send(sim, 'Site1', labelCall(ref, 'retried', ['tier', 'gold'], { scope }))).status).toBe(200);
    expect(await sim.runUntil(() => sim!.converged(firstLifeDoc(ref)), { timeoutMs: 5_000 })).toBe(true);
    await sim.runFor(1_000);
    for (const site of ['Site1', 'Site2']) expect(await labelsOn(sim, site, ref)).toMatchObject({ tier: 'gold' });
  });
});
