/**
 * Replication end to end (issue 4, "Done when"): three real `cheops node` processes with the
 * stand-in Kubernetes API, driven by the real kubectl through each site's front. The steps share
 * one cluster and run in order, as an operator's session would. Partitions cut the relays the
 * sites' peer-to-peer traffic goes through (test/support/tcp-relay.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, ReplicationCluster, type SiteName } from './support/replication-cluster.js';

const both = '{Site1 & Site2}';
let cluster: ReplicationCluster;

interface ReplicantItem {
  metaId: string;
  key: { name: string; namespace?: string };
  deleted: boolean;
  replicas: Record<string, { status: string; error?: string }>;
  conflicts: number;
}

interface ReplicantDetail {
  replicas: Record<string, { status: string; localId?: string; error?: string }>;
  conflicts: Array<{ revision: string; site: string; lostTo: string }>;
  dependents: Array<{ site: string; key: { service: string; name: string }; kind: string }>;
}

async function item(site: SiteName, name: string, namespace = 'default'): Promise<ReplicantItem | undefined> {
  const { items } = await cluster.admin<{ items: ReplicantItem[] }>(site, '/replicants');
  return items.find((entry) => entry.key.name === name && entry.key.namespace === namespace && !entry.deleted);
}

/** What kubectl printed on standard error for reads, per site: conflict warnings are shown once. */
const readWarnings: Record<string, string> = {};

async function labels(site: SiteName, pod: string): Promise<Record<string, string>> {
  const result = await cluster.kubectl(site, ['get', 'pod', pod, '-o', 'jsonpath={.metadata.labels}']);
  if (result.code !== 0) throw new Error(`kubectl get pod ${pod} on ${site} failed:\n${result.stderr}`);
  readWarnings[site] = (readWarnings[site] ?? '') + result.stderr;
  return JSON.parse(result.stdout || '{}') as Record<string, string>;
}

