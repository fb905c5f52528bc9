/**
 * Deliberately broken nodes for the checkers' tests. Each fault sits in one of the ports the node
 * is given (the local application, the store, the transport, the links to other fronts) or in
 * front of it, never in production code: the node runs as shipped, over a port that misbehaves. And a scripted run: a few chosen operations
 * through the fronts, then the final heal, the settle period and every checker.
 */
import { asSiteName } from '../../core/ids.js';
import type { Storage } from '../../crdt/storage.js';
import { wrapLocalApp, type LocalApp } from '../../node/local-app.js';
import { opMarkerAnnotation } from '../../simulator/harness/app-log.js';
import { pushChannel } from '../../p2p/sync-messages.js';
import type { Transport } from '../../p2p/transport.js';
import { ScopeMonitor, type CheckerResult, type CheckerName } from '../../simulator/checkers/index.js';
import type { SiteHookContext, SiteHooks } from '../../simulator/harness/site-hooks.js';
import { startSimulation, type Simulation } from '../../simulator/harness/simulation.js';
import { checkRun, settle } from '../../simulator/scenario/check-run.js';
import { KubectlClient } from '../../simulator/workload/client.js';
import { History, type OpRecord } from '../../simulator/workload/history.js';
import { setUpContainers } from '../../simulator/workload/containers.js';
import { KeySpace, workloadKey, type WorkloadKey } from '../../simulator/workload/key-space.js';
import type { KubectlCall } from '../../simulator/workload/kubectl-requests.js';
import { ReadClient, type ReadRecord } from '../../simulator/workload/reads.js';
import { meshed } from './support.js';

