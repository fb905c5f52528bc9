/**
 * The sharing checker fails on nodes broken for it, and the same script passes on a sound node: a
 * pod made without its secret being shared (a proxy drops the `secrets:` binding of its scope),
 * and a secret deleted while a pod relies on it (a proxy forces the owner's deletes).
 */
import { describe, expect, it } from 'vitest';
import { asSiteName } from '../../core/ids.js';
import type { CheckerName, CheckerResult } from '../../simulator/checkers/index.js';
import { createCall, deleteCall, objectBody, patchCall, podUsingSecretBody } from '../../simulator/workload/kubectl-requests.js';
import { dependentPodKey, sharedSecretKey } from '../../simulator/workload/sharing-keys.js';
import { forcingProxy, scriptedRun, sharingStrippingProxy, type Script } from './broken-nodes.js';

const [site1, site2] = [asSiteName('Site1'), asSiteName('Site2')];
/** Owned by Site2, shared with Site1. */
const secret = sharedSecretKey('token', [site2, site1]);
const user = dependentPodKey('user', [site1], secret, 'env');
/** Site2 never holds it: a pod relying on it is refused. */
const absent = sharedSecretKey('absent', [site2, site1]);
const lonely = dependentPodKey('lonely', [site1], absent, 'volume');
const keys = [secret, user, absent, lonely];

/** The secret made at its owner, a pod relying on it on Site1, the secret changed, its delete tried, and a pod relying on a missing secret. */
async function shareAndTryToDelete({ send, sim }: Script): Promise<{ deleted: number | undefined; refused: number | undefined }> {
  expect((await send('Site2', secret, (id) => createCall(secret.ref, objectBody(secret.ref, id, { k0: 'v0' }, {})))).outcome).toBe('acknowledged');
  expect((await send('Site1', user, (id) => createCall(user.ref, podUsingSecretBody(user.ref, id, 'token', 'env'), { scope: user.scope }))).outcome).toBe('acknowledged');
  await sim.runFor(2_000);
  expect((await send('Site2', secret, (id) => patchCall(secret.ref, id, { k0: 'v1' }))).outcome).toBe('acknowledged');
  await sim.runFor(2_000);
  const deleted = (await send('Site2', secret, () => deleteCall(secret.ref))).status;
  const refused = (await send('Site1', lonely, (id) => createCall(lonely.ref, podUsingSecretBody(lonely.ref, id, 'absent', 'volume'), { scope: lonely.scope }))).status;
  await sim.runFor(2_000);
  return { deleted, refused };
}

function failing(results: Map<CheckerName, CheckerResult>): CheckerName[] {
  return [...results.values()].filter((result) => !result.ok).map((result) => result.name);
}

function violations(results: Map<CheckerName, CheckerResult>): string {
  return (results.get('sharing')?.violations ?? []).join('\n');
}

describe('the sharing checker', () => {
  it('holds on a sound node: the secret is shared, its delete refused while the pod stands, a pod without one refused', async () => {
    let answers: { deleted: number | undefined; refused: number | undefined } | undefined;
    const results = await scriptedRun('sharing-sound', {}, keys, async (run) => {
      answers = await shareAndTryToDelete(run);
    });
    expect(answers).toEqual({ deleted: 409, refused: 409 });
    expect(failing(results)).toEqual([]);
    // The pod on Site1, the refused create and the refused delete (a 409 is not acknowledged: not checked).
    expect(results.get('sharing')?.checked).toBe(2);
  });

  it('fails when the pod is made without its secret being shared', async () => {
    const results = await scriptedRun('sharing-stripped', sharingStrippingProxy('Site1'), keys, async (run) => {
      await shareAndTryToDelete(run);
    });
    expect(failing(results)).toEqual(['sharing']);
    expect(violations(results)).toMatch(/pods\/default\/user on Site1 relies on secrets\/default\/token, which Site1's application lacks/);
  });

  it('fails when the owner deletes the secret while a pod relies on it', async () => {
    const results = await scriptedRun('sharing-forced', forcingProxy('Site2'), keys, async (run) => {
      expect((await shareAndTryToDelete(run)).deleted).toBe(200);
    });
    expect(failing(results)).toEqual(['sharing']);
    expect(violations(results)).toMatch(/o\d+ \(delete secrets\/default\/token on Site2, answered 200 at \S+ s\): acknowledged although Site2's replicant recorded pods\/default\/user on Site1 as relying on it/);
    expect(violations(results)).toMatch(/pods\/default\/user on Site1 relies on secrets\/default\/token, which Site1's application lacks/);
  });
});
