/**
 * Each checker fails on a node broken for it, and the same script passes on a sound node: the
 * checkers can see what they claim to see. The faults sit in the node's ports (broken-nodes.ts).
 */
import { describe, expect, it } from 'vitest';
import type { CheckerName, CheckerResult } from '../../simulator/checkers/index.js';
import { asSiteName } from '../../core/ids.js';
import { containerKey, crossNamespace, workloadKey } from '../../simulator/workload/key-space.js';
import { createCall, deleteCall, labelCall, objectBody, toRequest } from '../../simulator/workload/kubectl-requests.js';
import { simHttpUrl } from '../../simulator/harness/sim-node.js';
import {
  bypassingApp, configMap, dropsReplicatedWrites, forgetfulStorage, leakingTransport, misroutingLinks, ownerHidingApp, readElsewhereProxy, replayingApp, resurrectingApp, scopeStrippingProxy,
  scriptedRun, slowApp, unavailableProxy, type Script,
} from './broken-nodes.js';

const shared = configMap('shared', ['Site1', 'Site2']);
const scope = '{Site1 & Site2}';

async function createAndLabel({ send, sim }: Script): Promise<void> {
  expect((await send('Site1', shared, (id) => createCall(shared.ref, objectBody(shared.ref, id, { k: 'v' }, {}), { scope }))).outcome).toBe('acknowledged');
  await sim.runFor(1_000);
  expect((await send('Site1', shared, (id) => labelCall(shared.ref, id, ['tier', 'a']))).outcome).toBe('acknowledged');
  await sim.runFor(2_000);
}

function failing(results: Map<CheckerName, CheckerResult>): CheckerName[] {
  return [...results.values()].filter((result) => !result.ok).map((result) => result.name);
}

function violations(results: Map<CheckerName, CheckerResult>, name: CheckerName): string {
  return (results.get(name)?.violations ?? []).join('\n');
}