/** Requests the reconciler sends carry no user agent; the clients' do. */
function fromReconciler(request: Request): boolean {
  return request.method !== 'GET' && !request.headers.has('user-agent');
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/** An application that answers the reconciler's writes with success and does nothing. */
export function dropsReplicatedWrites(on: string): SiteHooks {
  return {
    localApp: (app: LocalApp, context: SiteHookContext): LocalApp =>
      context.site !== on ? app : wrapLocalApp(app, async (request) => {
          if (!fromReconciler(request)) return app.fetch(request);
          const body: unknown = request.method === 'DELETE' ? {} : await request.json();
          return json(request.method === 'POST' ? 201 : 200, body);
      }),
  };
}

/** A store that acknowledges writes it never makes while `forgetting.on` is set. */
export function forgetfulStorage(on: string, forgetting: { on: boolean }): SiteHooks {
  return {
    storage: (storage: Storage, context: SiteHookContext): Storage =>
      context.site !== on ? storage : {
        get: (key) => storage.get(key),
        list: (prefix) => storage.list(prefix),
        close: () => storage.close(),
        put: (key, value) => (forgetting.on ? Promise.resolve() : storage.put(key, value)),
        delete: (key) => (forgetting.on ? Promise.resolve() : storage.delete(key)),
        batch: (operations) => (forgetting.on ? Promise.resolve() : storage.batch(operations)),
        deleteRange: (prefix) => (forgetting.on ? Promise.resolve() : storage.deleteRange(prefix)),
      },
  };
}

/** An application whose objects come back right after the reconciler deletes them (a zombie controller). */
export function resurrectingApp(on: string): SiteHooks {
  return {
    localApp: (app: LocalApp, context: SiteHookContext): LocalApp =>
      context.site !== on ? app : wrapLocalApp(app, async (request) => {
          if (request.method !== 'DELETE' || !fromReconciler(request)) return app.fetch(request);
          const url = new URL(request.url);
          const before = await app.fetch(new Request(url, { headers: { accept: 'application/json' } }));
          const object = (await before.json()) as { apiVersion?: string; kind?: string; metadata?: Record<string, unknown>; data?: unknown };
          const answer = await app.fetch(request);
          if (answer.ok && object.metadata !== undefined) {
            const { name, namespace, labels, annotations } = object.metadata;
            const revived = { apiVersion: object.apiVersion, kind: object.kind, metadata: { name, namespace, labels, annotations }, data: object.data };
            const collection = url.pathname.slice(0, url.pathname.lastIndexOf('/'));
            await app.fetch(new Request(new URL(collection, url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(revived) }));
          }
          return answer;
      }),
  };
}

/**
 * An application that, `delayMs` after the reconciler's delete of an object succeeded, lets a
 * delayed reconciler create of that object through again (a stale retry of the reconciler's last
 * write, from before the tombstone): the object of the deleted incarnation is created anew on a
 * site that had already stored its tombstone.
 */
export function replayingApp(on: string, delayMs: number): SiteHooks {
  return {
    localApp: (app: LocalApp, context: SiteHookContext): LocalApp => {
      if (context.site !== on) return app;
      const written = new Map<string, { apiVersion?: string; kind?: string; metadata?: Record<string, unknown>; data?: unknown }>();
      return wrapLocalApp(app, async (request) => {
          if (!fromReconciler(request)) return app.fetch(request);
          const url = new URL(request.url);
          const answer = await app.fetch(request);
          if (!answer.ok) return answer;
          if (request.method !== 'DELETE') {
            const object = (await answer.clone().json()) as { apiVersion?: string; kind?: string; metadata?: Record<string, unknown>; data?: unknown };
            const name = object.metadata?.name;
            if (typeof name === 'string') written.set(request.method === 'POST' ? `${url.pathname}/${name}` : url.pathname, object);
            return answer;
          }
          const object = written.get(url.pathname);
          if (object?.metadata !== undefined) {
            const { name, namespace, labels, annotations } = object.metadata;
            const stale = { apiVersion: object.apiVersion, kind: object.kind, metadata: { name, namespace, labels, annotations }, data: object.data };
            const collection = url.pathname.slice(0, url.pathname.lastIndexOf('/'));
            context.clock.setTimeout(() => {
              const replay = new Request(new URL(collection, url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(stale) });
              app.fetch(replay).catch(() => undefined);
            }, delayMs);
          }
          return answer;
      });
    },
  };
}

/** A transport that also sends every document push to every other connected peer. */
export function leakingTransport(on: string): SiteHooks {
  return {
    transport: (transport: Transport, context: SiteHookContext): Transport => {
      if (context.site !== on) return transport;
      return {
        peerId: transport.peerId,
        addresses: () => transport.addresses(),
        start: () => transport.start(),
        stop: () => transport.stop(),
        dial: (address, signal) => transport.dial(address, signal),
        hangUp: (peer) => transport.hangUp(peer),
        connectedPeers: () => transport.connectedPeers(),
        subscribe: (topic) => transport.subscribe(topic),
        unsubscribe: (topic) => transport.unsubscribe(topic),
        publish: (topic, data) => transport.publish(topic, data),
        on: (event, listener) => transport.on(event, listener),
        off: (event, listener) => transport.off(event, listener),
        send: (peer, channel, data, signal) => {
          if (channel === pushChannel) {
            for (const other of transport.connectedPeers()) if (other !== peer) transport.send(other, channel, data).catch(() => undefined);
          }
          return transport.send(peer, channel, data, signal);
        },
      };
    },
  };
}

/**
 * An application that hides the owner of the pods a client labels: the node then takes a
 * deployment's pod for an object of its own, and replicates it (composition broken).
 */
export function ownerHidingApp(on: string): SiteHooks {
  return {
    localApp: (app: LocalApp, context: SiteHookContext): LocalApp =>
      context.site !== on ? app : wrapLocalApp(app, async (request) => {
          const answer = await app.fetch(request);
          if (request.method !== 'PATCH' || !new URL(request.url).pathname.includes('/pods/') || !answer.ok) return answer;
          const object = (await answer.json()) as { metadata?: Record<string, unknown> };
          delete object.metadata?.['ownerReferences'];
          return json(answer.status, object);
      }),
  };
}

/** An application that takes `delayMs` over every write of the reconciler. */
export function slowApp(on: string, delayMs: number): SiteHooks {
  return {
    localApp: (app: LocalApp, context: SiteHookContext): LocalApp =>
      context.site !== on ? app : wrapLocalApp(app, async (request) => {
          if (fromReconciler(request)) await new Promise<void>((resolve) => context.clock.setTimeout(resolve, delayMs));
          return app.fetch(request);
      }),
  };
}

/** A proxy in front of `on` that drops `X-Cheops-Scope` from reads, as a proxy that strips headers it does not know would. */
export function scopeStrippingProxy(on: string): SiteHooks {
  return {
    front: (front, context) =>
      context.site !== on ? front : (request) => {
          if (request.method !== 'GET') return front(request);
          const headers = new Headers(request.headers);
          headers.delete('x-cheops-scope');
          return front(new Request(request.url, { headers }));
      },
  };
}

/**
 * A proxy in front of `on` that sends every scoped read to `to` (its scope made `{to}`), though
 * `on` is a member holding the object: a member's read that waits on another site.
 */
export function readElsewhereProxy(on: string, to: string): SiteHooks {
  return {
    front: (front, context) =>
      context.site !== on ? front : (request) => {
          if (request.method !== 'GET' || !request.headers.has('x-cheops-scope')) return front(request);
          const headers = new Headers(request.headers);
          headers.set('x-cheops-scope', `{${to}}`);
          return front(new Request(request.url, { headers }));
      },
  };
}

/** A proxy in front of `on` that answers every read 503 itself, its application serving all along. */
export function unavailableProxy(on: string): SiteHooks {
  return {
    front: (front, context) =>
      context.site !== on ? front : (request) => {
          if (request.method !== 'GET') return front(request);
          const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'ServiceUnavailable', code: 503 };
          return Promise.resolve(new Response(JSON.stringify(status), { status: 503, headers: { 'content-type': 'application/json' } }));
      },
  };
}

/**
 * A proxy in front of `on` that drops the `secrets: …` binding from the scope of pod creates
 * (`{pods: Site1, secrets: Site2}` becomes `{pods: Site1}`): the pod is made without its secret
 * being shared.
 */