beforeAll(async () => {
  cluster = await ReplicationCluster.start();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('replication across three real sites, with the real kubectl', () => {
  it("Table 1: purple made on Site1 and violet on Site2, both {Site1&Site2}, live on both with each site's own uid", async () => {
    expect(await cluster.ok('Site1', ['run', 'purple', '--image=nginx'], { scope: '{Site1&Site2}' })).toBe('pod/purple created\n');
    expect(await cluster.ok('Site2', ['run', 'violet', '--image=nginx'], { scope: '{Site1&Site2}' })).toBe('pod/violet created\n');
    for (const pod of ['purple', 'violet']) {
      const [uid1, uid2] = await eventually(async () => {
        const uids = [await cluster.podUid('Site1', pod), await cluster.podUid('Site2', pod)];
        expect(uids.every((uid) => uid !== undefined)).toBe(true);
        return uids;
      });
      expect(uid1).not.toBe(uid2);
      expect(await cluster.podUid('Site3', pod)).toBeUndefined();
      // `kubectl get pod` on each site shows that site's copy: its uid is the one the site recorded.
      const metaId = (await item('Site1', pod))?.metaId ?? '';
      const detail = await eventually(async () => {
        const found = await cluster.admin<ReplicantDetail>('Site2', `/replicants/${metaId}`);
        expect(found.replicas.Site1?.status).toBe('applied');
        expect(found.replicas.Site2?.status).toBe('applied');
        return found;
      });
      expect(detail.replicas.Site1?.localId).toBe(uid1);
      expect(detail.replicas.Site2?.localId).toBe(uid2);
    }
    expect(await cluster.ok('Site2', ['get', 'pod', 'violet', '--no-headers'])).toMatch(/^violet\s+1\/1\s+Running/);
    const metrics = await (await fetch(`${cluster.site('Site2').node.url}/metrics`)).text();
    expect(metrics).toMatch(/^cheops_replication_operations_total\{op="create",outcome="applied"\} [1-9]/m);
    expect(metrics).toMatch(/^cheops_replication_delay_seconds_count [1-9]/m);
    expect(metrics).toMatch(/^cheops_replicas_pending\{site="Site1"\} 0/m);
  });

  it('a label set on Site2 and a delete made on Site1 reach the other site', async () => {
    expect(await cluster.ok('Site2', ['label', 'pod', 'purple', 'tier=front'])).toBe('pod/purple labeled\n');
    await eventually(async () => expect((await labels('Site1', 'purple')).tier).toBe('front'));
    expect(await cluster.ok('Site1', ['delete', 'pod', 'violet', '--wait=false'])).toBe('pod "violet" deleted\n');
    await eventually(async () => expect(await cluster.podUid('Site2', 'violet')).toBeUndefined());
    await eventually(async () => expect(await cluster.podUid('Site1', 'violet')).toBeUndefined());
  });

  it('a write on Site3 scoped {Site1 & Site2} lands on Site1 and Site2, not on Site3', async () => {
    expect(await cluster.ok('Site3', ['run', 'far', '--image=nginx'], { scope: both })).toBe('pod/far created\n');
    await eventually(async () => {
      expect(await cluster.podUid('Site1', 'far')).toBeDefined();
      expect(await cluster.podUid('Site2', 'far')).toBeDefined();
    });
    expect(await cluster.podUid('Site3', 'far')).toBeUndefined();
    expect(await item('Site3', 'far')).toBeUndefined();
  });

  it('a label scoped to one more site puts a replicated pod there too, with a warning; the new copy is a replica like the others', async () => {
    expect(await cluster.ok('Site1', ['run', 'grow', '--image=nginx'], { scope: both })).toBe('pod/grow created\n');
    await eventually(async () => expect(await cluster.podUid('Site2', 'grow')).toBeDefined());
    const widened = await cluster.kubectl('Site1', ['label', 'pod', 'grow', 'tier=edge'], { scope: '{Site1 & Site2 & Site3}' });
    expect(widened.code).toBe(0);
    expect(widened.stdout).toBe('pod/grow labeled\n');
    expect(widened.stderr).toContain('Warning: pods default/grow is replicated on Site3 too from now on (scope {Site1 & Site2 & Site3})');
    await eventually(async () => expect((await labels('Site3', 'grow')).tier).toBe('edge'));
    expect(await cluster.ok('Site3', ['label', 'pod', 'grow', 'tier=far', '--overwrite'])).toBe('pod/grow labeled\n');
    await eventually(async () => expect((await labels('Site1', 'grow')).tier).toBe('far'));
    expect(await cluster.ok('Site2', ['delete', 'pod', 'grow', '--wait=false'])).toBe('pod "grow" deleted\n');
    for (const site of ['Site1', 'Site3'] as const) await eventually(async () => expect(await cluster.podUid(site, 'grow')).toBeUndefined());
  });

  it('the same label sent to the site the scope adds, which lacks the pod: its read and its write go to a site holding it', async () => {
    expect(await cluster.ok('Site1', ['run', 'gain', '--image=nginx'], { scope: both })).toBe('pod/gain created\n');
    await eventually(async () => expect(await cluster.podUid('Site2', 'gain')).toBeDefined());
    // A table, as kubectl asks for it, from the site that holds the pod.
    const read = await cluster.kubectl('Site3', ['get', 'pod', 'gain'], { scope: '{Site1 & Site2 & Site3}' });
    expect(read.code).toBe(0);
    expect(read.stdout).toMatch(/^NAME\s+READY\s+STATUS/);
    expect(read.stdout).toContain('gain');
    expect(read.stderr).toContain('Warning: pods default/gain is not on Site3 (yet); read from Site1');
    const widened = await cluster.kubectl('Site3', ['label', 'pod', 'gain', 'tier=edge'], { scope: '{Site1 & Site2 & Site3}' });
    expect(widened.code).toBe(0);
    expect(widened.stdout).toBe('pod/gain labeled\n');
    expect(widened.stderr).toContain('Warning: pods default/gain is not on Site3: the write went to a site of the scope {Site1 & Site2 & Site3} that holds it');
    expect(widened.stderr).toContain('Warning: pods default/gain is replicated on Site3 too from now on');
    await eventually(async () => expect((await labels('Site3', 'gain')).tier).toBe('edge'));
    expect(await cluster.ok('Site3', ['delete', 'pod', 'gain', '--wait=false'])).toBe('pod "gain" deleted\n');
    for (const site of ['Site1', 'Site2'] as const) await eventually(async () => expect(await cluster.podUid(site, 'gain')).toBeUndefined());
  });

  it('a manifest applied on the site its scope adds, which lacks the object: the create there joins the object the others hold, one winner everywhere', async () => {
    const all = '{Site1 & Site2 & Site3}';
    const manifest = (level: string, scope: string): string => [
      'apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: joined', '  annotations:', `    cheops.io/scope: "${scope}"`, 'data:', `  level: "${level}"`, '',
    ].join('\n');
    const level = async (site: SiteName): Promise<string> => cluster.ok(site, ['get', 'configmap', 'joined', '-o', 'jsonpath={.data.level}']).catch(() => '');
    expect(await cluster.ok('Site1', ['apply', '-f', '-'], { input: manifest('one', both) })).toBe('configmap/joined created\n');
    await eventually(async () => expect(await level('Site2')).toBe('one'));
    // The read kubectl apply makes first carries no scope: Site3 finds nothing and creates.
    expect(await cluster.ok('Site3', ['apply', '-f', '-'], { input: manifest('three', all) })).toBe('configmap/joined created\n');
    await eventually(async () => {
      const levels = await Promise.all((['Site1', 'Site2', 'Site3'] as const).map(level));
      expect(['one', 'three']).toContain(levels[0]);
      expect(levels).toEqual([levels[0], levels[0], levels[0]]);
    }, 20_000);
    // One object on the three sites now: applied again on Site3, it changes everywhere.
    expect(await cluster.ok('Site3', ['apply', '-f', '-'], { input: manifest('four', all) })).toBe('configmap/joined configured\n');
    for (const site of ['Site1', 'Site2'] as const) await eventually(async () => expect(await level(site)).toBe('four'));
  });

  it('a replicated deployment: each site\'s controllers make its pods; kubectl scale on one site scales it on every site', async () => {
    expect(await cluster.ok('Site1', ['create', 'deployment', 'web', '--image=nginx'], { scope: both })).toBe('deployment.apps/web created\n');
    const readyOn = async (site: SiteName): Promise<number> => {
      const result = await cluster.kubectl(site, ['get', 'deployment', 'web', '-o', 'jsonpath={.spec.replicas}/{.status.readyReplicas}']);
      return result.code === 0 ? Number(result.stdout.split('/')[1] ?? 0) : -1;
    };
    await eventually(async () => expect(await readyOn('Site2')).toBe(1));
    expect(await cluster.ok('Site1', ['scale', 'deployment', 'web', '--replicas=2'])).toBe('deployment.apps/web scaled\n');
    await eventually(async () => expect(await readyOn('Site2')).toBe(2));
    // Site2's pods are its own controllers', named there: never replicated.
    const podsOn = async (site: SiteName): Promise<string[]> => (await cluster.ok(site, ['get', 'pods', '-l', 'app=web', '-o', 'name'])).split('\n').filter((line) => line !== '');
    await eventually(async () => expect(await podsOn('Site2')).toHaveLength(2));
    const onSite1 = await podsOn('Site1');
    expect((await podsOn('Site2')).some((name) => onSite1.includes(name))).toBe(false);
    expect(await cluster.ok('Site2', ['delete', 'deployment', 'web', '--wait=false'])).toBe('deployment.apps "web" deleted\n');
    await eventually(async () => expect(await podsOn('Site1')).toHaveLength(0));
  });

  it('a read scoped to other sites is answered by one of them (a pod Site3 does not hold, a secret shared from Site2; a secret follows a replicated pod), a cross one by every member', async () => {
    expect(await cluster.ok('Site3', ['get', 'pod', 'far', '-o', 'name'], { scope: both })).toBe('pod/far\n');
    expect(await cluster.ok('Site2', ['create', 'secret', 'generic', 'token', '--from-literal=key=from-site2'])).toBe('secret/token created\n');
    const shared = await cluster.ok('Site1', ['get', 'secret', 'token', '-o', 'jsonpath={.data.key}'], { scope: '{pods: Site1, secrets: Site2}' });
    expect(Buffer.from(shared, 'base64').toString()).toBe('from-site2');
    expect((await cluster.kubectl('Site1', ['get', 'secret', 'token'])).code).not.toBe(0);
    // DESIGN.md §7's sharing: a pod made on Site1 with the secret Site2 holds.
    const manifest = JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'consumer' },
      spec: { containers: [{ name: 'app', image: 'nginx', env: [{ name: 'KEY', valueFrom: { secretKeyRef: { name: 'token', key: 'key' } } }] }] },
    });
    const made = await cluster.kubectl('Site1', ['create', '-f', '-'], { input: manifest, scope: '{pods: Site1, secrets: Site2}' });
    expect(made.stdout).toBe('pod/consumer created\n');
    expect(made.stderr).toContain('secrets default/token shared from Site2');
    expect(Buffer.from(await cluster.ok('Site1', ['get', 'secret', 'token', '-o', 'jsonpath={.data.key}']), 'base64').toString()).toBe('from-site2');
    // Site2 may not delete it while the pod on Site1 relies on it.
    const refused = await cluster.kubectl('Site2', ['delete', 'secret', 'token']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/relied upon by pods default\/consumer on Site1/);
    // The admin API shows who relies on it, on either site.
    const secretReplicant = await item('Site2', 'token');
    const detail = await cluster.admin<ReplicantDetail>('Site2', `/replicants/${secretReplicant?.metaId ?? ''}`);
    expect(detail.dependents).toMatchObject([{ site: 'Site1', key: { service: 'pods', name: 'consumer' }, kind: 'reliance' }]);
    // A second site taking it joins the same replicant: one document on the three, kept in step.
    const second = await cluster.kubectl('Site3', ['create', '-f', '-'], { input: manifest.replace('"consumer"', '"neighbour"'), scope: '{pods: Site3, secrets: Site2}' });
    expect(second.stdout).toBe('pod/neighbour created\n');
    expect(second.stderr).toContain('secrets default/token shared from Site2: replicated between Site2, Site1, Site3');
    expect(Buffer.from(await cluster.ok('Site3', ['get', 'secret', 'token', '-o', 'jsonpath={.data.key}']), 'base64').toString()).toBe('from-site2');
    await eventually(async () => {
      for (const site of ['Site1', 'Site2', 'Site3'] as const) expect((await item(site, 'token'))?.metaId).toBe(secretReplicant?.metaId);
    });
    // DESIGN.md §8: a replicated pod's secret, held here, follows it to the pod's other sites.
    expect(await cluster.ok('Site1', ['create', 'secret', 'generic', 'creds', '--from-literal=key=from-site1'])).toBe('secret/creds created\n');
    const follower = manifest.replace('"consumer"', '"follower"').replace('"token"', '"creds"');
    const followed = await cluster.kubectl('Site1', ['create', '-f', '-'], { input: follower, scope: both });
    expect(followed.stdout).toBe('pod/follower created\n');
    expect(followed.stderr).toContain('secrets default/creds (spec.containers[0].env[0].valueFrom.secretKeyRef) follows to Site2');
    await eventually(async () => expect(Buffer.from(await cluster.ok('Site2', ['get', 'secret', 'creds', '-o', 'jsonpath={.data.key}']), 'base64').toString()).toBe('from-site1'));
    // A cross scope's read lists every member's objects, with a SITE column.
    expect(await cluster.ok('Site3', ['run', 'third', '--image=nginx'])).toBe('pod/third created\n');
    const listed = await cluster.ok('Site1', ['get', 'pods'], { scope: '{Site1 % Site3}' });
    expect(listed).toMatch(/^SITE\s+NAME\s+READY/);
    expect(listed).toMatch(/\nSite1\s+purple\s/);
    expect(listed).toMatch(/\nSite3\s+third\s/);
    expect(await cluster.ok('Site1', ['get', 'pod', 'third', '-o', 'name'], { scope: '{Site1 % Site3}' })).toBe('pod/third\n');
  });

  it('a cross scope: a namespace on both sites, a pod in it on one, its name taken once, listed from either, with or without --scope', async () => {
    const cross = '{Site1 % Site3}';
    expect(await cluster.ok('Site1', ['create', 'namespace', 'spread'], { scope: cross })).toBe('namespace/spread created\n');
    await eventually(async () => expect(await cluster.ok('Site3', ['get', 'namespace', 'spread', '-o', 'name'])).toBe('namespace/spread\n'));
    expect(await cluster.ok('Site3', ['run', 'blue', '-n', 'spread', '--image=nginx'], { scope: cross })).toBe('pod/blue created\n');
    const taken = await cluster.kubectl('Site1', ['run', 'blue', '-n', 'spread', '--image=nginx'], { scope: cross });
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toMatch(/AlreadyExists.*already exists on Site3/);
    expect(await cluster.ok('Site1', ['run', 'green', '-n', 'spread', '--image=nginx'], { scope: cross })).toBe('pod/green created\n');
    const listed = await cluster.ok('Site1', ['get', 'pods', '-n', 'spread'], { scope: cross });
    expect(listed).toMatch(/\nSite1\s+green\s/);
    expect(listed).toMatch(/\nSite3\s+blue\s/);
    // A change made from Site1 reaches the pod on Site3.
    expect(await cluster.ok('Site1', ['label', 'pod', 'blue', '-n', 'spread', 'tier=web'], { scope: cross })).toBe('pod/blue labeled\n');
    expect(await cluster.ok('Site3', ['get', 'pod', 'blue', '-n', 'spread', '-o', 'jsonpath={.metadata.labels.tier}'])).toBe('web');
    // Without --scope: the namespace is cross, and plain kubectl sees one namespace from either site.
    const plain = await cluster.ok('Site3', ['get', 'pods', '-n', 'spread']);
    expect(plain).toMatch(/\nSite1\s+green\s/);
    expect(plain).toMatch(/\nSite3\s+blue\s/);
    const again = await cluster.kubectl('Site3', ['run', 'green', '-n', 'spread', '--image=nginx']);
    expect(again.stderr).toMatch(/AlreadyExists.*already exists on Site1/);
  });

  it('replicates protobuf creates (kubectl create namespace, configmap) and manifests applied with the annotation', async () => {
    expect(await cluster.ok('Site1', ['create', 'namespace', 'teams'], { scope: both })).toBe('namespace/teams created\n');
    expect(await cluster.ok('Site1', ['create', 'configmap', 'settings', '--from-literal=level=debug'], { scope: both })).toBe('configmap/settings created\n');
    const manifest = (level: string): string => [
      'apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: applied', '  annotations:', `    cheops.io/scope: "${both}"`, 'data:', `  level: "${level}"`, '',
    ].join('\n');
    expect(await cluster.ok('Site2', ['apply', '-f', '-'], { input: manifest('info') })).toBe('configmap/applied created\n');
    expect(await cluster.ok('Site2', ['apply', '-f', '-'], { input: manifest('warn') })).toBe('configmap/applied configured\n');
    await eventually(async () => {
      expect(await cluster.ok('Site2', ['get', 'namespace', 'teams', '-o', 'name'])).toBe('namespace/teams\n');
      expect(await cluster.ok('Site2', ['get', 'configmap', 'settings', '-o', 'jsonpath={.data.level}'])).toBe('debug');
      expect(await cluster.ok('Site1', ['get', 'configmap', 'applied', '-o', 'jsonpath={.data.level}'])).toBe('warn');
    });
    const annotations = await cluster.ok('Site1', ['get', 'configmap', 'applied', '-o', 'jsonpath={.metadata.annotations}']);
    expect(annotations).not.toContain('"cheops.io/scope"');
    expect((await cluster.kubectl('Site3', ['get', 'namespace', 'teams'])).code).not.toBe(0);
  });

  it('replicates server-side apply (kubectl apply --server-side), scoped by the manifest\'s annotation or by --scope', async () => {
    const manifest = (name: string, level: string, scoped: boolean): string => [
      'apiVersion: v1', 'kind: ConfigMap', 'metadata:', `  name: ${name}`, ...(scoped ? ['  annotations:', `    cheops.io/scope: "${both}"`] : []), 'data:', `  level: "${level}"`, '',
    ].join('\n');
    expect(await cluster.ok('Site2', ['apply', '--server-side', '-f', '-'], { input: manifest('ssa', 'info', true) })).toBe('configmap/ssa serverside-applied\n');
    expect(await cluster.ok('Site2', ['apply', '--server-side', '-f', '-'], { input: manifest('ssa', 'warn', true) })).toBe('configmap/ssa serverside-applied\n');
    expect(await cluster.ok('Site1', ['apply', '--server-side', '-f', '-'], { input: manifest('ssa-flag', 'info', false), scope: both })).toBe('configmap/ssa-flag serverside-applied\n');
    await eventually(async () => {
      expect(await cluster.ok('Site1', ['get', 'configmap', 'ssa', '-o', 'jsonpath={.data.level}'])).toBe('warn');
      expect(await cluster.ok('Site2', ['get', 'configmap', 'ssa-flag', '-o', 'jsonpath={.data.level}'])).toBe('info');
    });
    // Applied again on the other site, without a scope: the replicated object changes on both.
    expect(await cluster.ok('Site2', ['apply', '--server-side', '-f', '-'], { input: manifest('ssa-flag', 'error', false) })).toBe('configmap/ssa-flag serverside-applied\n');
    await eventually(async () => expect(await cluster.ok('Site1', ['get', 'configmap', 'ssa-flag', '-o', 'jsonpath={.data.level}'])).toBe('error'));
    expect((await cluster.kubectl('Site3', ['get', 'configmap', 'ssa'])).code).not.toBe(0);
  });

  it('bad input: a malformed scope, an unknown site, a local refusal, a remote refusal', async () => {
    // kubectl reads discovery through the /scope/ prefix first, and shows no message for a refused
    // discovery: the path carrier is checked over plain HTTP, the annotation carrier with kubectl.
    const prefixed = await cluster.request('Site1', 'POST', `/scope/${encodeURIComponent('{Site1 &}')}/api/v1/namespaces/default/pods`, {
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bad' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } },
    });
    expect(prefixed.status).toBe(400);
    expect(((await prefixed.json()) as { message: string }).message).toMatch(/column 9/);
    const annotated = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bad', annotations: { 'cheops.io/scope': '{Site1 &}' } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } });
    const malformed = await cluster.kubectl('Site1', ['create', '-f', '-'], { input: annotated });
    expect(malformed.code).not.toBe(0);
    expect(malformed.stderr).toMatch(/BadRequest.*cheops\.io\/scope annotation.*column 9/);
    expect(await cluster.podUid('Site1', 'bad')).toBeUndefined();
    const unknown = await cluster.kubectl('Site1', ['run', 'bad', '--image=nginx'], { scope: '{Site1 & Site9}' });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('known sites: Site1, Site2, Site3');
    // The application refuses (no containers): its own error comes back, nothing is replicated.
    const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'empty', annotations: { 'cheops.io/scope': both } }, spec: { containers: [] } });
    const refused = await cluster.kubectl('Site1', ['create', '--validate=false', '-f', '-'], { input: manifest });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/spec\.containers/);
    expect(await item('Site1', 'empty')).toBeUndefined();
    // Site2's application refuses: the namespace exists on Site1 only.
    await cluster.ok('Site1', ['create', 'namespace', 'only1']);
    const response = await cluster.request('Site1', 'POST', '/api/v1/namespaces/only1/pods', {
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'lonely' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } },
      headers: { 'x-cheops-scope': both, 'x-cheops-wait': 'all', 'x-cheops-wait-timeout': '10s' },
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-cheops-replicas')).toBe(`Site1=applied, Site2=failed;error="namespaces 'only1' not found"`);
    const lonely = await item('Site1', 'lonely', 'only1');
    expect(lonely?.replicas.Site2).toEqual({ status: 'failed', observedGeneration: 1, error: 'namespaces "only1" not found' });
  });

  it('partition: local writes answer at once, a pod relying on a cut site is at risk, a cross name made on both sides is told apart, conflicting labels converge after the heal with a warning, nothing acknowledged is lost, a killed site catches up', async () => {
    // A namespace spread over Site1 and Site2, in which each side will make "twin" while cut off.
    expect(await cluster.ok('Site1', ['create', 'namespace', 'twins'], { scope: '{Site1 % Site2}' })).toBe('namespace/twins created\n');
    await eventually(async () => expect(await cluster.ok('Site2', ['get', 'namespace', 'twins', '-o', 'name'])).toBe('namespace/twins\n'));
    cluster.cut('Site2');
    await cluster.waitDown('Site1', 'Site2');
    for (const site of ['Site1', 'Site2'] as const) {
      const made = await cluster.kubectl(site, ['-n', 'twins', 'run', 'twin', '--image=nginx']);
      expect([made.stdout, made.stderr]).toEqual(['pod/twin created\n', expect.stringMatching(/Warning: Site\d is unreachable: twin may exist there too/)]);
    }
    // A scoped create on the connected side answers without waiting on the cut site.
    const started = performance.now();
    const during = await cluster.request('Site1', 'POST', '/api/v1/namespaces/default/pods', {
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'during' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } },
      headers: { 'x-cheops-scope': both },
    });
    const elapsedMs = performance.now() - started;
    expect(during.status).toBe(201);
    expect(during.headers.get('x-cheops-replicas')).toBe('Site1=applied, Site2=pending');
    expect(elapsedMs).toBeLessThan(1_000);
    // The pod relying on Site2's secret is at risk while Site2 is cut off: its reads say so.
    expect((await cluster.kubectl('Site1', ['get', 'pod', 'consumer'])).stderr).toMatch(
      /Warning: pods default\/consumer relies on secrets default\/token, shared from Site2, which is unreachable/,
    );
    const dependencies = (await (await cluster.request('Site1', 'GET', '/cheops/v1/dependencies')).json()) as { items: Array<{ key: { name: string }; sharedFrom: string; atRisk: boolean }> };
    expect(dependencies.items.find((item) => item.key.name === 'token')).toMatchObject({ sharedFrom: 'Site2', atRisk: true });
    // The dashboard shows Site2 down and the secret at risk.
    const page = await (await cluster.request('Site1', 'GET', '/cheops/dashboard')).text();
    expect(page).toMatch(/<td>Site2<\/td><td class="state-down">down<\/td>/);
    expect(page).toMatch(/<tr class="at-risk"><td>secrets default\/token<\/td>.*<td>Site1 pods default\/consumer, Site3 pods default\/neighbour<\/td><td>at risk: shared from Site2, unreachable<\/td>/);
    // Both sides label the same pod differently; Site2 also creates a pod of its own.
    await cluster.ok('Site1', ['label', 'pod', 'purple', 'color=red']);
    await cluster.ok('Site2', ['label', 'pod', 'purple', 'color=blue']);
    expect(await cluster.ok('Site2', ['run', 'island', '--image=nginx'], { scope: both })).toBe('pod/island created\n');
    // Site2 is killed in the middle of it, the network heals, and Site2 restarts from its data dir.
    await cluster.site('Site2').node.kill();
    cluster.heal('Site2');
    cluster.site('Site2').node.start();
    await cluster.site('Site2').node.ready();
    await cluster.waitUp('Site1', ['Site2']);
    const color = await eventually(async () => {
      const [one, two] = [await labels('Site1', 'purple'), await labels('Site2', 'purple')];
      expect(one.color).toBeDefined();
      expect(one.color).toBe(two.color);
      return one.color;
    }, 30_000);
    expect(['red', 'blue']).toContain(color);
    await eventually(async () => {
      expect(await cluster.podUid('Site2', 'during')).toBeDefined();
      expect(await cluster.podUid('Site1', 'island')).toBeDefined();
    }, 30_000);
    // The first read through each site after the merge shows the losing write (kubectl prints it).
    const warned = /Warning: conflict on pods default\/purple: the concurrent write \S+ made on Site\d lost to the write \S+ made on Site\d/;
    for (const site of ['Site1', 'Site2'] as const) {
      await eventually(async () => {
        await labels(site, 'purple');
        expect(readWarnings[site]).toMatch(warned);
      });
      // Reported once per site: the next read is clean.
      expect((await cluster.kubectl(site, ['get', 'pod', 'purple'])).stderr).toBe('');
    }
    const purple = await item('Site1', 'purple');
    expect(purple?.conflicts).toBe(1);
    // The name made on both sides: found after the heal, Site1's claim first, Site2's reported.
    await eventually(async () => {
      const read = await cluster.kubectl('Site2', ['-n', 'twins', 'get', 'pod', 'twin', '-o', 'name']);
      expect(read.stdout).toBe('pod/twin\n');
      expect(read.stderr).toMatch(/Warning: pods twins\/twin was made on Site1 and Site2 while they could not reach each other: Site1's, made first, is the one read and changed here/);
    }, 30_000);
  }, 90_000);

  it('a secret deleted by force under the pods relying on it: their reads say it is missing here, until its owner makes it again', async () => {
    const forced = await cluster.kubectl('Site2', ['delete', 'secret', 'token', '--force', '--grace-period=0']);
    expect([forced.code, forced.stdout]).toEqual([0, 'secret "token" force deleted\n']);
    await eventually(async () => expect((await cluster.kubectl('Site1', ['get', 'secret', 'token'])).code).not.toBe(0), 30_000);
    await eventually(async () => {
      const read = await cluster.kubectl('Site1', ['get', 'pod', 'consumer', '-o', 'name']);
      expect([read.stdout, read.stderr]).toEqual(['pod/consumer\n', expect.stringMatching(/Warning: pods default\/consumer relies on secrets default\/token, which is missing here/)]);
    }, 30_000);
    expect(await cluster.ok('Site2', ['create', 'secret', 'generic', 'token', '--from-literal=key=again'])).toBe('secret/token created\n');
    await eventually(async () => expect(Buffer.from(await cluster.ok('Site1', ['get', 'secret', 'token', '-o', 'jsonpath={.data.key}']), 'base64').toString()).toBe('again'), 30_000);
    expect((await cluster.kubectl('Site1', ['get', 'pod', 'consumer', '-o', 'name'])).stderr).toBe('');
  }, 90_000);
});
