/**
 * Replication across three in-process sites (MemoryNetwork, MemoryStorage, the stand-in Kubernetes
 * API as each site's application): the write path, forwarding, the reconciler, conflicts, scope
 * safety and the admin routes, end to end but without sockets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { systemClock, systemRandom } from '../../core/system.js';
import { inProcessLocalApp } from '../local-app.js';
import { createStandin } from '../../simulator/standin/index.js';
import { asSiteName, type MetaId } from '../../core/ids.js';
import { metaIdOf, replicantDocId } from '../../crdt/replicant.js';
import type { Storage, StorageOperation } from '../../crdt/storage.js';
import type { JsonObject } from '../../glue/json.js';
import { AnsweredUpdates } from './answered-updates.js';
import { CreateIntents } from './create-intents.js';
import { eventually, TestMesh, type TestSite } from './test-sites.js';
import { parseScope } from '../../scope/index.js';
import type { RequestScope } from '../http/index.js';

const pods = '/api/v1/namespaces/default/pods';
const both = '{Site1 & Site2}';

function pod(name: string, labels: Record<string, string> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'app', image: 'nginx' }] } };
}

const secrets = '/api/v1/namespaces/default/secrets';

/** The secret `token`, holding `key: data`. */
function tokenSecret(data: string): JsonObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token' }, stringData: { key: data } };
}

/** A pod whose environment takes `key` from the secret `secretName`. */
function usingSecret(name: string, secretName = 'token', optional = false): JsonObject {
  return {
    ...pod(name),
    spec: { containers: [{ name: 'app', image: 'nginx', env: [{ name: 'KEY', valueFrom: { secretKeyRef: { name: secretName, key: 'key', ...(optional ? { optional } : {}) } } }] }] },
  };
}

/** What `site`'s application holds under `key` of the secret `token`, decoded; undefined without it. */
async function tokenData(site: TestSite): Promise<string | undefined> {
  const { status, body } = await site.local(`${secrets}/token`);
  return status === 200 ? Buffer.from(String((body.data as Record<string, string>).key), 'base64').toString() : undefined;
}

const deploymentsPath = '/apis/apps/v1/namespaces/default/deployments';

/** A deployment of one nginx pod, selected by `app: name`. */
function deploymentOf(name: string): JsonObject {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } } },
  };
}

let mesh: TestMesh | undefined;
/** Sites whose application is unreachable (as far as the engine sees it). */
const appDown = new Set<string>();
/** Sites whose application holds every create until the promise settles (`Site2 GET`: every read). */
const appHeld = new Map<string, Promise<void>>();
/** The requests held (`Site1 GET /api/…`), as they came. */
const heldRequests: string[] = [];
/** The requests each site's engine made to its application (a client's carry a user-agent, the test's own go to http://app). */
const engineCalls = new Map<string, string[]>();
/** For each create an application made: the meta-IDs of the create intents a crash of its site's node at that moment would leave. */
const intentsAtCreate: Promise<{ site: string; name: string; intents: string[] }>[] = [];

/** Holds the application calls `key` names (`Site2 DELETE`, or `Site1`: its creates) until the function returned is called. */
function hold(key: string): () => void {
  let release: () => void = () => undefined;
  appHeld.set(key, new Promise<void>((resolve) => {
    release = resolve;
  }));
  return () => {
    appHeld.delete(key);
    release();
  };
}

async function threeSites(): Promise<[TestSite, TestSite, TestSite]> {
  mesh = await TestMesh.create({
    names: ['Site1', 'Site2', 'Site3'],
    app: (site) => {
      const standin = createStandin({ site, clock: systemClock, random: systemRandom, logger: silentLogger });
      const fetch = (request: Request): Promise<Response> => {
        const url = new URL(request.url);
        if (!request.headers.has('user-agent') && url.hostname === 'local-application') engineCalls.set(site, [...(engineCalls.get(site) ?? []), `${request.method} ${url.pathname}`]);
        if (appDown.has(site)) return Promise.reject(new TypeError('fetch failed: connection refused'));
        if (request.method === 'POST' && !url.searchParams.has('dryRun') && mesh !== undefined) {
          // Read now, as the application gets the create (MemoryStorage answers from its state at the call).
          const target = mesh.site(site);
          const stored = target.storage.list(['create-intent']);
          const staged = target.stagingLog.reopen().leftovers().map(({ id }) => id);
          intentsAtCreate.push(Promise.all([stored, request.clone().json() as Promise<{ metadata: { name: string } }>]).then(([entries, body]) => ({
            site, name: body.metadata.name, intents: [...entries.map((entry) => String(entry.key[1])), ...staged],
          })));
        }
        // A site's hold is on what its application makes: not on a dry run, which makes nothing.
        const held = appHeld.get(`${site} ${request.method}`) ?? (request.method === 'POST' && !url.searchParams.has('dryRun') ? appHeld.get(site) : undefined);
        if (held !== undefined) heldRequests.push(`${site} ${request.method} ${url.pathname}`);
        return held === undefined ? standin.fetch(request) : held.then(() => standin.fetch(request));
      };
      return { localApp: inProcessLocalApp(fetch), idle: () => standin.idle(), close: () => standin.close() };
    },
    options: { retryBaseMs: 20, retryMaxMs: 200, remoteReadTimeoutMs: 300 },
  });
  return [mesh.site('Site1'), mesh.site('Site2'), mesh.site('Site3')];
}

afterEach(async () => {
  heldRequests.length = 0;
  intentsAtCreate.length = 0;
  appDown.clear();
  appHeld.clear();
  engineCalls.clear();
  await mesh?.stop();
  mesh = undefined;
});

/** `stored`, its batches refused as a full disk refuses them while `refuses` says so. */
function refusingBatches(stored: Storage, refuses: (operations: readonly StorageOperation[]) => boolean): Storage {
  return {
    get: (key) => stored.get(key), list: (prefix) => stored.list(prefix), put: (key, value) => stored.put(key, value), delete: (key) => stored.delete(key),
    deleteRange: (prefix) => stored.deleteRange(prefix), close: () => stored.close(),
    batch: (operations, options) => (refuses(operations) ? Promise.reject(new Error('IO error: No space left on device')) : stored.batch(operations, options)),
  };
}

async function uidOn(site: TestSite, name: string): Promise<string | undefined> {
  const { status, body } = await site.local(`${pods}/${name}`);
  if (status !== 200) return undefined;
  return (body.metadata as { uid?: string }).uid;
}

async function labelsOn(site: TestSite, name: string): Promise<Record<string, string> | undefined> {
  const { status, body } = await site.local(`${pods}/${name}`);
  return status === 200 ? ((body.metadata as { labels?: Record<string, string> }).labels ?? {}) : undefined;
}

describe('the write path', () => {
  it('applies a scoped create locally first and replicates it to the other member only', async () => {
    const [site1, site2, site3] = await threeSites();
    const created = await site1.request('POST', pods, { body: pod('purple'), scope: both });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-cheops-meta-id')).toMatch(/^[a-z2-7]{26}$/);
    expect(created.headers.get('x-cheops-replicas')).toBe('Site1=applied, Site2=pending');
    const object = (await created.json()) as { metadata: { uid: string } };
    const uid1 = object.metadata.uid;
    const uid2 = await eventually(async () => {
      const uid = await uidOn(site2, 'purple');
      expect(uid).toBeDefined();
      return uid;
    });
    expect(uid2).not.toBe(uid1);
    expect(await uidOn(site3, 'purple')).toBeUndefined();
    expect(site3.documents.ids().filter((id) => id.startsWith('res/'))).toEqual([]);
    const metaId = created.headers.get('x-cheops-meta-id') ?? '';
    await eventually(async () => {
      const detail = (await (await adminGet(site1, `/replicants/${metaId}`)).json()) as { replicas: Record<string, { status: string; localId: string }> };
      expect(detail.replicas.Site2).toMatchObject({ status: 'applied', localId: uid2 });
    });
  });
});


describe('replicated updates and deletes', () => {
  it('turns an unscoped label on a replica into a replicated write, and a delete on another site reaches all', async () => {
    const [site1, site2] = await threeSites();
    expect((await site1.request('POST', pods, { body: pod('purple'), scope: both })).status).toBe(201);
    await eventually(async () => expect(await uidOn(site2, 'purple')).toBeDefined());
    const patched = await site2.request('PATCH', `${pods}/purple`, {
      body: { metadata: { labels: { tier: 'front' } } },
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect(patched.status).toBe(200);
    expect(patched.headers.get('x-cheops-replicas')).toBe('Site1=pending, Site2=applied');
    await eventually(async () => expect(await labelsOn(site1, 'purple')).toEqual({ tier: 'front' }));
    const deleted = await site1.request('DELETE', `${pods}/purple`, { body: { propagationPolicy: 'Background' } });
    expect(deleted.status).toBe(200);
    expect(deleted.headers.get('x-cheops-replicas')).toBe('Site1=deleted, Site2=pending');
    await eventually(async () => expect(await uidOn(site2, 'purple')).toBeUndefined());
    await eventually(async () => expect(await uidOn(site1, 'purple')).toBeUndefined());
  });

  it('forwards a write made outside the scope to a member; it lands on the members only', async () => {
    const [site1, site2, site3] = await threeSites();
    const created = await site3.request('POST', pods, { body: pod('far'), scope: both });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-cheops-forwarded-to')).toBe('Site1');
    expect(created.headers.get('x-cheops-replicas')).toBe('Site1=applied, Site2=pending');
    await eventually(async () => expect(await uidOn(site2, 'far')).toBeDefined());
    expect(await uidOn(site1, 'far')).toBeDefined();
    expect(await uidOn(site3, 'far')).toBeUndefined();
    // The first member down: the next one takes it.
    await mesh?.partition('Site1');
    const second = await site3.request('POST', pods, { body: pod('farther'), scope: both });
    expect(second.headers.get('x-cheops-forwarded-to')).toBe('Site2');
    expect(second.status).toBe(201);
  });

  it('waits for every replica when asked, and shows a remote refusal with its error', async () => {
    const [site1, site2] = await threeSites();
    // The namespace exists on Site1 only: Site2's application refuses the pod.
    expect((await site1.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'only1' } } })).status).toBe(201);
    const created = await site1.request('POST', '/api/v1/namespaces/only1/pods', {
      body: pod('lonely'), scope: both, headers: { 'x-cheops-wait': 'all', 'x-cheops-wait-timeout': '5s' },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-cheops-replicas')).toBe(`Site1=applied, Site2=failed;error="namespaces 'only1' not found"`);
    expect(created.headers.get('warning')).toContain('the replica on Site2 failed');
    const ok = await site1.request('POST', pods, { body: pod('together'), scope: both, headers: { 'x-cheops-wait': 'all' } });
    expect(ok.headers.get('x-cheops-replicas')).toBe('Site1=applied, Site2=applied');
    expect(await uidOn(site2, 'together')).toBeDefined();
    const list = (await (await adminGet(site2, '/replicants')).json()) as { items: Array<{ key: { name: string }; replicas: Record<string, { status: string; error?: string }> }> };
    expect(list.items.find((item) => item.key.name === 'lonely')?.replicas.Site2).toEqual({ status: 'failed', observedGeneration: 1, error: 'namespaces "only1" not found' });
  });

  it('passes a local refusal back and replicates nothing', async () => {
    const [site1, site2] = await threeSites();
    const refused = await site1.request('POST', pods, { body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'Bad_Name' }, spec: {} }, scope: both });
    expect(refused.status).toBe(422);
    expect(refused.headers.get('x-cheops-meta-id')).toBeNull();
    expect(((await refused.json()) as { kind: string }).kind).toBe('Status');
    expect(site1.engine.adminRoutes()).toBeDefined();
    expect(((await (await adminGet(site1, '/replicants')).json()) as { items: unknown[] }).items).toEqual([]);
    expect(site2.documents.ids().filter((id) => id.startsWith('res/'))).toEqual([]);
  });

  it('answers 400 for an unknown site, listing the known ones, and for a bad annotation scope, naming the column', async () => {
    const [site1] = await threeSites();
    const unknown = await site1.request('POST', pods, { body: pod('x'), scope: '{Site1 & Site9}' });
    expect(unknown.status).toBe(400);
    const status = (await unknown.json()) as { message: string; details: { cheopsCode: string } };
    expect(status.message).toContain('known sites: Site1, Site2, Site3');
    expect(status.details.cheopsCode).toBe('CHEOPS_SCOPE_UNKNOWN_SITE');
    const annotated = pod('y');
    (annotated.metadata as Record<string, unknown>).annotations = { 'cheops.io/scope': '{Site1 &}' };
    const bad = await site1.request('POST', pods, { body: annotated });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/cheops\.io\/scope annotation.*column 9/);
    expect(await uidOn(site1, 'y')).toBeUndefined();
  });

  it('reads the scope from a manifest annotation and removes it before the application sees it', async () => {
    const [site1, site2] = await threeSites();
    const annotated = pod('noted');
    (annotated.metadata as Record<string, unknown>).annotations = { 'cheops.io/scope': both, keep: 'me' };
    const created = await site1.request('POST', pods, { body: annotated });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-cheops-replicas')).toBe('Site1=applied, Site2=pending');
    await eventually(async () => expect(await uidOn(site2, 'noted')).toBeDefined());
    for (const site of [site1, site2]) {
      const { body } = await site.local(`${pods}/noted`);
      expect((body.metadata as { annotations: unknown }).annotations).toEqual({ keep: 'me' });
    }
  });

  it('never replicates an owned child, and leaves unscoped writes on unreplicated resources alone', async () => {
    const [site1, site2] = await threeSites();
    const child = pod('child');
    (child.metadata as Record<string, unknown>).ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1' }];
    const created = await site1.request('POST', pods, { body: child, scope: both });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-cheops-meta-id')).toBeNull();
    expect(created.headers.get('warning')).toContain('owned child');
    const plain = await site1.request('POST', pods, { body: pod('plain') });
    expect(plain.status).toBe(201);
    expect(plain.headers.get('x-cheops-meta-id')).toBeNull();
    await site1.engine.idle();
    expect(await uidOn(site2, 'child')).toBeUndefined();
    expect(await uidOn(site2, 'plain')).toBeUndefined();
  });
});