export function sharingStrippingProxy(on: string): SiteHooks {
  return {
    front: (front, context) =>
      context.site !== on ? front : async (request) => {
          const scope = request.headers.get('x-cheops-scope');
          if (request.method !== 'POST' || !new URL(request.url).pathname.endsWith('/pods') || scope === null) return front(request);
          const headers = new Headers(request.headers);
          headers.set('x-cheops-scope', scope.replace(/,\s*secrets:\s*[^,}]+/, ''));
          return front(new Request(request.url, { method: request.method, headers, body: await request.text() }));
      },
  };
}

/** A proxy in front of `on` that forces every delete of a secret (`?gracePeriodSeconds=0`, as `kubectl delete --force --grace-period=0`). */
export function forcingProxy(on: string): SiteHooks {
  return {
    front: (front, context) =>
      context.site !== on ? front : async (request) => {
          const url = new URL(request.url);
          if (request.method !== 'DELETE' || !/\/secrets\/[^/]+$/.test(url.pathname)) return front(request);
          url.searchParams.set('gracePeriodSeconds', '0');
          return front(new Request(url, { method: request.method, headers: request.headers, body: await request.text() }));
      },
  };
}

/** Links from `on` to the other sites that send a read of the object `from` to the object `to` (a proxy that mixes up paths). */
export function misroutingLinks(on: string, from: string, to: string): SiteHooks {
  return {
    remoteFetch: (remote, context) =>
      context.site !== on ? remote : (request, signal) => {
          const url = new URL(request.url);
          if (request.method !== 'GET' || !url.pathname.endsWith(`/${from}`)) return remote(request, signal);
          url.pathname = `${url.pathname.slice(0, -from.length)}${to}`;
          return remote(new Request(url, { headers: request.headers }), signal);
      },
  };
}

/**
 * An application on `on` in which, `delayMs` after the cross namespace `namespace` is made there,
 * something other than Cheops makes the config map `name` in it (an operator writing to the
 * cluster directly): the name is then held by two members with one claim.
 */
export function bypassingApp(on: string, namespace: string, name: string, delayMs: number): SiteHooks {
  return {
    localApp: (app: LocalApp, context: SiteHookContext): LocalApp =>
      context.site !== on ? app : wrapLocalApp(app, async (request) => {
          const answer = await app.fetch(request);
          const url = new URL(request.url);
          if (request.method === 'POST' && url.pathname === '/api/v1/namespaces' && answer.status === 201) {
            context.clock.setTimeout(() => {
              const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, annotations: { [opMarkerAnnotation]: 'bypass' } }, data: {} };
              const direct = new Request(new URL(`/api/v1/namespaces/${namespace}/configmaps`, url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
              app.fetch(direct).catch(() => undefined);
            }, delayMs);
          }
          return answer;
      }),
  };
}

/** What a script may use. */
export interface Script {
  readonly sim: Simulation;
  readonly keys: KeySpace;
  /** Sends a call and runs the clock until it is answered. */
  readonly send: (site: string, key: WorkloadKey, build: (opId: string) => KubectlCall) => Promise<OpRecord>;
  /** Reads a key at a site, with its scope when `scoped`, and runs the clock until it is answered. */
  readonly read: (site: string, key: WorkloadKey, scoped: boolean) => Promise<ReadRecord>;
}

/** A configmap key on `sites`. */
export function configMap(name: string, sites: readonly string[]): WorkloadKey {
  return workloadKey('configmaps', name, 'replicated', sites.map(asSiteName));
}

/**
 * Runs `script` on three sites with `hooks`, then heals everything, restarts what is down,
 * settles (at most 60 s) and answers every checker's result, by name.
 */
export async function scriptedRun(
  seed: string,
  hooks: SiteHooks,
  keys: readonly WorkloadKey[],
  script: (run: Script) => Promise<void>,
): Promise<Map<CheckerName, CheckerResult>> {
  const sim = await startSimulation({ seed, sites: 3, hooks });
  try {
    if (!(await meshed(sim))) throw new Error('the sites did not mesh');
    const keySpace = new KeySpace(keys.filter((key) => key.kind !== 'container'), keys.filter((key) => key.kind === 'container'));
    await setUpContainers(sim, keySpace);
    const history = new History();
    const client = new KubectlClient(sim, history);
    const reader = new ReadClient(sim, history);
    const monitor = new ScopeMonitor(sim, keySpace);
    await script({
      sim,
      keys: keySpace,
      send: (site, key, build) => sim.perform(() => client.send(asSiteName(site), key, build).done),
      read: (site, key, scoped) => sim.perform(() => reader.read(asSiteName(site), key, scoped)),
    });
    sim.heal();
    for (const site of sim.sites) if (site.state === 'down') await sim.restart(site.name);
    const healedAtMs = sim.clock.elapsedMs();
    const settledAtMs = await settle(sim, keySpace, 60_000);
    const { results } = await checkRun(sim, { keys: keySpace, history, monitor, healedAtMs, settledAtMs, boundMs: 15_000 });
    return new Map(results.map((result) => [result.name, result]));
  } finally {
    sim.stop();
  }
}
