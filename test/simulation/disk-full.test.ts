/**
 * A site whose node store refuses writes for a while, as a full disk does (`--faults disk-full`):
 * what it could not store never leaves it, what it could not store of others' comes again once it
 * can, and what its application made meanwhile is replicated or put back, not left on one site.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulation } from '../../simulator/harness/simulation.js';
import { createCall, deleteCall, labelCall, objectBody, podUsingSecretBody, type ObjectRef } from '../../simulator/workload/kubectl-requests.js';
import { configMapRef, firstLifeDoc, labelsOn, objectOn, send, twoMeshedSites } from './support.js';

let sim: Simulation | undefined;
afterEach(() => {
  sim?.stop();
  sim = undefined;
});

const scope = '{Site1 & Site2}';

describe('a full disk', () => {
  it('gets a site the changes it could not store within seconds of its disk taking writes again', async () => {
    sim = await twoMeshedSites('disk-full-receiver');
    const disk = sim.site('Site2').nodeDisk;
    disk.fill();
    const refs = ['one', 'two', 'three'].map(configMapRef);
    for (const ref of refs) expect((await send(sim, 'Site1', createCall(ref, objectBody(ref, ref.name, { text: ref.name }, {}), { scope }))).status).toBe(201);
    await sim.runFor(5_000);
    expect(refs.filter((ref) => sim!.converged(firstLifeDoc(ref)))).toEqual([]);
    disk.free();
    // Pulled again after its backoff (at most 8 s by now), not at anti-entropy's round (30 s).
    expect(await sim.runUntil(() => refs.every((ref) => sim!.converged(firstLifeDoc(ref))), { timeoutMs: 10_000 })).toBe(true);
    await sim.runFor(1_000);
    for (const ref of refs) expect(await objectOn(sim, 'Site2', ref)).toMatchObject({ data: { text: ref.name } });
  });

  it('answers a write it cannot store with a 500 that reaches no other site, and puts its application back', async () => {
    sim = await twoMeshedSites('disk-full-writer');
    const ref = configMapRef('notes');
    expect((await send(sim, 'Site1', createCall(ref, objectBody(ref, 'created', { text: 'one' }, {}), { scope }))).status).toBe(201);
    expect(await sim.runUntil(() => sim!.converged(firstLifeDoc(ref)), { timeoutMs: 5_000 })).toBe(true);
    const disk = sim.site('Site1').nodeDisk;
    disk.fill();
    const refused = await send(sim, 'Site1', labelCall(ref, 'labelled', ['tier', 'gold'], { scope }));
    expect([refused.status, refused.body['code']]).toEqual([500, 500]);
    await sim.runFor(2_000);
    expect(await labelsOn(sim, 'Site2', ref)).toEqual({});
    disk.free();
    await sim.runFor(5_000);
    expect(await labelsOn(sim, 'Site1', ref)).toEqual({});
    expect(sim.converged(firstLifeDoc(ref))).toBe(true);
  });

  it('refuses a write before the application sees it while its mark cannot be stored, and puts back what a write cut short changed', async () => {
    sim = await twoMeshedSites('disk-full-delete');
    const ref = configMapRef('doomed');
    expect((await send(sim, 'Site1', createCall(ref, objectBody(ref, 'created', { text: 'one' }, {}), { scope }))).status).toBe(201);
    expect(await sim.runUntil(() => sim!.converged(firstLifeDoc(ref)), { timeoutMs: 5_000 })).toBe(true);
    const disk = sim.site('Site1').nodeDisk;
    // The mark refused: the application never sees the delete.
    disk.fill();
    expect((await send(sim, 'Site1', deleteCall(ref))).status).toBe(500);
    expect(await objectOn(sim, 'Site1', ref)).toBeDefined();
    // While the store is seen refusing writes, no replicated write starts; its probe sees the room.
    disk.free();
    expect((await send(sim, 'Site1', deleteCall(ref))).status).toBe(500);
    expect(sim.apps.writes.filter((write) => write.method === 'DELETE')).toEqual([]);
    await sim.runFor(1_500);
    // The mark stored, the tombstone refused: the object is gone here, its replicant live.
    const unsubscribe = sim.apps.subscribe((write) => {
      if (write.site === 'Site1' && write.method === 'DELETE' && write.key?.name === ref.name) disk.fill();
    });
    expect((await send(sim, 'Site1', deleteCall(ref))).status).toBe(500);
    unsubscribe();
    // A pass puts the object back, as the replicant says (its record waits for the disk).
    expect(await sim.runUntil(() => sim!.apps.writes.some((write) => write.site === 'Site1' && write.method === 'POST' && write.key?.name === ref.name && write.source === 'node'), { timeoutMs: 5_000 })).toBe(true);
    await sim.runFor(100);
    expect(await objectOn(sim, 'Site1', ref)).toMatchObject({ data: { text: 'one' } });
    expect(await objectOn(sim, 'Site2', ref)).toMatchObject({ data: { text: 'one' } });
    disk.free();
    await sim.runFor(1_500);
    expect((await send(sim, 'Site1', deleteCall(ref))).status).toBe(200);
    expect(await sim.runUntil(() => sim!.converged(firstLifeDoc(ref)), { timeoutMs: 5_000 })).toBe(true);
    await sim.runFor(1_000);
    for (const site of ['Site1', 'Site2']) expect(await objectOn(sim, site, ref)).toBeUndefined();
  });

  it('undoes a create its application made while the disk refused its intent and replicant: the 500 is the whole truth', async () => {
    sim = await twoMeshedSites('disk-full-create');
    const disk = sim.site('Site1').nodeDisk;
    disk.fill();
    const ref = configMapRef('made-anyway');
    const create = (): ReturnType<typeof createCall> => createCall(ref, objectBody(ref, 'made', { text: 'made' }, {}), { scope });
    expect((await send(sim, 'Site1', create())).status).toBe(500);
    expect(sim.apps.writes.filter((write) => write.key?.name === ref.name).map((write) => [write.method, write.status])).toEqual([['POST', 201], ['DELETE', 200]]);
    expect(await objectOn(sim, 'Site1', ref)).toBeUndefined();
    disk.free();
    await sim.runFor(3_000);
    expect(sim.site('Site2').node.documents.has(firstLifeDoc(ref))).toBe(false);
    // The client's retry is a create like any other.
    expect((await send(sim, 'Site1', create())).status).toBe(201);
    expect(await sim.runUntil(() => sim!.converged(firstLifeDoc(ref)), { timeoutMs: 5_000 })).toBe(true);
    await sim.runFor(1_000);
    expect(await objectOn(sim, 'Site2', ref)).toMatchObject({ data: { text: 'made' } });
  });

  it('grants a share asked while its disk was full once it has room: the replicant it could not store is forgotten, not left half made', async () => {
    sim = await twoMeshedSites('disk-full-share');
    const secret: ObjectRef = { resource: 'secrets', namespace: 'default', name: 'token' };
    expect((await send(sim, 'Site2', createCall(secret, objectBody(secret, 'owned', { k0: 'v' }, {})))).status).toBe(201);
    const pod: ObjectRef = { resource: 'pods', namespace: 'default', name: 'user' };
    const create = createCall(pod, podUsingSecretBody(pod, 'user', 'token', 'env'), { scope: '{pods: Site1, secrets: Site2}' });
    const disk = sim.site('Site2').nodeDisk;
    disk.fill();
    expect((await send(sim, 'Site1', create)).status).toBeGreaterThanOrEqual(500);
    expect(await objectOn(sim, 'Site1', pod)).toBeUndefined();
    disk.free();
    await sim.runFor(2_000);
    // Asked again, the owner makes the replicant it could not make before.
    expect((await send(sim, 'Site1', create)).status).toBe(201);
    expect(await objectOn(sim, 'Site1', secret)).toMatchObject({ metadata: { name: 'token' } });
  });
});