describe('partitions and conflicts', () => {
  it('answers a scoped create without waiting for a cut site, converges after the heal, and warns of the loser', async () => {
    const [site1, site2] = await threeSites();
    expect((await site1.request('POST', pods, { body: pod('violet'), scope: both })).status).toBe(201);
    await eventually(async () => expect(await uidOn(site2, 'violet')).toBeDefined());
    await mesh?.partition('Site2');
    const during = await site1.request('POST', pods, { body: pod('during'), scope: both });
    expect(during.status).toBe(201);
    expect(during.headers.get('x-cheops-replicas')).toBe('Site1=applied, Site2=pending');
    const label = (site: TestSite, color: string): Promise<Response> =>
      site.request('PATCH', `${pods}/violet`, { body: { metadata: { labels: { color } } }, headers: { 'content-type': 'application/merge-patch+json' } });
    expect((await label(site1, 'red')).status).toBe(200);
    expect((await label(site2, 'blue')).status).toBe(200);
    expect((await labelsOn(site1, 'violet'))?.color).toBe('red');
    expect((await labelsOn(site2, 'violet'))?.color).toBe('blue');
    await mesh?.heal('Site2');
    const winner = await eventually(async () => {
      const [one, two] = [await labelsOn(site1, 'violet'), await labelsOn(site2, 'violet')];
      expect(one?.color).toBe(two?.color);
      return one?.color;
    });
    expect(['red', 'blue']).toContain(winner);
    await eventually(async () => expect(await uidOn(site2, 'during')).toBeDefined());
    for (const site of [site1, site2]) {
      const read = await eventually(async () => {
        const response = await site.request('GET', `${pods}/violet`);
        expect(response.headers.get('warning')).toMatch(/conflict on pods default\/violet: the concurrent write .* lost to/);
        return response;
      });
      expect(read.status).toBe(200);
      // Reported once per site.
      expect((await site.request('GET', `${pods}/violet`)).headers.get('warning')).toBeNull();
    }
  });

  it('lets a delete win over a concurrent update; the resource does not come back', async () => {
    const [site1, site2] = await threeSites();
    expect((await site1.request('POST', pods, { body: pod('doomed'), scope: both })).status).toBe(201);
    await eventually(async () => expect(await uidOn(site2, 'doomed')).toBeDefined());
    await mesh?.partition('Site2');
    expect((await site1.request('DELETE', `${pods}/doomed`)).status).toBe(200);
    const patched = await site2.request('PATCH', `${pods}/doomed`, { body: { metadata: { labels: { late: 'yes' } } }, headers: { 'content-type': 'application/merge-patch+json' } });
    expect(patched.status).toBe(200);
    await mesh?.heal('Site2');
    await eventually(async () => expect(await uidOn(site2, 'doomed')).toBeUndefined());
    await site1.engine.idle();
    expect(await uidOn(site1, 'doomed')).toBeUndefined();
    // A create of the name afterwards is a new life, replicated again.
    const again = await site2.request('POST', pods, { body: pod('doomed'), scope: both });
    expect(again.status).toBe(201);
    await eventually(async () => expect(await uidOn(site1, 'doomed')).toBeDefined());
  });

  it('resumes after a restart from the stored documents', async () => {
    const [site1, site2] = await threeSites();
    await site2.stop();
    expect((await site1.request('POST', pods, { body: pod('later'), scope: both })).status).toBe(201);
    await site2.start();
    await mesh?.connect();
    await eventually(async () => expect(await uidOn(site2, 'later')).toBeDefined());
    await eventually(async () => {
      const detail = (await (await adminGet(site1, `/replicants`)).json()) as { items: Array<{ replicas: Record<string, { status: string }> }> };
      expect(detail.items[0]?.replicas.Site2?.status).toBe('applied');
    });
  });
});

describe('scope safety', () => {
  it('drops a replicant whose scope leaves this site out, and garbage content, without crashing', async () => {
    const [site1, , site3] = await threeSites();
    const { metaIdOf, replicantDocId } = await import('../../crdt/replicant.js');
    const foreign = replicantDocId(metaIdOf({ app: 'kubernetes', service: 'pods', namespace: 'default', name: 'foreign' }, 0));
    const garbage = replicantDocId(metaIdOf({ app: 'kubernetes', service: 'pods', namespace: 'default', name: 'garbage' }, 0));
    // A peer that ignores scope safety writes documents straight into Site3's store.
    await site3.documents.change(garbage, (doc: Record<string, unknown>) => {
      doc.v = 1;
      doc.meta = 'not json';
    }, { create: true });
    await site3.documents.change(foreign, (doc: Record<string, unknown>) => {
      doc.v = 1;
      doc.meta = JSON.stringify({ key: { app: 'kubernetes', service: 'pods', namespace: 'default', name: 'foreign' }, collaboration: 'replication', scope: '{Site1 & Site2}', sites: ['Site1', 'Site2'], origin: 'Site1', incarnation: 0, createdAt: 1 });
      doc.desired = JSON.stringify({ revision: '1-Site1-00000000', generation: 1, site: 'Site1', at: 1, body: pod('foreign') });
    }, { create: true });
    await eventually(() => {
      expect(site3.documents.has(foreign)).toBe(false);
      expect(site3.documents.has(garbage)).toBe(false);
    });
    expect(site3.logger.find('replicant dropped').length).toBeGreaterThanOrEqual(2);
    expect(await uidOn(site3, 'foreign')).toBeUndefined();
    // Never sent on: Site1 did not get them either (nobody may bring a document the policy refuses).
    expect(site1.documents.has(garbage)).toBe(false);
    expect(site3.engine.sharePolicy(foreign)).toEqual(new Set());
  });
});

describe('the reconciler', () => {
  it('retries a site whose application is down, with backoff, until it applies', async () => {
    const [site1, site2] = await threeSites();
    appDown.add('Site2');
    const created = await site1.request('POST', pods, { body: pod('patient'), scope: both });
    const metaId = created.headers.get('x-cheops-meta-id') ?? '';
    await eventually(async () => {
      const detail = (await (await adminGet(site1, `/replicants/${metaId}`)).json()) as { replicas: Record<string, { status: string; error?: string }> };
      expect(detail.replicas.Site2).toMatchObject({ status: 'pending', error: expect.stringContaining('unreachable') as unknown });
    });
    expect(site2.engine.retrying()).toBe(1);
    appDown.delete('Site2');
    await eventually(async () => expect(await uidOn(site2, 'patient')).toBeDefined());
    await eventually(() => expect(site2.engine.retrying()).toBe(0));
  });

  it('replicates a deployment, whose children each site makes for itself, and a cluster-scoped namespace', async () => {
    const [site1, site2] = await threeSites();
    const deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } } },
    };
    expect((await site1.request('POST', '/apis/apps/v1/namespaces/default/deployments', { body: deployment, scope: both })).status).toBe(201);
    expect((await site1.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shared' } }, scope: both })).status).toBe(201);
    await eventually(async () => {
      const { status, body } = await site2.local('/apis/apps/v1/namespaces/default/deployments/web');
      expect(status).toBe(200);
      expect((body.status as { readyReplicas?: number }).readyReplicas).toBe(2);
    });
    await eventually(async () => expect((await site2.local('/api/v1/namespaces/shared')).status).toBe(200));
    const list = (await (await adminGet(site2, '/replicants')).json()) as { items: Array<{ key: { service: string; name: string } }> };
    expect(list.items.map((item) => `${item.key.service}/${item.key.name}`).sort()).toEqual(['deployments/web', 'namespaces/shared']);
  });

  it('replicates a scale of a replicated deployment (kubectl scale): its client gets the Scale, every site the replicas', async () => {
    const [site1, site2] = await threeSites();
    const path = deploymentsPath;
    expect((await site1.request('POST', path, { body: deploymentOf('web'), scope: both })).status).toBe(201);
    await eventually(async () => expect((await site2.local(`${path}/web`)).status).toBe(200));
    const merge = { 'content-type': 'application/merge-patch+json' };
    const scaled = await site1.request('PATCH', `${path}/web/scale`, { body: { spec: { replicas: 3 } }, headers: merge });
    expect(scaled.status).toBe(200);
    expect(await scaled.json()).toMatchObject({ kind: 'Scale', spec: { replicas: 3 } });
    expect(scaled.headers.get('x-cheops-replicas')).toBe('Site1=applied, Site2=pending');
    const replicas = async (site: TestSite): Promise<unknown> => ((await site.local(`${path}/web`)).body.spec as { replicas?: number }).replicas;
    await eventually(async () => expect(await replicas(site2)).toBe(3));
    // A later write elsewhere keeps it: it was the desired state's, not one site's.
    expect((await site2.request('PATCH', `${path}/web`, { body: { metadata: { labels: { tier: 'edge' } } }, headers: merge })).status).toBe(200);
    await eventually(async () => expect((await site1.local(`${path}/web`)).body.metadata).toMatchObject({ labels: { tier: 'edge' } }));
    expect(await replicas(site1)).toBe(3);
    // A status write stays the site's own.
    expect((await site2.request('PATCH', `${path}/web/status`, { body: { status: { observedGeneration: 99 } }, headers: merge })).headers.get('x-cheops-meta-id')).toBeNull();
  });

  it('deletes a replicated deployment on every site as its delete asked: its replica sets orphaned everywhere with --cascade=orphan', async () => {
    const [site1, site2] = await threeSites();
    const path = deploymentsPath;
    const replicaSets = async (site: TestSite): Promise<number> => ((await site.local('/apis/apps/v1/namespaces/default/replicasets')).body.items as unknown[]).length;
    expect((await site1.request('POST', path, { body: deploymentOf('kept'), scope: both })).status).toBe(201);
    await eventually(async () => expect(await replicaSets(site2)).toBe(1));
    const deleted = await site1.request('DELETE', `${path}/kept`, { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Orphan' } });
    expect(deleted.status).toBe(200);
    await eventually(async () => expect((await site2.local(`${path}/kept`)).status).toBe(404));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([await replicaSets(site1), await replicaSets(site2)]).toEqual([1, 1]);
  });

  it('resumes after its own restart without touching what is current', async () => {
    const [site1, site2] = await threeSites();
    expect((await site1.request('POST', pods, { body: pod('steady'), scope: both })).status).toBe(201);
    await eventually(async () => expect(await uidOn(site2, 'steady')).toBeDefined());
    await site2.engine.idle();
    await site2.stop();
    await site2.start();
    const started = site2.logger.find('replication started').at(-1);
    expect(started?.fields).toMatchObject({ replicants: 1, resumed: 0 });
  });
});