describe('the checkers against broken nodes', () => {
  it('all hold on a sound node', async () => {
    const members = [asSiteName('Site1'), asSiteName('Site2')];
    const spread = workloadKey('configmaps', 'spread-one', 'cross', members, crossNamespace);
    const results = await scriptedRun('sound', {}, [shared, containerKey(crossNamespace, members), spread], async (run) => {
      await createAndLabel(run);
      const outside = await run.read('Site3', shared, true);
      expect([outside.status, outside.forwardedTo]).toEqual([200, 'Site1']);
      expect((await run.read('Site2', shared, false)).status).toBe(200);
      expect((await run.send('Site2', shared, () => deleteCall(shared.ref))).outcome).toBe('acknowledged');
      // An object of a cross namespace: made on Site1, found from the other member and from outside.
      expect((await run.send('Site1', spread, (id) => createCall(spread.ref, objectBody(spread.ref, id, {}, {})))).outcome).toBe('acknowledged');
      expect((await run.read('Site2', spread, false)).forwardedTo).toBe('Site1');
      expect((await run.read('Site3', spread, true)).forwardedTo).toBe('Site1');
    });
    expect(failing(results)).toEqual([]);
    expect(results.get('reads')?.checked).toBe(4);
    expect(results.get('cross-names')?.checked).toBe(1);
  });

  it('convergence fails when an application silently drops the writes replication sends it', async () => {
    const results = await scriptedRun('drops', dropsReplicatedWrites('Site2'), [shared], createAndLabel);
    expect(failing(results)).toContain('convergence');
    expect(violations(results, 'convergence')).toMatch(/configmaps\/default\/shared on Site2: the application lacks it \(desired \S+, marker o2\)/);
  });

  it('acknowledged-writes fails when a store forgets what it acknowledged', async () => {
    const forgetting = { on: false };
    const results = await scriptedRun('forgets', forgetfulStorage('Site1', forgetting), [shared], async ({ send, sim }) => {
      expect((await send('Site1', shared, (id) => createCall(shared.ref, objectBody(shared.ref, id, { k: 'v' }, {}), { scope }))).outcome).toBe('acknowledged');
      await sim.runFor(1_000);
      sim.partition([['Site1'], ['Site2', 'Site3']]);
      forgetting.on = true;
      expect((await send('Site1', shared, (id) => labelCall(shared.ref, id, ['tier', 'lost']))).outcome).toBe('acknowledged');
      await sim.runFor(500);
      sim.crash('Site1');
      forgetting.on = false;
    });
    expect(failing(results)).toContain('acknowledged-writes');
    expect(violations(results, 'acknowledged-writes')).toMatch(/o2 \(label configmaps\/default\/shared on Site1.*acknowledged, but no write of res\/\S+ carries it/);
  });

  it('no-resurrection fails when an application brings back what the reconciler deleted', async () => {
    const results = await scriptedRun('zombie', resurrectingApp('Site2'), [shared], async (run) => {
      await createAndLabel(run);
      expect((await run.send('Site1', shared, () => deleteCall(shared.ref))).outcome).toBe('acknowledged');
      await run.sim.runFor(2_000);
    });
    expect(failing(results)).toContain('no-resurrection');
    expect(violations(results, 'no-resurrection')).toMatch(/shared on Site2: the object deleted at \S+ s \(marker o2\) was created again/);
    expect(violations(results, 'no-resurrection')).toMatch(/shared on Site2: still holds the object of deleted incarnation #0/);
  });

  it('no-resurrection fails when the reconciler creates the object again on a site that stored its tombstone', async () => {
    const results = await scriptedRun('stale-create', replayingApp('Site2', 300), [shared], async (run) => {
      await createAndLabel(run);
      expect((await run.send('Site1', shared, () => deleteCall(shared.ref))).outcome).toBe('acknowledged');
      await run.sim.runFor(2_000);
    });
    expect(failing(results)).toContain('no-resurrection');
    expect(violations(results, 'no-resurrection')).toMatch(
      /shared on Site2: the reconciler created the object of deleted incarnation #0 \(marker o2\) at \S+ s, after the site stored its tombstone at \S+ s/,
    );
  });

  it('scope-safety fails when a site leaks a replicant to a site outside its scope', async () => {
    const results = await scriptedRun('leaks', leakingTransport('Site1'), [shared], createAndLabel);
    expect(failing(results)).toContain('scope-safety');
    expect(violations(results, 'scope-safety')).toMatch(/Site3 stored res\/\S+ \(configmaps\/default\/shared #0\) outside its scope \{Site1 & Site2\}/);
  });

  it('scope-safety fails when a node replicates a pod a replicated deployment owns', async () => {
    const web = workloadKey('deployments', 'web', 'replicated', [asSiteName('Site1'), asSiteName('Site2')]);
    const results = await scriptedRun('owner-hidden', ownerHidingApp('Site1'), [web], async ({ send, sim }) => {
      expect((await send('Site1', web, (id) => createCall(web.ref, objectBody(web.ref, id, { k: 'v1' }, {}), { scope }))).outcome).toBe('acknowledged');
      await sim.runFor(3_000);
      const pods = await sim.perform(async () => (await (await sim.site('Site1').node.standin.fetch(new Request('http://app/api/v1/namespaces/default/pods'))).json()) as { items: Array<{ metadata: { name: string } }> });
      const owned = pods.items[0]?.metadata.name ?? 'none';
      expect(owned).toMatch(/^web-/);
      const labelled = await sim.perform(() => sim.site('Site1').call(toRequest(simHttpUrl(asSiteName('Site1')), labelCall({ resource: 'pods', namespace: 'default', name: owned }, 'x', ['tier', 'a'], { scope }))));
      expect(labelled.status).toBe(200);
      await sim.runFor(2_000);
    });
    expect(failing(results)).toContain('scope-safety');
    expect(violations(results, 'scope-safety')).toMatch(/Site2's node applied POST pods default\/web-\S+, which no workload key names \(an owned child\?\)/);
  });

  it('reads fails when a site answers a read its scope leaves out from its own application', async () => {
    const results = await scriptedRun('strips-scope', scopeStrippingProxy('Site3'), [shared], async (run) => {
      await createAndLabel(run);
      expect((await run.read('Site3', shared, true)).status).toBe(404);
    });
    expect(failing(results)).toEqual(['reads']);
    expect(violations(results, 'reads')).toMatch(/r1 \(get configmaps\/default\/shared on Site3, scope \{Site1 & Site2\}, at \S+ s\) answered 404 by Site3 itself, outside its scope/);
  });

  it('reads fails when a member holding the object has its read answered by another member; not when it lacks the object', async () => {
    const results = await scriptedRun('reads-elsewhere', readElsewhereProxy('Site2', 'Site1'), [shared], async (run) => {
      await createAndLabel(run);
      expect((await run.read('Site2', shared, true)).forwardedTo).toBe('Site1');
    });
    expect(failing(results)).toEqual(['reads']);
    expect(violations(results, 'reads')).toMatch(/r1 \(get configmaps\/default\/shared on Site2, scope \{Site1 & Site2\}, at \S+ s\) answered by Site1, though Site2 held the object all along/);

    // Site2 cut off while the object is made: it lacks it, and its scoped read asks Site1 (held-elsewhere.ts).
    const lacking = await scriptedRun('lacking', {}, [shared], async ({ send, read, sim }) => {
      sim.partition([['Site1', 'Site3'], ['Site2']]);
      expect((await send('Site1', shared, (id) => createCall(shared.ref, objectBody(shared.ref, id, { k: 'v' }, {}), { scope }))).outcome).toBe('acknowledged');
      sim.heal();
      expect((await read('Site2', shared, true)).forwardedTo).toBe('Site1');
    });
    expect(failing(lacking)).toEqual([]);
  });

  it('reads fails on a 5xx from a member whose application was serving, not while it was out', async () => {
    const results = await scriptedRun('unavailable', unavailableProxy('Site2'), [shared], async (run) => {
      await createAndLabel(run);
      expect((await run.read('Site2', shared, false)).status).toBe(503);
    });
    expect(failing(results)).toEqual(['reads']);
    expect(violations(results, 'reads')).toMatch(/r1 \(get configmaps\/default\/shared on Site2, no scope, at \S+ s\) answered 503/);

    const outage = await scriptedRun('app-outage', {}, [shared], async (run) => {
      await createAndLabel(run);
      run.sim.site('Site2').app.begin('refusing', run.sim.clock.elapsedMs());
      expect((await run.read('Site2', shared, false)).status).toBe(503);
      run.sim.site('Site2').app.end(run.sim.clock.elapsedMs());
    });
    expect(failing(outage)).toEqual([]);
  });

  it('reads fails when a forwarded read answers another object', async () => {
    const other = configMap('other', ['Site1', 'Site2']);
    const results = await scriptedRun('misroutes', misroutingLinks('Site3', 'shared', 'other'), [shared, other], async (run) => {
      await createAndLabel(run);
      expect((await run.send('Site2', other, (id) => createCall(other.ref, objectBody(other.ref, id, {}, {}), { scope }))).outcome).toBe('acknowledged');
      await run.sim.runFor(2_000);
      expect((await run.read('Site3', shared, true)).status).toBe(200);
    });
    expect(failing(results)).toEqual(['reads']);
    expect(violations(results, 'reads')).toMatch(/r1 \(get configmaps\/default\/shared on Site3, .*\) answered another object \(default\/other\)/);
  });

  it('cross-names fails when a name of a cross namespace is held by two members and only one claimed it', async () => {
    const members = [asSiteName('Site1'), asSiteName('Site2')];
    const dup = workloadKey('configmaps', 'dup', 'cross', members, crossNamespace);
    const results = await scriptedRun('bypass', bypassingApp('Site2', crossNamespace, 'dup', 3_000), [containerKey(crossNamespace, members), dup], async ({ send, sim }) => {
      expect((await send('Site1', dup, (id) => createCall(dup.ref, objectBody(dup.ref, id, {}, {})))).outcome).toBe('acknowledged');
      await sim.runFor(5_000);
    });
    expect(failing(results)).toEqual(['cross-names']);
    expect(violations(results, 'cross-names')).toMatch(/configmaps\/spread\/dup is held by Site1, Site2, but Site2 has no claim on it: the double is not told apart/);
  });

  it('heal-bound fails when a site takes too long to apply what it received after the heal', async () => {
    const results = await scriptedRun('slow', slowApp('Site2', 25_000), [shared], async ({ send, sim }) => {
      sim.partition([['Site2'], ['Site1', 'Site3']]);
      expect((await send('Site1', shared, (id) => createCall(shared.ref, objectBody(shared.ref, id, {}, {}), { scope }))).outcome).toBe('acknowledged');
    });
    expect(failing(results)).toEqual(['heal-bound']);
    expect(violations(results, 'heal-bound')).toMatch(/the sites settled 2\d\.\d+ s after the final heal; the bound is 15\.000 s/);
  });
});