describe('request checks', () => {
  it('refuses a bad X-Cheops-Wait, and two different scopes, before anything is written', async () => {
    const [site1] = await threeSites();
    const badWait = await site1.request('POST', pods, { body: pod('w'), scope: both, headers: { 'x-cheops-wait': 'some' } });
    expect(badWait.status).toBe(400);
    const badTimeout = await site1.request('POST', pods, { body: pod('w'), scope: both, headers: { 'x-cheops-wait': 'all', 'x-cheops-wait-timeout': 'soon' } });
    expect(badTimeout.status).toBe(400);
    const annotated = pod('w');
    (annotated.metadata as Record<string, unknown>).annotations = { 'cheops.io/scope': '{Site1}' };
    const twoScopes = await site1.request('POST', pods, { body: annotated, scope: both });
    expect(twoScopes.status).toBe(400);
    expect(((await twoScopes.json()) as { message: string }).message).toContain('two different scopes');
    expect(await uidOn(site1, 'w')).toBeUndefined();
  });

  it('keeps a write scoped to this site only local, and forwards one scoped to another site; a replicated object stays replicated', async () => {
    const [site1, site2, site3] = await threeSites();
    const here = await site1.request('POST', pods, { body: pod('here'), scope: '{Site1}' });
    expect(here.status).toBe(201);
    expect(here.headers.get('x-cheops-meta-id')).toBeNull();
    const there = await site1.request('POST', pods, { body: pod('there'), scope: '{Site3}' });
    expect(there.status).toBe(201);
    expect(there.headers.get('x-cheops-forwarded-to')).toBe('Site3');
    expect(await uidOn(site3, 'there')).toBeDefined();
    expect(await uidOn(site1, 'there')).toBeUndefined();
    expect(await uidOn(site2, 'here')).toBeUndefined();
    // An object replicated already stays one: a write scoped to this site alone reaches its every site, and says so.
    expect((await site1.request('POST', pods, { body: pod('shared'), scope: both })).status).toBe(201);
    await eventually(async () => expect(await uidOn(site2, 'shared')).toBeDefined());
    const narrowed = await site1.request('PATCH', `${pods}/shared`, {
      body: { metadata: { labels: { tier: 'front' } } }, scope: '{Site1}', headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect(narrowed.status).toBe(200);
    expect(narrowed.headers.get('warning')).toContain('pods default/shared is replicated on Site1, Site2 (scope {Site1 & Site2}); the scope {Site1} of this request does not change that');
    await eventually(async () => expect(await labelsOn(site2, 'shared')).toEqual({ tier: 'front' }));
  });

  it('widens a replicated object to the sites a write\'s scope adds, once the application accepts the write; later writes on any copy reach them', async () => {
    const [site1, site2, site3] = await threeSites();
    const all = '{Site1 & Site2 & Site3}';
    const merge = { 'content-type': 'application/merge-patch+json' };
    const created = await site1.request('POST', pods, { body: pod('grow'), scope: both });
    expect(created.status).toBe(201);
    const sitesOf = async (): Promise<unknown> =>
      ((await (await site1.fetch(new Request(`http://site1.test/cheops/v1/replicants/${created.headers.get('x-cheops-meta-id') ?? ''}`))).json()) as { sites: unknown }).sites;
    await eventually(async () => expect(await uidOn(site2, 'grow')).toBeDefined());
    // Refused by the application (an invalid label value): nothing written, no site added.
    const refused = await site1.request('PATCH', `${pods}/grow`, { body: { metadata: { labels: { tier: 'not valid!' } } }, scope: all, headers: merge });
    expect(refused.status).toBe(422);
    expect(refused.headers.get('warning')).toBeNull();
    expect(await sitesOf()).toEqual(['Site1', 'Site2']);
    const widened = await site1.request('PATCH', `${pods}/grow`, { body: { metadata: { labels: { tier: 'front' } } }, scope: all, headers: merge });
    expect(widened.status).toBe(200);
    expect(widened.headers.get('warning')).toContain('pods default/grow is replicated on Site3 too from now on (scope {Site1 & Site2 & Site3})');
    expect(widened.headers.get('x-cheops-replicas')).toBe('Site1=applied, Site2=pending, Site3=pending');
    expect(await sitesOf()).toEqual(['Site1', 'Site2', 'Site3']);
    await eventually(async () => expect(await labelsOn(site3, 'grow')).toEqual({ tier: 'front' }));
    // One replicant on three sites now: a write on the new copy reaches the others, and a delete all.
    expect((await site3.request('PATCH', `${pods}/grow`, { body: { metadata: { labels: { tier: 'back' } } }, headers: merge })).status).toBe(200);
    await eventually(async () => expect(await labelsOn(site1, 'grow')).toEqual({ tier: 'back' }));
    await eventually(async () => expect(await labelsOn(site2, 'grow')).toEqual({ tier: 'back' }));
    // A scope that leaves a site out does not remove the object from it, and says so.
    const fewer = await site2.request('PATCH', `${pods}/grow`, { body: { metadata: { labels: { tier: 'edge' } } }, scope: '{Site2 & Site3}', headers: merge });
    expect(fewer.status).toBe(200);
    expect(fewer.headers.get('warning')).toContain('the scope {Site2 & Site3} of this request does not change that');
    await eventually(async () => expect(await labelsOn(site1, 'grow')).toEqual({ tier: 'edge' }));
    expect((await site2.request('DELETE', `${pods}/grow`)).status).toBe(200);
    for (const site of [site1, site2, site3]) await eventually(async () => expect(await uidOn(site, 'grow')).toBeUndefined());
  });

  it('widens from the site the scope adds: its read and its write of an object it lacks go to a site of the scope holding it', async () => {
    const [site1, site2, site3] = await threeSites();
    const all = '{Site1 & Site2 & Site3}';
    const merge = { 'content-type': 'application/merge-patch+json' };
    expect((await site1.request('POST', pods, { body: pod('purple'), scope: both })).status).toBe(201);
    await eventually(async () => expect(await uidOn(site2, 'purple')).toBeDefined());
    // kubectl label reads first: Site3 lacks purple, so its scope's other sites are asked.
    const read = await site3.request('GET', `${pods}/purple`, { scope: all });
    expect(read.status).toBe(200);
    expect(read.headers.get('x-cheops-forwarded-to')).toBe('Site1');
    expect(read.headers.get('warning')).toContain('pods default/purple is not on Site3 (yet); read from Site1');
    // Without a scope, or with one of this site alone, a read is this site's: 404, nobody asked.
    expect((await site3.request('GET', `${pods}/purple`)).status).toBe(404);
    expect((await site3.request('GET', `${pods}/purple`, { scope: '{Site3}' })).status).toBe(404);
    const widened = await site3.request('PATCH', `${pods}/purple`, { body: { metadata: { labels: { tier: 'web' } } }, scope: all, headers: merge });
    expect(widened.status).toBe(200);
    expect(widened.headers.get('x-cheops-forwarded-to')).toBe('Site1');
    const warnings = widened.headers.get('warning') ?? '';
    expect(warnings).toContain('pods default/purple is not on Site3: the write went to a site of the scope {Site1 & Site2 & Site3} that holds it');
    expect(warnings).toContain('pods default/purple is replicated on Site3 too from now on');
    await eventually(async () => expect(await labelsOn(site3, 'purple')).toEqual({ tier: 'web' }));
    await eventually(async () => expect(await labelsOn(site2, 'purple')).toEqual({ tier: 'web' }));
    // Held here now: the next scoped read is answered here.
    const local = await site3.request('GET', `${pods}/purple`, { scope: all });
    expect(local.headers.get('x-cheops-forwarded-to')).toBeNull();

    // Held nowhere: every site answers 404, and the write is not made anywhere.
    const nowhere = await site3.request('PATCH', `${pods}/nowhere`, { body: { metadata: { labels: { a: 'b' } } }, scope: all, headers: merge });
    expect(nowhere.status).toBe(404);
    expect((await site3.request('GET', `${pods}/nowhere`, { scope: all })).status).toBe(404);
    // Cut off: the read is this site's 404, saying who could not be asked; a write cannot be made (503).
    expect((await site1.request('POST', pods, { body: pod('far'), scope: both })).status).toBe(201);
    // (The test mesh cuts a site's inbound routes: Site3's view is of both others cut.)
    await mesh?.partition('Site1');
    await mesh?.partition('Site2');
    const cutRead = await site3.request('GET', `${pods}/far`, { scope: all });
    expect(cutRead.status).toBe(404);
    expect(cutRead.headers.get('warning')).toContain('pods default/far is not on Site3, and some sites of the scope could not be asked');
    const cutWrite = await site3.request('PATCH', `${pods}/far`, { body: { metadata: { labels: { a: 'b' } } }, scope: all, headers: merge });
    expect(cutWrite.status).toBe(503);
    expect(((await cutWrite.json()) as { message: string }).message).toContain('pods default/far is not on Site3, a site of the scope {Site1 & Site2 & Site3}, and no other site of it could take the request');
    await mesh?.heal('Site1');
    await mesh?.heal('Site2');
    expect(await uidOn(site3, 'far')).toBeUndefined();
    // A delete made there goes where the object is, and reaches every copy.
    expect((await site3.request('DELETE', `${pods}/far`, { scope: all })).status).toBe(200);
    for (const site of [site1, site2]) await eventually(async () => expect(await uidOn(site, 'far')).toBeUndefined());
  });

  /**
   * Purple made on Site1 with Site3 in its scope while Site3 was cut off; Site3 back, hearing from
   * Site2 soon and from Site1 late (Site1's changes reach Site2 late too). Site3's first label of
   * purple goes to Site1 (held-elsewhere.ts), whose change then reaches nobody for 1.5 s, and
   * Site2's copy, without that label, reaches Site3.
   */
  async function sentOnWhileStale(): Promise<{ sites: [TestSite, TestSite, TestSite]; label: (labels: Record<string, string>) => Promise<Response> }> {
    const [site1, site2, site3] = await threeSites();
    const label = (labels: Record<string, string>): Promise<Response> =>
      site3.request('PATCH', `${pods}/purple`, { body: { metadata: { labels } }, scope: all3, headers: { 'content-type': 'application/merge-patch+json' } });
    await mesh?.partition('Site3');
    const created = await site1.request('POST', pods, { body: pod('purple'), scope: all3 });
    expect(created.status).toBe(201);
    const docId = replicantDocId((created.headers.get('x-cheops-meta-id') ?? '') as MetaId);
    await eventually(async () => expect(await uidOn(site2, 'purple')).toBeDefined());
    const slow = new Set([`${site1.peerId}>${site3.peerId}`, `${site1.peerId}>${site2.peerId}`]);
    mesh?.network.setLinkPolicy({
      canConnect: () => true,
      decide: (from, to) => ({ type: 'deliver', delayMs: slow.has(`${from}>${to}`) ? 1_500 : to === site3.peerId ? 200 : 0 }),
    });
    await mesh?.heal('Site3');
    const first = await label({ a: '1' });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cheops-forwarded-to')).toBe('Site1');
    expect(first.headers.get('x-cheops-heads')).toMatch(/^[0-9a-f]{64}/);
    // Without a scope, and no copy here at all: it follows too (it would have been a local 404).
    const unscoped = await site3.request('PATCH', `${pods}/purple`, { body: { metadata: { labels: { x: '1' } } }, headers: { 'content-type': 'application/merge-patch+json' } });
    expect([unscoped.status, unscoped.headers.get('x-cheops-forwarded-to')]).toEqual([200, 'Site1']);
    await eventually(() => expect(site3.documents.has(docId)).toBe(true));
    expect(await labelsOn(site3, 'purple')).toEqual({});
    return { sites: [site1, site2, site3], label };
  }
  const all3 = '{Site1 & Site2 & Site3}';
  const stale = 'pods default/purple on Site3 does not hold yet the write sent on to Site1 before this request';

  it('sends a member\'s next write and read where its last write went while its own copy lacks that write, and answers them here once the copy holds it', async () => {
    const { sites: [site1, site2, site3], label } = await sentOnWhileStale();
    // Reads of it, scoped or not, go there: the client reads back what it wrote.
    for (const scope of [all3, undefined]) {
      const read = await site3.request('GET', `${pods}/purple`, scope === undefined ? {} : { scope });
      expect(read.headers.get('x-cheops-forwarded-to')).toBe('Site1');
      expect(read.headers.get('warning')).toContain(`${stale}: read from there`);
      expect(((await read.json()) as { metadata: { labels: Record<string, string> } }).metadata.labels).toEqual({ a: '1', x: '1' });
    }
    const second = await label({ b: '2' });
    expect(second.status).toBe(200);
    expect(second.headers.get('x-cheops-forwarded-to')).toBe('Site1');
    expect(second.headers.get('warning')).toContain(`${stale}: this one went there too`);
    // Both writes, in the order Site3's client made them, on every site.
    for (const site of [site1, site2, site3]) await eventually(async () => expect(await labelsOn(site, 'purple')).toEqual({ a: '1', x: '1', b: '2' }));
    // Caught up: Site3 answers itself again.
    const third = await label({ c: '3' });
    expect(third.status).toBe(200);
    expect(third.headers.get('x-cheops-forwarded-to')).toBeNull();
    for (const site of [site1, site2]) await eventually(async () => expect((await labelsOn(site, 'purple'))?.c).toBe('3'));
    expect((await site3.request('GET', `${pods}/purple`)).headers.get('x-cheops-forwarded-to')).toBeNull();
  });

  it('answers a member\'s next read and write here, with a warning, when the site its last write went to is cut off before its copy caught up', async () => {
    const { sites: [, , site3], label } = await sentOnWhileStale();
    // Nothing refused, nothing kept waiting; both say so.
    await mesh?.partition('Site1');
    const read = await site3.request('GET', `${pods}/purple`, { scope: all3 });
    expect(read.status).toBe(200);
    expect(read.headers.get('x-cheops-forwarded-to')).toBeNull();
    expect(read.headers.get('warning')).toContain(`${stale}, and Site1 is cut off: read here`);
    const second = await label({ b: '2' });
    expect(second.status).toBe(200);
    expect(second.headers.get('x-cheops-forwarded-to')).toBeNull();
    expect(second.headers.get('warning')).toContain(`${stale}, and Site1 is cut off: this one was made here, and may be concurrent with it`);
    expect((await labelsOn(site3, 'purple'))?.b).toBe('2');
  });

  it('joins a create made on the site a scope adds to the object the others hold: one replicant, one winner on every site', async () => {
    const [site1, site2, site3] = await threeSites();
    const all = '{Site1 & Site2 & Site3}';
    const first = await site1.request('POST', pods, { body: pod('twice', { made: 'site1' }), scope: both });
    expect(first.status).toBe(201);
    await eventually(async () => expect(await uidOn(site2, 'twice')).toBeDefined());
    // Site3 holds no purple and is not asked (a create stays local): it makes one of its own.
    const second = await site3.request('POST', pods, { body: pod('twice', { made: 'site3' }), scope: all });
    expect(second.status).toBe(201);
    expect(second.headers.get('x-cheops-meta-id')).toBe(first.headers.get('x-cheops-meta-id'));
    // Site1 and Site2 refuse Site3's document, look at Site3's copy, and take Site3 in.
    const metaId = first.headers.get('x-cheops-meta-id') ?? '';
    const replicantOn = async (site: TestSite): Promise<{ sites: string[]; conflicts: unknown[] }> =>
      (await (await site.fetch(new Request(`http://${site.name.toLowerCase()}.test/cheops/v1/replicants/${metaId}`))).json()) as { sites: string[]; conflicts: unknown[] };
    for (const site of [site1, site2, site3]) await eventually(async () => expect((await replicantOn(site)).sites).toEqual(expect.arrayContaining(['Site1', 'Site2', 'Site3'])));
    // The two creates were concurrent: one wins, on every site, and the loser is recorded.
    await eventually(async () => {
      const made = await Promise.all([site1, site2, site3].map(async (site) => (await labelsOn(site, 'twice'))?.made));
      expect(made[0]).toBeDefined();
      expect(made).toEqual([made[0], made[0], made[0]]);
    });
    expect((await replicantOn(site1)).conflicts.length).toBeGreaterThan(0);
    // Refused while looked into, not warned of: a join under way, not a peer overstepping.
    for (const site of [site1, site2]) {
      expect(site.logger.find('refused a document message').length).toBeGreaterThan(0);
      expect(site.logger.find('refused a document message').filter((entry) => entry.level !== 'debug')).toEqual([]);
    }
    // One object now: a write on any copy reaches all three.
    expect((await site3.request('PATCH', `${pods}/twice`, { body: { metadata: { labels: { made: 'both' } } }, headers: { 'content-type': 'application/merge-patch+json' } })).status).toBe(200);
    for (const site of [site1, site2]) await eventually(async () => expect((await labelsOn(site, 'twice'))?.made).toBe('both'));
  });

  it('gives the site a scope adds the object made again after a delete, when its create named the deleted one', async () => {
    const [site1, site2, site3] = await threeSites();
    const merge = { 'content-type': 'application/merge-patch+json' };
    expect((await site1.request('POST', pods, { body: pod('again', { made: 'first' }), scope: both })).status).toBe(201);
    await eventually(async () => expect(await uidOn(site2, 'again')).toBeDefined());
    expect((await site1.request('DELETE', `${pods}/again`)).status).toBe(200);
    await eventually(async () => expect(await uidOn(site2, 'again')).toBeUndefined());
    const remade = await site1.request('POST', pods, { body: pod('again', { made: 'second' }), scope: both });
    expect(remade.status).toBe(201);
    // Site3 knows nothing of either: its create is of the first incarnation, whose tombstone wins.
    const created = await site3.request('POST', pods, { body: pod('again', { made: 'site3' }), scope: '{Site1 & Site2 & Site3}' });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-cheops-meta-id')).not.toBe(remade.headers.get('x-cheops-meta-id'));
    // The live one reaches Site3 all the same: the object its create meant.
    for (const site of [site1, site2, site3]) await eventually(async () => expect((await labelsOn(site, 'again'))?.made).toBe('second'));
    expect((await site3.request('PATCH', `${pods}/again`, { body: { metadata: { labels: { made: 'third' } } }, headers: merge })).status).toBe(200);
    for (const site of [site1, site2]) await eventually(async () => expect((await labelsOn(site, 'again'))?.made).toBe('third'));
  });

  it('takes what a widened object relies on to the new sites too, though the write that widens it is a label', async () => {
    const [site1, , site3] = await threeSites();
    expect((await site1.request('POST', secrets, { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, stringData: { key: 'v1' } } })).status).toBe(201);
    const consumer = { ...pod('consumer'), spec: { containers: [{ name: 'app', image: 'nginx', envFrom: [{ secretRef: { name: 'creds' } }] }] } };
    expect((await site1.request('POST', pods, { body: consumer, scope: both })).status).toBe(201);
    const widened = await site1.request('PATCH', `${pods}/consumer`, {
      body: { metadata: { labels: { tier: 'edge' } } }, scope: '{Site1 & Site2 & Site3}', headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect(widened.status).toBe(200);
    const warnings = widened.headers.get('warning') ?? '';
    expect(warnings).toContain('secrets default/creds (spec.containers[0].envFrom[0].secretRef) follows to Site3');
    expect(warnings).toContain('pods default/consumer is replicated on Site3 too from now on');
    await eventually(async () => {
      expect((await site3.local(`${secrets}/creds`)).status).toBe(200);
      expect(await labelsOn(site3, 'consumer')).toEqual({ tier: 'edge' });
    });
  });

  it('reads from the site a read\'s scope names, and here when the scope includes this site', async () => {
    const [site1, site2] = await threeSites();
    expect((await site1.request('POST', pods, { body: pod('mine') })).status).toBe(201);
    expect((await site2.request('POST', pods, { body: pod('theirs') })).status).toBe(201);
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token' }, stringData: { a: 'b' } };
    expect((await site2.request('POST', '/api/v1/namespaces/default/secrets', { body: secret })).status).toBe(201);
    const names = async (response: Response): Promise<string[]> =>
      ((await response.json()) as { items: Array<{ metadata: { name: string } }> }).items.map((item) => item.metadata.name);

    const one = await site1.request('GET', `${pods}/theirs`, { scope: '{Site2}' });
    expect(one.status).toBe(200);
    expect(one.headers.get('x-cheops-forwarded-to')).toBe('Site2');
    expect(((await one.json()) as { metadata: { name: string } }).metadata.name).toBe('theirs');
    const list = await site1.request('GET', pods, { scope: '{Site2}' });
    expect(await names(list)).toEqual(['theirs']);
    // Bound per service: the secret comes from Site2, a pod (no binding) from here.
    const shared = await site1.request('GET', '/api/v1/namespaces/default/secrets/token', { scope: '{pods: Site1, secrets: Site2}' });
    expect(shared.status).toBe(200);
    expect(shared.headers.get('x-cheops-forwarded-to')).toBe('Site2');
    const here = await site1.request('GET', pods, { scope: '{secrets: Site2}' });
    expect(here.headers.get('x-cheops-forwarded-to')).toBeNull();
    expect(await names(here)).toEqual(['mine']);
    // This site is in the scope: answered here, without asking anyone.
    const member = await site1.request('GET', pods, { scope: both });
    expect(member.headers.get('x-cheops-forwarded-to')).toBeNull();
    expect(await names(member)).toEqual(['mine']);
    // Forwarded here by another site: answered here, never sent on (views of who is up differ).
    const forwardedHere = await site1.request('GET', pods, { scope: '{Site2}', headers: { 'x-cheops-forwarded-from': 'Site3' } });
    expect(forwardedHere.headers.get('x-cheops-forwarded-to')).toBeNull();
    expect(await names(forwardedHere)).toEqual(['mine']);
    // The API's own description is this site's.
    const discovery = await site1.request('GET', '/api/v1', { scope: '{Site2}' });
    expect(discovery.status).toBe(200);
    expect(discovery.headers.get('x-cheops-forwarded-to')).toBeNull();
    // A site nobody knows is the user's mistake, as for a write.
    const unknown = await site1.request('GET', pods, { scope: '{Site9}' });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { message: string }).message).toContain('Site9');
  });

  it('writes under a cross scope: a namespace on every member, an object on one, its name taken once, its changes where it lives, with or without the scope', async () => {
    const [site1, site2, site3] = await threeSites();
    const cross = '{Site1 % Site2}';
    const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'spread' } };
    expect((await site1.request('POST', '/api/v1/namespaces', { body: namespace, scope: cross })).status).toBe(201);
    await eventually(async () => expect((await site2.local('/api/v1/namespaces/spread')).status).toBe(200));
    expect((await site3.local('/api/v1/namespaces/spread')).status).toBe(404);
    const spread = '/api/v1/namespaces/spread/pods';
    expect((await site2.request('POST', spread, { body: pod('there') })).status).toBe(201);
    // A name another member holds: 409, naming it, and nothing made here.
    const taken = await site1.request('POST', spread, { body: pod('there'), scope: cross });
    expect(taken.status).toBe(409);
    expect(((await taken.json()) as { reason: string; message: string })).toMatchObject({ reason: 'AlreadyExists', message: expect.stringContaining('already exists on Site2') as unknown });
    expect((await site1.local(`${spread}/there`)).status).toBe(404);
    // A new name: made here only.
    expect((await site1.request('POST', spread, { body: pod('here'), scope: cross })).status).toBe(201);
    expect((await site1.local(`${spread}/here`)).status).toBe(200);
    expect((await site2.local(`${spread}/here`)).status).toBe(404);
    // Without a scope, a request in the cross namespace takes the namespace's: from either site, one namespace.
    const listed = (await (await site2.request('GET', spread)).json()) as { items: Array<{ metadata: { name: string } }> };
    expect(listed.items.map((item) => item.metadata.name).sort()).toEqual(['here', 'there']);
    expect((await site1.request('POST', spread, { body: pod('there') })).status).toBe(409);
    const found = await site1.request('GET', `${spread}/there`);
    expect(found.status).toBe(200);
    expect(found.headers.get('x-cheops-forwarded-to')).toBe('Site2');
    // A change or a delete goes where the object lives.
    const labelled = await site1.request('PATCH', `${spread}/there`, {
      body: { metadata: { labels: { tier: 'web' } } }, scope: cross, headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect(labelled.status).toBe(200);
    expect(labelled.headers.get('x-cheops-forwarded-to')).toBe('Site2');
    expect(((await site2.local(`${spread}/there`)).body.metadata as { labels: Record<string, string> }).labels).toMatchObject({ tier: 'web' });
    // From outside the scope: sent to a member, which sends it on to the member holding the object.
    const fromOutside = await site3.request('PATCH', `${spread}/there`, {
      body: { metadata: { labels: { tier: 'db' } } }, scope: cross, headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect([fromOutside.status, fromOutside.headers.get('x-cheops-forwarded-to')]).toEqual([200, 'Site2']);
    expect(((await site2.local(`${spread}/there`)).body.metadata as { labels: Record<string, string> }).labels).toMatchObject({ tier: 'db' });
    expect((await site1.request('DELETE', `${spread}/here`, { scope: cross })).status).toBe(200);
    expect((await site1.request('DELETE', `${spread}/there`, { scope: cross })).headers.get('x-cheops-forwarded-to')).toBe('Site2');
    await eventually(async () => expect((await site2.local(`${spread}/there`)).status).toBe(404));
    // A member cut off cannot be asked: made here, with a warning.
    await mesh!.partition('Site2');
    const alone = await site1.request('POST', spread, { body: pod('alone'), scope: cross });
    expect(alone.status).toBe(201);
    expect(alone.headers.get('warning')).toContain('Site2 is unreachable: alone may exist there too');
  });

  it('tells apart, after the heal, a name made on both sides of a partition in a cross namespace: the first claim wins, the other is reported', async () => {
    const [site1, site2] = await threeSites();
    expect((await site1.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'spread' } }, scope: '{Site1 % Site2}' })).status).toBe(201);
    await eventually(async () => expect((await site2.local('/api/v1/namespaces/spread')).status).toBe(200));
    const spread = '/api/v1/namespaces/spread/pods';
    await mesh!.partition('Site2');
    // Each side makes "twin": neither can ask the other.
    const first = await site1.request('POST', spread, { body: pod('twin') });
    expect([first.status, first.headers.get('warning')]).toEqual([201, expect.stringContaining('Site2 is unreachable: twin may exist there too')]);
    const second = await site2.request('POST', spread, { body: pod('twin') });
    expect([second.status, second.headers.get('warning')]).toEqual([201, expect.stringContaining('Site1 is unreachable: twin may exist there too')]);
    await mesh!.heal('Site2');
    // After the heal, either site reads Site1's (claimed first), and says so.
    const reported = "pods spread/twin was made on Site1 and Site2 while they could not reach each other: Site1's, made first, is the one read and changed here; Site2's is left there (delete with --scope '{Site2}')";
    await eventually(async () => {
      const read = await site2.request('GET', `${spread}/twin`);
      expect(read.headers.get('warning')).toContain(reported);
      expect(read.headers.get('x-cheops-forwarded-to')).toBe('Site1');
    });
    const here = await site1.request('GET', `${spread}/twin`);
    expect(here.headers.get('warning')).toContain(reported);
    const winnerUid = ((await site1.local(`${spread}/twin`)).body.metadata as { uid: string }).uid;
    expect(((await here.json()) as { metadata: { uid: string } }).metadata.uid).toBe(winnerUid);
    // A change goes to the winner's object, from either site.
    const labelled = await site2.request('PATCH', `${spread}/twin`, { body: { metadata: { labels: { tier: 'web' } } }, headers: { 'content-type': 'application/merge-patch+json' } });
    expect([labelled.status, labelled.headers.get('x-cheops-forwarded-to')]).toEqual([200, 'Site1']);
    expect(((await site1.local(`${spread}/twin`)).body.metadata as { labels?: Record<string, string> }).labels).toMatchObject({ tier: 'web' });
    expect(((await site2.local(`${spread}/twin`)).body.metadata as { labels?: Record<string, string> }).labels?.tier).toBeUndefined();
    // The other deleted as the warning says: the name is Site1's alone again.
    expect((await site1.request('DELETE', `${spread}/twin`, { scope: '{Site2}' })).status).toBe(200);
    await eventually(async () => expect((await site2.request('GET', `${spread}/twin`)).headers.get('warning')).toBeNull());
    expect((await site2.local(`${spread}/twin`)).status).toBe(404);
    // Made again where it lives: refused by the application, and Site1's claim stays as it was, so
    // that the next partition's double is told apart again, Site1's still first.
    expect((await site1.request('POST', spread, { body: pod('twin') })).status).toBe(409);
    await mesh!.partition('Site2');
    expect((await site2.request('POST', spread, { body: pod('twin') })).status).toBe(201);
    await mesh!.heal('Site2');
    await eventually(async () => expect((await site2.request('GET', `${spread}/twin`)).headers.get('warning')).toContain(reported));
  });

  it('shares what a pod needs from the site its scope takes it from: replicated, kept in step, not deleted while relied upon', async () => {
    const [site1, site2, site3] = await threeSites();
    expect((await site2.request('POST', secrets, { body: tokenSecret('from-site2') })).status).toBe(201);
    const sharing = '{pods: Site1, secrets: Site2}';
    const created = await site1.request('POST', pods, { body: usingSecret('user', 'token'), scope: sharing });
    expect(created.status).toBe(201);
    expect(created.headers.get('warning')).toContain('secrets default/token shared from Site2');
    expect(await tokenData(site1)).toBe('from-site2');
    expect(await uidOn(site1, 'user')).toBeDefined();
    expect(await uidOn(site2, 'user')).toBeUndefined();
    expect(await tokenData(site3)).toBeUndefined();
    // Kept in step: Site2's change to its secret reaches Site1's copy.
    await eventually(async () => {
      const changed = await site2.request('PATCH', `${secrets}/token`, { body: { stringData: { key: 'changed' } }, headers: { 'content-type': 'application/merge-patch+json' } });
      expect(changed.headers.get('x-cheops-meta-id')).not.toBeNull();
    });
    await eventually(async () => expect(await tokenData(site1)).toBe('changed'));
    // A second pod needing it: already here, nothing fetched again.
    const second = await site1.request('POST', pods, { body: usingSecret('again', 'token'), scope: sharing });
    expect(second.status).toBe(201);
    expect(second.headers.get('warning')).toBeNull();
    // At risk (DESIGN.md §8): with Site2 cut off, a read of a pod relying on its secret says so.
    await mesh!.partition('Site2');
    await eventually(async () => {
      const risky = await site1.request('GET', `${pods}/user`);
      expect(risky.status).toBe(200);
      expect(risky.headers.get('warning')).toContain('pods default/user relies on secrets default/token, shared from Site2, which is unreachable');
    });
    await mesh!.heal('Site2');
    expect((await site1.request('GET', `${pods}/user`)).headers.get('warning')).toBeNull();
    // Site2 holds no such secret: refused, nothing written; optional, made with a warning.
    const missing = await site1.request('POST', pods, { body: usingSecret('lonely', 'absent'), scope: sharing });
    expect(missing.status).toBe(409);
    expect(((await missing.json()) as { message: string }).message).toContain('Site2 has no such object');
    expect(await uidOn(site1, 'lonely')).toBeUndefined();
    const optional = await site1.request('POST', pods, { body: usingSecret('easy', 'absent', true), scope: sharing });
    expect(optional.status).toBe(201);
    expect(optional.headers.get('warning')).toContain('optional');
    // A replicated pod: the dependency follows it to every site it goes to.
    const settings = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'settings' }, stringData: { key: 'v' } };
    expect((await site2.request('POST', secrets, { body: settings })).status).toBe(201);
    const spread = await site1.request('POST', pods, { body: usingSecret('everywhere', 'settings'), scope: '{pods: Site1 & Site3, secrets: Site2}' });
    expect(spread.status).toBe(201);
    expect(spread.headers.get('warning')).toContain('replicated between Site2, Site1, Site3');
    await eventually(async () => {
      expect(await uidOn(site3, 'everywhere')).toBeDefined();
      expect((await site3.local(`${secrets}/settings`)).status).toBe(200);
    });
    // The relationship model: no site may delete what pods rely on while they stand.
    const refused = await site2.request('DELETE', `${secrets}/token`);
    expect(refused.status).toBe(409);
    const message = ((await refused.json()) as { message: string }).message;
    expect(message).toContain('pods default/user on Site1');
    expect(message).toContain('pods default/again on Site1');
    expect(await tokenData(site2)).toBe('changed');
    // One gone (its delete never passed through Cheops: looked for on its site): refused for the other only, and the record of the gone one goes.
    expect((await site1.request('DELETE', `${pods}/user`)).status).toBe(200);
    const stillRefused = await site2.request('DELETE', `${secrets}/token`);
    expect(stillRefused.status).toBe(409);
    const stillMessage = ((await stillRefused.json()) as { message: string }).message;
    expect(stillMessage).toContain('pods default/again on Site1');
    expect(stillMessage).not.toContain('pods default/user');
    const dependentsOf = (site: TestSite): readonly string[] | undefined => site.engine.overviews().find((row) => row.resource === 'secrets default/token')?.dependents;
    expect(dependentsOf(site2)).toEqual(['Site1 pods default/again']);
    await eventually(() => expect(dependentsOf(site1)).toEqual(['Site1 pods default/again']));
    // Once both are gone, it may go, everywhere.
    expect((await site1.request('DELETE', `${pods}/again`)).status).toBe(200);
    await eventually(async () => expect((await site2.request('DELETE', `${secrets}/token`)).status).toBe(200));
    await eventually(async () => expect(await tokenData(site1)).toBeUndefined());
    // Forced, it goes although a pod still relies on it.
    expect((await site2.request('DELETE', `${secrets}/settings`)).status).toBe(409);
    expect((await site2.request('DELETE', `${secrets}/settings?gracePeriodSeconds=0`)).status).toBe(200);
  });

  it('shares one replicant with every site that takes the dependency: a second site joins it, of the owner\'s incarnation', async () => {
    const [site1, site2, site3] = await threeSites();
    // A life of the secret replicated and deleted before: the share is of the owner's next incarnation.
    expect((await site2.request('POST', secrets, { body: tokenSecret('old'), scope: '{Site2 & Site3}' })).status).toBe(201);
    await eventually(async () => expect((await site3.local(`${secrets}/token`)).status).toBe(200));
    expect((await site2.request('DELETE', `${secrets}/token`)).status).toBe(200);
    await eventually(async () => expect((await site3.local(`${secrets}/token`)).status).toBe(404));
    expect((await site2.request('POST', secrets, { body: tokenSecret('v1') })).status).toBe(201);
    const first = await site1.request('POST', pods, { body: usingSecret('a'), scope: '{pods: Site1, secrets: Site2}' });
    expect(first.status).toBe(201);
    expect(first.headers.get('warning')).toContain('secrets default/token shared from Site2: replicated between Site2, Site1, kept in step');
    const second = await site3.request('POST', pods, { body: usingSecret('b'), scope: '{pods: Site3, secrets: Site2}' });
    expect(second.status).toBe(201);
    expect(second.headers.get('warning')).toContain('secrets default/token shared from Site2: replicated between Site2, Site1, Site3, kept in step');
    // It was here before the pod was made.
    expect((await site3.local(`${secrets}/token`)).status).toBe(200);
    const rows = (site: TestSite) => site.engine.overviews().filter((row) => row.resource === 'secrets default/token' && !row.deleted);
    const token = metaIdOf({ app: 'kubernetes', service: 'secrets', namespace: 'default', name: 'token' }, 1);
    await eventually(() => {
      for (const site of [site1, site2, site3]) {
        expect(rows(site).map((row) => [row.metaId, row.sites, row.dependents])).toEqual([[token, ['Site2', 'Site1', 'Site3'], ['Site1 pods default/a', 'Site3 pods default/b']]]);
      }
    });
    // Kept in step on all three, from any of them.
    expect((await site3.request('PATCH', `${secrets}/token`, { body: { stringData: { key: 'from-site3' } }, headers: { 'content-type': 'application/merge-patch+json' } })).status).toBe(200);
    await eventually(async () => expect([await tokenData(site1), await tokenData(site2), await tokenData(site3)]).toEqual(['from-site3', 'from-site3', 'from-site3']));
    // Relied upon from both sites.
    const refused = await site2.request('DELETE', `${secrets}/token`);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { message: string }).message).toMatch(/pods default\/a on Site1.*pods default\/b on Site3/);
  });

  it('makes a plain write on a resource being shared wait for its replicant, so the write reaches the sharing site too', async () => {
    const [site1, site2] = await threeSites();
    expect((await site2.request('POST', secrets, { body: tokenSecret('v1') })).status).toBe(201);
    const release = hold('Site2 GET');
    const using = usingSecret('user');
    const creating = site1.request('POST', pods, { body: using, scope: '{pods: Site1, secrets: Site2}' });
    // Site2 is reading its secret to share it: a change of it made there meanwhile waits its turn.
    await eventually(() => expect(engineCalls.get('Site2')).toContain(`GET ${secrets}/token`));
    const patching = site2.request('PATCH', `${secrets}/token`, { body: { stringData: { key: 'v2' } }, headers: { 'content-type': 'application/merge-patch+json' } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    expect((await creating).status).toBe(201);
    const patched = await patching;
    expect(patched.status).toBe(200);
    expect(patched.headers.get('x-cheops-meta-id')).not.toBeNull();
    const key = async (site: TestSite): Promise<string> => Buffer.from(String(((await site.local(`${secrets}/token`)).body.data as Record<string, string>).key), 'base64').toString();
    await eventually(async () => expect([await key(site1), await key(site2)]).toEqual(['v2', 'v2']));
  });

  it('shares nothing for an object the application refuses: the refusal as it answered, no copy of the secret', async () => {
    const [site1, site2] = await threeSites();
    expect((await site2.request('POST', secrets, { body: tokenSecret('v1') })).status).toBe(201);
    expect((await site1.request('POST', pods, { body: pod('taken') })).status).toBe(201);
    const refused = await site1.request('POST', pods, { body: usingSecret('taken'), scope: '{pods: Site1, secrets: Site2}' });
    expect([refused.status, ((await refused.json()) as { reason?: string }).reason]).toEqual([409, 'AlreadyExists']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await tokenData(site1)).toBeUndefined();
    expect(await (await site2.fetch(new Request('http://site2.test/cheops/v1/replicants'))).json()).toEqual({ items: [] });
  });

  it('makes a share wait for a plain delete of the object already on its way to the application: no copy of what its owner deleted', async () => {
    const [site1, site2] = await threeSites();
    expect((await site2.request('POST', secrets, { body: tokenSecret('v1') })).status).toBe(201);
    const release = hold('Site2 DELETE');
    const deleting = site2.request('DELETE', `${secrets}/token`);
    await eventually(() => expect(heldRequests).toContain(`Site2 DELETE ${secrets}/token`));
    const creating = site1.request('POST', pods, { body: usingSecret('user'), scope: '{pods: Site1, secrets: Site2}' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    expect((await deleting).status).toBe(200);
    const created = await creating;
    expect([created.status, await created.text()]).toEqual([409, expect.stringContaining('token')]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect([(await site2.local(`${secrets}/token`)).status, await tokenData(site1)]).toEqual([404, undefined]);
  });

  it('asks again for a dependency deleted under a pod that stands here: at once, when the owner makes it again, and at its own restart', async () => {
    const [site1, site2, site3] = await threeSites();
    expect((await site2.request('POST', secrets, { body: tokenSecret('v1') })).status).toBe(201);
    // Shared with Site3 and Site1 by a pod on both, deleted again: nothing relies on it.
    expect((await site3.request('POST', pods, { body: usingSecret('wide'), scope: '{pods: Site3 & Site1, secrets: Site2}' })).status).toBe(201);
    await eventually(async () => expect(await tokenData(site1)).toBe('v1'));
    expect((await site3.request('DELETE', `${pods}/wide`)).status).toBe(200);
    await eventually(async () => expect(await uidOn(site1, 'wide')).toBeUndefined());
    // Cut off, Site1 makes a pod on its copy while the owner deletes the secret, knowing of none.
    await mesh!.partition('Site1');
    expect((await site2.request('DELETE', `${secrets}/token`)).status).toBe(200);
    expect((await site1.request('POST', pods, { body: usingSecret('late'), scope: '{pods: Site1, secrets: Site2}' })).status).toBe(201);
    await mesh!.heal('Site1');
    // The tombstone takes Site1's copy; the owner has none to give. Reads of the pod say so.
    await eventually(async () => expect(await tokenData(site1)).toBeUndefined());
    const lacking = await site1.request('GET', `${pods}/late`);
    expect([lacking.status, lacking.headers.get('warning')]).toEqual([200, expect.stringContaining('pods default/late relies on secrets default/token, which is missing here')]);
    // Made again while Site1 runs: told, Site1 asks, and has it.
    expect((await site2.request('POST', secrets, { body: tokenSecret('v2') })).status).toBe(201);
    await eventually(async () => expect(await tokenData(site1)).toBe('v2'));
    expect((await site1.request('GET', `${pods}/late`)).headers.get('warning')).toBeNull();
    // Deleted under the pod again (forced), made again while Site1 is down: its restart asks.
    expect((await site2.request('DELETE', `${secrets}/token?gracePeriodSeconds=0`)).status).toBe(200);
    await eventually(async () => expect(await tokenData(site1)).toBeUndefined());
    await site1.stop();
    expect((await site2.request('POST', secrets, { body: tokenSecret('v3') })).status).toBe(201);
    await site1.start();
    await mesh!.connect();
    await eventually(async () => expect(await tokenData(site1)).toBe('v3'));
  });

  it('refuses a delete of a secret that a pod recorded while the others were looked for relies on', async () => {
    const [site1, site2, site3] = await threeSites();
    expect((await site2.request('POST', secrets, { body: tokenSecret('v1') })).status).toBe(201);
    expect((await site1.request('POST', pods, { body: usingSecret('gone'), scope: '{pods: Site1, secrets: Site2}' })).status).toBe(201);
    expect((await site1.request('DELETE', `${pods}/gone`)).status).toBe(200);
    // Site2's delete looks for Site1's pod, recorded but gone: Site1 is slow to say so.
    const release = hold('Site1 GET');
    const deleting = site2.request('DELETE', `${secrets}/token`);
    await eventually(() => expect(heldRequests).toContain(`Site1 GET ${pods}/gone`));
    // Meanwhile Site3 takes the secret for a pod of its own.
    expect((await site3.request('POST', pods, { body: usingSecret('newcomer'), scope: '{pods: Site3, secrets: Site2}' })).status).toBe(201);
    release();
    const refused = await deleting;
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { message: string }).message).toContain('pods default/newcomer on Site3');
    expect((await site3.local(`${secrets}/token`)).status).toBe(200);
  });

  it('refuses a delete of a secret whose dependent, found gone, was made again under the same name while the delete looked', async () => {
    const [site1, site2] = await threeSites();
    const using = usingSecret('again');
    const sharing = '{pods: Site1, secrets: Site2}';
    expect((await site2.request('POST', secrets, { body: tokenSecret('v1') })).status).toBe(201);
    expect((await site1.request('POST', pods, { body: using, scope: sharing })).status).toBe(201);
    expect((await site1.request('DELETE', `${pods}/again`)).status).toBe(200);
    // Site1's answer that the pod is gone comes late (within the read deadline): meanwhile the pod is made again.
    let release: () => void = () => undefined;
    const late = new Promise<void>((resolve) => {
      release = resolve;
    });
    let asked = false;
    const route = mesh!.route.bind(mesh);
    mesh!.route = async (request) => {
      const answer = await route(request);
      if (new URL(request.url).hostname === 'site1.test' && request.method === 'GET') {
        asked = true;
        await late;
      }
      return answer;
    };
    const deleting = site2.request('DELETE', `${secrets}/token`);
    await eventually(() => expect(asked).toBe(true));
    expect((await site1.request('POST', pods, { body: using, scope: sharing })).status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    mesh!.route = route;
    const refused = await deleting;
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { message: string }).message).toContain('pods default/again on Site1');
    expect((await site1.local(`${secrets}/token`)).status).toBe(200);
  });

  it('refuses a delete of a secret whose dependent is still being made, waiting for the secret to arrive', async () => {
    const [site1, site2] = await threeSites();
    const using = usingSecret('coming');
    expect((await site2.request('POST', secrets, { body: tokenSecret('v1') })).status).toBe(201);
    // Site1's copy of the secret is slow to be made: its pod waits for it, recorded already at the owner.
    const release = hold('Site1');
    const creating = site1.request('POST', pods, { body: using, scope: '{pods: Site1, secrets: Site2}' });
    await eventually(() => expect(heldRequests).toContain(`Site1 POST ${secrets}`));
    const refused = await site2.request('DELETE', `${secrets}/token`);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { message: string }).message).toContain('pods default/coming on Site1');
    release();
    expect((await creating).status).toBe(201);
    expect((await site1.local(`${secrets}/token`)).status).toBe(200);
  });

  it('answers another site\'s share request only when it is one: a malformed one is a 400 and changes nothing, a missing object a 404', async () => {
    const [site1, site2] = await threeSites();
    expect((await site2.request('POST', '/api/v1/namespaces/default/secrets', { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token' } } })).status).toBe(201);
    const ask = (body: unknown): Promise<Response> => site2.request('POST', '/cheops/v1/shares', { body: typeof body === 'string' ? body : JSON.stringify(body) });
    const key = { app: 'kubernetes', service: 'secrets', namespace: 'default', name: 'token' };
    for (const hostile of ['{not json', [], { key }, { key, sites: ['Nowhere'] }, { key: { app: 'openstack', service: 'x', name: 'y' }, sites: ['Site1'] }, { key, sites: ['Site1'], dependent: { site: 'Site1' } }]) {
      const answer = await ask(hostile);
      expect(answer.status).toBe(400);
      expect(((await answer.json()) as { kind: string }).kind).toBe('Status');
    }
    expect(site2.engine.overviews()).toEqual([]);
    expect((await ask({ key: { ...key, name: 'absent' }, sites: ['Site1'] })).status).toBe(404);
    const granted = await ask({ key, sites: ['Site1'] });
    expect(granted.status).toBe(200);
    expect(await granted.json()).toEqual({ metaId: metaIdOf(key, 0), sites: ['Site2', 'Site1'] });
    await eventually(async () => expect((await site1.local('/api/v1/namespaces/default/secrets/token')).status).toBe(200));
  });

  it('replicates what a replicated pod relies on along with it, from this site\'s copy', async () => {
    const [site1, site2, site3] = await threeSites();
    expect((await site1.request('POST', secrets, { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, stringData: { key: 'v1' } } })).status).toBe(201);
    const using = (name: string, secretName: string, optional = false): JsonObject => ({
      ...pod(name),
      spec: { containers: [{ name: 'app', image: 'nginx', envFrom: [{ secretRef: { name: secretName, ...(optional ? { optional } : {}) } }] }] },
    });
    const created = await site1.request('POST', pods, { body: using('consumer', 'creds'), scope: both });
    expect(created.status).toBe(201);
    expect(created.headers.get('warning')).toContain('secrets default/creds (spec.containers[0].envFrom[0].secretRef) follows to Site2: replicated between Site1, Site2');
    await eventually(async () => {
      expect(await uidOn(site2, 'consumer')).toBeDefined();
      expect((await site2.local(`${secrets}/creds`)).status).toBe(200);
    });
    expect((await site3.local(`${secrets}/creds`)).status).toBe(404);
    // Kept in step, and relied upon: Site2 may not delete it while the pod stands.
    await eventually(async () => {
      const changed = await site2.request('PATCH', `${secrets}/creds`, { body: { stringData: { key: 'v2' } }, headers: { 'content-type': 'application/merge-patch+json' } });
      expect(changed.headers.get('x-cheops-meta-id')).not.toBeNull();
    });
    await eventually(async () => expect(((await site1.local(`${secrets}/creds`)).body.data as Record<string, string>).key).toBe(Buffer.from('v2').toString('base64')));
    const refused = await site2.request('DELETE', `${secrets}/creds`);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { message: string }).message).toContain('pods default/consumer on Site1');
    // Replicated already, on fewer sites than another pod goes to: widened to them, one replicant still.
    const wider = await site1.request('POST', pods, { body: using('wider', 'creds'), scope: '{Site1 & Site3}' });
    expect(wider.status).toBe(201);
    expect(wider.headers.get('warning')).toContain('secrets default/creds (spec.containers[0].envFrom[0].secretRef) follows to Site3: replicated between Site1, Site2, Site3');
    await eventually(async () => expect(((await site3.local(`${secrets}/creds`)).body.data as Record<string, string>).key).toBe(Buffer.from('v2').toString('base64')));
    const credsOn = (site: TestSite): readonly string[] | undefined => site.engine.overviews().find((row) => row.resource === 'secrets default/creds')?.sites;
    await eventually(() => expect([credsOn(site1), credsOn(site2), credsOn(site3)]).toEqual(Array(3).fill(['Site1', 'Site2', 'Site3'])));
    // Missing here: nothing follows, the pod is made (the application decides), and a warning says so unless optional.
    const lacking = await site1.request('POST', pods, { body: using('lacking', 'absent'), scope: both });
    expect(lacking.status).toBe(201);
    expect(lacking.headers.get('warning')).toContain('does not exist on Site1: it does not follow to Site2');
    const optional = await site1.request('POST', pods, { body: using('relaxed', 'absent', true), scope: both });
    expect(optional.status).toBe(201);
    expect(optional.headers.get('warning')).toBeNull();
    // A pod on this site alone takes nothing anywhere.
    const alone = await site1.request('POST', pods, { body: using('alone', 'creds'), scope: '{Site1}' });
    expect([alone.status, alone.headers.get('warning')]).toEqual([201, null]);
  });

  it('reads across the members of a cross scope: lists merged with a SITE column, an object wherever it lives', async () => {
    const [site1, site2, site3] = await threeSites();
    const cross = '{Site1 % Site2}';
    expect((await site1.request('POST', pods, { body: pod('near') })).status).toBe(201);
    expect((await site2.request('POST', pods, { body: pod('far') })).status).toBe(201);
    expect((await site3.request('POST', pods, { body: pod('outside') })).status).toBe(201);
    const list = await site1.request('GET', `${pods}?limit=1`, { scope: cross });
    expect(list.status).toBe(200);
    const merged = (await list.json()) as { kind: string; items: Array<{ metadata: { name: string } }>; metadata: Record<string, unknown> };
    expect(merged.kind).toBe('PodList');
    // Whole lists (the sites' pages cannot be merged), Site1's items first.
    expect(merged.items.map((item) => item.metadata.name)).toEqual(['near', 'far']);
    expect(String(merged.metadata.resourceVersion)).toMatch(/^cheops\./);
    const table = await site1.request('GET', pods, { scope: cross, headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } });
    const rows = (await table.json()) as { columnDefinitions: Array<{ name: string }>; rows: Array<{ cells: unknown[] }> };
    expect(rows.columnDefinitions.map((column) => column.name).slice(0, 2)).toEqual(['Site', 'Name']);
    expect(rows.rows.map((row) => row.cells.slice(0, 2))).toEqual([['Site1', 'near'], ['Site2', 'far']]);
    // From outside the scope: every member's objects too (not one member's alone), and never Site3's own.
    const outside = (await (await site3.request('GET', pods, { scope: cross })).json()) as { items: Array<{ metadata: { name: string } }> };
    expect(outside.items.map((item) => item.metadata.name)).toEqual(['near', 'far']);
    const farFromOutside = await site3.request('GET', `${pods}/far`, { scope: cross });
    expect([farFromOutside.status, farFromOutside.headers.get('x-cheops-forwarded-to'), ((await farFromOutside.json()) as { metadata: { name: string } }).metadata.name]).toEqual([200, 'Site2', 'far']);
    expect((await site3.request('GET', `${pods}/outside`, { scope: cross })).status).toBe(404);
    // One object: here when this site holds it, else from the member that does.
    const far = await site1.request('GET', `${pods}/far`, { scope: cross });
    expect(far.status).toBe(200);
    expect(far.headers.get('x-cheops-forwarded-to')).toBe('Site2');
    expect((await site1.request('GET', `${pods}/near`, { scope: cross })).headers.get('x-cheops-forwarded-to')).toBeNull();
    expect((await site1.request('GET', `${pods}/outside`, { scope: cross })).status).toBe(404);
    // A subresource (kubectl logs) of the object, wherever it lives.
    const log = await site1.request('GET', `${pods}/far/log`, { scope: cross });
    expect(log.status).toBe(200);
    expect(log.headers.get('x-cheops-forwarded-to')).toBe('Site2');
    expect((await site1.request('GET', `${pods}/near/log`, { scope: cross })).headers.get('x-cheops-forwarded-to')).toBeNull();
    expect((await site1.request('GET', `${pods}/outside/log`, { scope: cross })).status).toBe(404);
    // A watch from the merged list's version: each member's new events, once, with their site.
    const watch = await site1.request('GET', `${pods}?watch=true&resourceVersion=${String(merged.metadata.resourceVersion)}`, {
      scope: cross, headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
    });
    expect(watch.status).toBe(200);
    const reader = (watch.body as ReadableStream<Uint8Array>).getReader();
    expect((await site2.request('POST', pods, { body: pod('later2') })).status).toBe(201);
    expect((await site1.request('POST', pods, { body: pod('later1') })).status).toBe(201);
    const seen: string[] = [];
    let text = '';
    let headers: unknown;
    while (seen.length < 2) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      const lines = text.split('\n');
      text = lines.pop() ?? '';
      for (const line of lines.filter((one) => one !== '')) {
        const event = JSON.parse(line) as { type: string; object: { columnDefinitions: Array<{ name: string }>; rows: Array<{ cells: unknown[] }> } };
        headers ??= event.object.columnDefinitions.map((column) => column.name).slice(0, 2);
        if (event.type === 'ADDED') seen.push(event.object.rows.map((row) => `${String(row.cells[0])}/${String(row.cells[1])}`).join());
      }
    }
    await reader.cancel();
    // Nothing from before the list's version again; each new pod once, with its site.
    expect(seen.sort()).toEqual(['Site1/later1', 'Site2/later2']);
    expect(headers).toEqual(['Site', 'Name']);
    // A member seen up whose front never answers: left out after the deadline, and named.
    const route = mesh!.route.bind(mesh);
    mesh!.route = (request, signal) =>
      new URL(request.url).hostname === 'site2.test'
        ? new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))))
        : route(request);
    const slow = await site1.request('GET', pods, { scope: cross });
    // Site1's near and later1.
    expect(slow.headers.get('warning')).toContain('Site2 did not answer (no answer within 300 ms)');
    expect(((await slow.json()) as { items: unknown[] }).items).toHaveLength(2);
    mesh!.route = route;
    // A member cut off: what is reachable, with a warning naming it, at once.
    await mesh!.partition('Site2');
    const partial = await site1.request('GET', pods, { scope: cross });
    expect(partial.status).toBe(200);
    expect(partial.headers.get('warning')).toContain('Site2 is unreachable');
    expect(((await partial.json()) as { items: unknown[] }).items).toHaveLength(2);
  });

  it('sends an exec or port-forward whose scope leaves this site out to the front of a site of it', async () => {
    const [site1] = await threeSites();
    const scope = (text: string): RequestScope => {
      const parsed = parseScope(text);
      if (!parsed.ok) throw parsed.error;
      return { text, scope: parsed.scope, carrier: 'path' };
    };
    const exec = '/api/v1/namespaces/default/pods/p/exec?command=sh';
    expect(site1.engine.upgradeRoute('GET', exec, scope('{Site2}'), {})).toEqual({
      upstream: 'http://site2.test', headers: [['x-cheops-scope', '{Site2}'], ['x-cheops-forwarded-from', 'Site1']],
    });
    // The first site of the scope seen up.
    await mesh!.partition('Site2');
    expect(site1.engine.upgradeRoute('GET', exec, scope('{Site2 & Site3}'), {})).toMatchObject({ upstream: 'http://site3.test' });
    // Here: a scope with this site in it, pods not bound to another site, or an upgrade forwarded here.
    expect(site1.engine.upgradeRoute('GET', exec, scope(both), {})).toBeUndefined();
    expect(site1.engine.upgradeRoute('GET', exec, scope('{secrets: Site2}'), {})).toBeUndefined();
    expect(site1.engine.upgradeRoute('GET', exec, scope('{Site3}'), { 'x-cheops-forwarded-from': 'Site3' })).toBeUndefined();
    const unknown = site1.engine.upgradeRoute('GET', exec, scope('{Site9}'), {});
    expect(unknown instanceof Error ? unknown.code : unknown).toBe('CHEOPS_SCOPE_UNKNOWN_SITE');
  });

  it('streams a watch from the site its scope names', async () => {
    const [site1, site2] = await threeSites();
    const watch = await site1.request('GET', `${pods}?watch=true`, { scope: '{Site2}' });
    expect(watch.status).toBe(200);
    expect(watch.headers.get('x-cheops-forwarded-to')).toBe('Site2');
    const reader = (watch.body as ReadableStream<Uint8Array>).getReader();
    expect((await site2.request('POST', pods, { body: pod('watched') })).status).toBe(201);
    let seen = '';
    while (!seen.includes('"watched"')) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    expect(seen).toContain('"ADDED"');
    await reader.cancel();
  });

  it('reads from the next site of the scope when one does not answer, and says so when none does', async () => {
    const [site1, site2] = await threeSites();
    expect((await site2.request('POST', pods, { body: pod('there') })).status).toBe(201);
    const route = mesh!.route.bind(mesh);
    // Site3 seen up, but its front never answers: Site2 is asked once the deadline passes.
    mesh!.route = (request, signal) =>
      new URL(request.url).hostname === 'site3.test'
        ? new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))))
        : route(request);
    const late = await site1.request('GET', `${pods}/there`, { scope: '{Site3 & Site2}' });
    expect(late.status).toBe(200);
    expect(late.headers.get('x-cheops-forwarded-to')).toBe('Site2');
    // Site3's front fails at once.
    mesh!.route = (request) => (new URL(request.url).hostname === 'site3.test' ? Promise.reject(new TypeError('fetch failed: other side closed')) : route(request));
    const read = await site1.request('GET', `${pods}/there`, { scope: '{Site3 & Site2}' });
    expect(read.status).toBe(200);
    expect(read.headers.get('x-cheops-forwarded-to')).toBe('Site2');
    await mesh!.partition('Site2');
    const none = await site1.request('GET', `${pods}/there`, { scope: '{Site3 & Site2}' });
    expect(none.status).toBe(503);
    expect(((await none.json()) as { message: string }).message).toMatch(/Site3: .*other side closed.*Site2: /);
  });

  it('answers a scoped create before storing its replicant, and a crash in between loses nothing', async () => {
    const [site1, site2] = await threeSites();
    const answered = await site1.request('POST', pods, { body: pod('quick', { v: '1' }), scope: both });
    expect(answered.status).toBe(201);
    expect(answered.headers.get('x-cheops-replicas')).toBe('Site1=applied, Site2=pending');
    // The next write on the key is a replicated one, whatever moment it comes.
    const label = await site1.request('PATCH', `${pods}/quick`, { body: { metadata: { labels: { v: '2' } } }, headers: { 'content-type': 'application/merge-patch+json' } });
    expect(label.headers.get('x-cheops-meta-id')).toBe(answered.headers.get('x-cheops-meta-id'));
    await eventually(async () => expect(await labelsOn(site2, 'quick')).toEqual({ v: '2' }));

    // What a crash right after such an answer leaves: the object in the application, the intent
    // stored, no replicant. Start-up makes the replicant from the object, under the answered meta-ID.
    const key = { app: 'kubernetes', service: 'pods', namespace: 'default', name: 'crashed' } as const;
    const metaId = metaIdOf(key, 0);
    await site1.stop();
    expect((await site1.app.localApp.fetch(new Request(`http://app${pods}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pod('crashed', { v: '1' })) }))).status).toBe(201);
    const intents = new CreateIntents(site1.storage, silentLogger);
    await intents.record({ metaId, key, incarnation: 0, scope: both, sites: [asSiteName('Site1'), asSiteName('Site2')], request: pod('crashed') as JsonObject });
    await intents.record({ metaId: metaIdOf({ ...key, name: 'never-made' }, 0), key: { ...key, name: 'never-made' }, incarnation: 0, scope: both, sites: [asSiteName('Site1'), asSiteName('Site2')], request: pod('never-made') as JsonObject });
    await site1.start();
    await mesh?.connect();
    await eventually(async () => expect(await labelsOn(site2, 'crashed')).toEqual({ v: '1' }));
    expect(site1.documents.has(replicantDocId(metaId))).toBe(true);
    await eventually(async () => expect(await intents.list()).toEqual([]));
    expect(site1.documents.has(replicantDocId(metaIdOf({ ...key, name: 'never-made' }, 0)))).toBe(false);
    expect(await uidOn(site2, 'never-made')).toBeUndefined();
  });

  it('stores a create\'s intent before its application sees it, answered first or waiting for all sites, and removes it once recorded', async () => {
    const [site1, site2] = await threeSites();
    const made = async (name: string): Promise<string[] | undefined> => (await Promise.all(intentsAtCreate)).find((create) => create.site === 'Site1' && create.name === name)?.intents;
    const metaIdOfPod = (name: string): string => metaIdOf({ app: 'kubernetes', service: 'pods', namespace: 'default', name }, 0);
    expect((await site1.request('POST', pods, { body: pod('first'), scope: both })).status).toBe(201);
    expect((await site1.request('POST', pods, { body: pod('waited'), scope: both, headers: { 'x-cheops-wait': 'all' } })).status).toBe(201);
    // A crash the moment the application made either would leave the intent start-up settles,
    // never an object that nothing here names (swarm seed 7400111).
    expect(await made('first')).toContain(metaIdOfPod('first'));
    expect(await made('waited')).toContain(metaIdOfPod('waited'));
    await eventually(async () => {
      expect(await new CreateIntents(site1.storage, silentLogger).list()).toEqual([]);
      expect(site1.stagingLog.reopen().leftovers().filter(({ id }) => !id.includes(':'))).toEqual([]);
    });
    expect(await uidOn(site2, 'waited')).toBeDefined();
  });

  it('records the intents a crash left staged once the store takes writes, when it refused them at start-up', async () => {
    const [site1, site2] = await threeSites();
    await site1.stop();
    // What a crash the moment the application made a create leaves: the pod there, its intent staged in the log only.
    const key = { app: 'kubernetes', service: 'pods', namespace: 'default', name: 'staged' } as const;
    const metaId = metaIdOf(key, 0);
    expect((await site1.app.localApp.fetch(new Request(`http://app${pods}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pod('staged', { v: '1' })) }))).status).toBe(201);
    await new CreateIntents(site1.storage, silentLogger, () => true, site1.stagingLog).stage({
      metaId, key, incarnation: 0, scope: both, sites: [asSiteName('Site1'), asSiteName('Site2')], request: pod('staged') as JsonObject,
    });
    // A full disk at start-up: the store refuses the intents' batch.
    let full = true;
    site1.storage = refusingBatches(site1.storage, (operations) => full && operations.some((operation) => operation.key[0] === 'create-intent'));
    await site1.start();
    await mesh?.connect();
    await eventually(() => expect(site1.logger.entries.map((entry) => entry.message)).toContain('create intents not read; read again once the store takes writes'));
    expect(site1.documents.has(replicantDocId(metaId))).toBe(false);
    full = false;
    site1.engine.storageBack();
    await eventually(async () => expect(await labelsOn(site2, 'staged')).toEqual({ v: '1' }));
    expect(site1.documents.has(replicantDocId(metaId))).toBe(true);
  });

  it('answers an update before storing its change; a store that refuses the change takes it from its record once it has room, and the key waits for it', async () => {
    const [site1, site2] = await threeSites();
    const created = await site1.request('POST', pods, { body: pod('steady', { v: '1' }), scope: both });
    const metaId = created.headers.get('x-cheops-meta-id') as MetaId;
    await eventually(async () => expect(await labelsOn(site2, 'steady')).toEqual({ v: '1' }));
    await site1.stop();
    // A full disk for the replicant's documents only: the application takes the update, the change is refused.
    let full = false;
    site1.storage = refusingBatches(site1.storage, (operations) => full && operations.some((operation) => operation.key[0] === 'doc'));
    await site1.start();
    await mesh?.connect();
    full = true;
    const label = (v: string): Promise<Response> =>
      site1.request('PATCH', `${pods}/steady`, { body: { metadata: { labels: { v } } }, headers: { 'content-type': 'application/merge-patch+json' } });
    const answered = await label('2');
    expect(answered.status).toBe(200);
    expect(answered.headers.get('x-cheops-replicas')).toBe('Site1=applied, Site2=pending');
    await eventually(() => expect(site1.logger.entries.map((entry) => entry.message)).toContain('the change of an answered update was not stored; it is written from its record'));
    // A later write of the key waits for the answered one: refused, never stored before it.
    const refused = await label('3');
    expect(refused.status).toBe(500);
    expect(await refused.text()).toContain('an earlier update of steady is not stored yet');
    expect(await labelsOn(site1, 'steady')).toEqual({ v: '2' });
    full = false;
    site1.engine.storageBack();
    await eventually(async () => expect(await labelsOn(site2, 'steady')).toEqual({ v: '2' }));
    const replicant = await site1.engine['ctx'].replicants.get(metaId);
    expect(replicant?.desired.site).toBe('Site1');
    expect((await label('4')).status).toBe(200);
    await eventually(async () => expect(await labelsOn(site2, 'steady')).toEqual({ v: '4' }));
  });

  it('writes the change of an update a crash left answered and unstored from its record at start-up, before any pass', async () => {
    const [site1, site2] = await threeSites();
    await site1.request('POST', pods, { body: pod('kept', { v: '1' }), scope: both });
    await eventually(async () => expect(await labelsOn(site2, 'kept')).toEqual({ v: '1' }));
    let full = false;
    await site1.stop();
    site1.storage = refusingBatches(site1.storage, (operations) => full && operations.some((operation) => operation.key[0] === 'doc'));
    await site1.start();
    await mesh?.connect();
    full = true;
    const answered = await site1.request('PATCH', `${pods}/kept`, { body: { metadata: { labels: { v: '2' } } }, headers: { 'content-type': 'application/merge-patch+json' } });
    expect(answered.status).toBe(200);
    await eventually(() => expect(site1.logger.entries.map((entry) => entry.message)).toContain('the change of an answered update was not stored; it is written from its record'));
    // Stopped before the store had room: what a crash right after the answer leaves, the record open in the staging log.
    await site1.stop();
    full = false;
    await site1.start();
    await mesh?.connect();
    await eventually(async () => expect(await labelsOn(site2, 'kept')).toEqual({ v: '2' }));
    expect(await labelsOn(site1, 'kept')).toEqual({ v: '2' });
    expect(site1.logger.entries.map((entry) => entry.message)).toContain('change of an update answered before it was stored written from its record');
    expect(site1.stagingLog.reopen().leftovers().filter(({ id }) => id.startsWith('update:'))).toEqual([]);
  });

  it('forgets at start-up an update record whose change was stored and written over since, its settle lost', async () => {
    const [site1, site2] = await threeSites();
    await site1.request('POST', pods, { body: pod('over', { v: '1' }), scope: both });
    await eventually(async () => expect(await labelsOn(site2, 'over')).toEqual({ v: '1' }));
    const label = (v: string, headers: Record<string, string> = {}): Promise<Response> =>
      site1.request('PATCH', `${pods}/over`, { body: { metadata: { labels: { v } } }, headers: { 'content-type': 'application/merge-patch+json', ...headers } });
    // The settle frame of the answered update's record lost (a full disk refuses it): the log keeps the record.
    const log = site1.stagingLog;
    const settle = log.settle.bind(log);
    log.settle = (id: string): void => {
      if (!id.startsWith('update:')) settle(id);
    };
    expect((await label('2')).status).toBe(200);
    await eventually(async () => expect(await labelsOn(site2, 'over')).toEqual({ v: '2' }));
    log.settle = settle;
    // A later write, stored before its answer (it waits for every site).
    expect((await label('3', { 'x-cheops-wait': 'all' })).status).toBe(200);
    await site1.stop();
    expect(site1.stagingLog.reopen().leftovers().filter(({ id }) => id.startsWith('update:'))).toHaveLength(1);
    await site1.start();
    await mesh?.connect();
    await eventually(() => expect(site1.stagingLog.reopen().leftovers().filter(({ id }) => id.startsWith('update:'))).toEqual([]));
    expect(site1.logger.entries.some((entry) => entry.message === 'answered update settled' && entry.fields['why'] === 'its change is stored, and later writes since')).toBe(true);
    // Not written again at its base heads, where it would stand concurrent with the later write.
    await eventually(async () => expect([await labelsOn(site1, 'over'), await labelsOn(site2, 'over')]).toEqual([{ v: '3' }, { v: '3' }]));
    const replicant = await site1.engine['ctx'].replicants.get(metaIdOf({ app: 'kubernetes', service: 'pods', namespace: 'default', name: 'over' }, 0));
    expect(replicant?.conflicts ?? []).toEqual([]);
  });

  it('settles at start-up the record of an update a crash cut short: written when the application made it, forgotten when it did not', async () => {
    const [site1, site2] = await threeSites();
    const metaIdOfPod = async (name: string): Promise<MetaId> =>
      (await site1.request('POST', pods, { body: pod(name, { v: '1' }), scope: both })).headers.get('x-cheops-meta-id') as MetaId;
    const [made, unmade] = [await metaIdOfPod('made'), await metaIdOfPod('unmade')];
    await eventually(async () => expect([await labelsOn(site2, 'made'), await labelsOn(site2, 'unmade')]).toEqual([{ v: '1' }, { v: '1' }]));
    const heads = (metaId: MetaId): readonly string[] => site1.documents.heads(replicantDocId(metaId)) ?? [];
    const revisionOf = async (metaId: MetaId): Promise<string | undefined> => (await site1.engine['ctx'].replicants.get(metaId))?.desired.revision;
    const unmadeRevision = await revisionOf(unmade);
    // What the process dying while the application works on two updates leaves: each one's record
    // staged before the application saw it, no answer; the application made one of them.
    const bases = { made: heads(made), unmade: heads(unmade) };
    await site1.stop();
    const records = new AnsweredUpdates(silentLogger, site1.stagingLog);
    const keyOf = (name: string) => ({ app: 'kubernetes', service: 'pods', namespace: 'default', name }) as const;
    expect(await records.stage({ metaId: made, key: keyOf('made'), at: Date.now(), nonce: '0000000a', base: bases.made })).toBe(true);
    expect(await records.stage({ metaId: unmade, key: keyOf('unmade'), at: Date.now(), nonce: '0000000b', base: bases.unmade })).toBe(true);
    const patched = await site1.app.localApp.fetch(new Request(`http://app${pods}/made`, {
      method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ metadata: { labels: { v: '2' } } }),
    }));
    expect(patched.status).toBe(200);
    await site1.start();
    await mesh?.connect();
    await eventually(async () => expect(await labelsOn(site2, 'made')).toEqual({ v: '2' }));
    const messages = (): string[] => site1.logger.entries.map((entry) => entry.message);
    await eventually(() => expect(site1.stagingLog.reopen().leftovers().filter(({ id }) => id.startsWith('update:'))).toEqual([]));
    expect(messages()).toContain('change of an update answered before it was stored written from its record');
    expect(site1.logger.entries.some((entry) => entry.message === 'answered update settled' && entry.fields['why'] === 'the application holds no object the update made')).toBe(true);
    // The update never made is not written: the replicant keeps its revision, and no site sees a change.
    expect(await revisionOf(unmade)).toBe(unmadeRevision);
    expect(await labelsOn(site2, 'unmade')).toEqual({ v: '1' });
  });

  it('makes a new incarnation when the delete of the name arrives while the application works on a scoped create', async () => {
    const [site1, site2] = await threeSites();
    const key = { app: 'kubernetes', service: 'pods', namespace: 'default', name: 'twin' } as const;
    await mesh?.partition('Site1');
    expect((await site2.request('POST', pods, { body: pod('twin', { from: 'Site2' }), scope: both })).status).toBe(201);
    expect((await site2.request('DELETE', `${pods}/twin`)).status).toBe(200);
    const release = hold('Site1');
    const onSite1 = site1.request('POST', pods, { body: pod('twin', { from: 'Site1' }), scope: both });
    await mesh?.heal('Site1');
    // The tombstone of the first incarnation reaches Site1 while its application holds the create.
    await eventually(() => expect(site1.documents.has(replicantDocId(metaIdOf(key, 0)))).toBe(true));
    release();
    const answered = await onSite1;
    expect(answered.status).toBe(201);
    expect(answered.headers.get('x-cheops-meta-id')).toBe(metaIdOf(key, 1));
    await eventually(async () => expect(await labelsOn(site2, 'twin')).toEqual({ from: 'Site1' }));
    expect(await labelsOn(site1, 'twin')).toEqual({ from: 'Site1' });
  });

  it('creates a first replica without reading first; a name taken on the member is read and replaced', async () => {
    const [site1, site2] = await threeSites();
    const taken = await site2.app.localApp.fetch(new Request(`http://app${pods}`, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'kubectl' }, body: JSON.stringify(pod('taken', { v: 'local' })) }));
    expect(taken.status).toBe(201);
    expect((await site1.request('POST', pods, { body: pod('fresh', { v: '1' }), scope: both })).status).toBe(201);
    expect((await site1.request('POST', pods, { body: pod('taken', { v: '1' }), scope: both })).status).toBe(201);
    await eventually(async () => {
      expect(await labelsOn(site2, 'fresh')).toEqual({ v: '1' });
      expect(await labelsOn(site2, 'taken')).toEqual({ v: '1' });
    });
    const calls = engineCalls.get('Site2') ?? [];
    expect(calls).not.toContain(`GET ${pods}/fresh`);
    expect(calls.filter((call) => call === `POST ${pods}`)).toHaveLength(2);
    expect(calls).toContain(`GET ${pods}/taken`);
    expect(calls).toContain(`PUT ${pods}/taken`);
  });

  it('adopts an object already there when a scoped create finds it (a retry after a crash)', async () => {
    const [site1, site2] = await threeSites();
    expect((await site1.app.localApp.fetch(new Request(`http://app${pods}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pod('orphan', { v: '1' })) }))).status).toBe(201);
    const retried = await site1.request('POST', pods, { body: pod('orphan', { v: '1' }), scope: both });
    expect(retried.status).toBe(200);
    expect(retried.headers.get('warning')).toContain('already existed on Site1');
    expect(retried.headers.get('x-cheops-replicas')).toBe('Site1=applied, Site2=pending');
    await eventually(async () => expect(await labelsOn(site2, 'orphan')).toEqual({ v: '1' }));
  });
});

async function adminGet(site: TestSite, path: string): Promise<Response> {
  const routes = site.engine.adminRoutes();
  const { Hono } = await import('hono');
  const app = new Hono();
  for (const [key, handler] of Object.entries(routes)) app.get(key.slice(4), handler);
  return app.request(path);
}
