/**
 * Requests as kubectl 1.32 sends them to a site's front, with JSON bodies: `kubectl create -f`,
 * `kubectl replace -f`, `kubectl label --overwrite` (a merge patch), `kubectl patch` (a strategic
 * merge patch, kubectl's default) and `kubectl delete` (a DELETE with a propagation policy body).
 * The scope rides in `X-Cheops-Scope`, as `cheops kubectl --scope` sends it. Every body that
 * writes an object carries the operation's id in the `sim.cheops.io/op` annotation, so that any
 * copy of the object, on any site, says which write it came from.
 */
import { opMarkerAnnotation } from '../harness/app-log.js';

/**
 * The kinds of resources the workload writes (namespaces: the cross namespaces a run sets up;
 * deployments: replicated parents whose replica sets and pods each site's controllers make).
 */
export type WorkloadResource = 'configmaps' | 'secrets' | 'pods' | 'deployments' | 'namespaces';

/** An object the workload names (a namespace's own `namespace` is `''`). */
export interface ObjectRef {
  readonly resource: WorkloadResource;
  readonly namespace: string;
  readonly name: string;
}

/** What kubectl command a request stands for. */
export type KubectlVerb = 'create' | 'replace' | 'label' | 'patch' | 'delete';

/** One request, before it becomes a web Request (kept for the history and replays). */
export interface KubectlCall {
  readonly verb: KubectlVerb;
  readonly method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path and query. */
  readonly url: string;
  readonly contentType: string;
  readonly body: Readonly<Record<string, unknown>>;
  readonly scope: string | undefined;
  /** `X-Cheops-Wait: all` with this timeout, when set. */
  readonly waitAllMs: number | undefined;
}

/** The user agent kubectl sends; the application log tells client writes from the node's by it. */
export const kubectlUserAgent = 'kubectl/v1.32.4 (linux/amd64) kubernetes/59526cd';

const kinds: Readonly<Record<WorkloadResource, string>> = { configmaps: 'ConfigMap', secrets: 'Secret', pods: 'Pod', deployments: 'Deployment', namespaces: 'Namespace' };

/** The API group and version of `resource`'s objects, as in their paths and `apiVersion`. */
export function groupVersionOf(resource: WorkloadResource): string {
  return resource === 'deployments' ? 'apps/v1' : 'v1';
}

function collectionPath(ref: ObjectRef): string {
  if (ref.resource === 'namespaces') return '/api/v1/namespaces';
  const root = groupVersionOf(ref.resource) === 'v1' ? '/api/v1' : `/apis/${groupVersionOf(ref.resource)}`;
  return `${root}/namespaces/${ref.namespace}/${ref.resource}`;
}

function objectPath(ref: ObjectRef): string {
  return `${collectionPath(ref)}/${ref.name}`;
}

/** The body of a whole object: what `create -f` and `replace -f` send. */
export function objectBody(ref: ObjectRef, opId: string, content: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): Record<string, unknown> {
  const metadata = { name: ref.name, ...(ref.resource === 'namespaces' ? {} : { namespace: ref.namespace }), labels: { ...labels }, annotations: { [opMarkerAnnotation]: opId } };
  const base = { apiVersion: groupVersionOf(ref.resource), kind: kinds[ref.resource], metadata };
  switch (ref.resource) {
    case 'namespaces':
      return base;
    case 'configmaps':
      return { ...base, data: { ...content } };
    case 'secrets':
      return { ...base, type: 'Opaque', stringData: { ...content } };
    case 'pods':
      return {
        ...base,
        spec: { containers: [{ name: 'main', image: `registry.sim/app:${Object.values(content)[0] ?? 'v1'}` }], restartPolicy: 'Always' },
      };
    case 'deployments': {
      const selected = { 'sim.cheops.io/deployment': ref.name };
      return {
        ...base,
        spec: {
          // One or two pods, by the content's digits: a replace may scale it.
          replicas: 1 + (Number(/\d+/.exec(Object.values(content)[0] ?? '')?.[0] ?? 0) % 2),
          selector: { matchLabels: selected },
          template: { metadata: { labels: selected }, spec: { containers: [{ name: 'main', image: `registry.sim/app:${Object.values(content)[0] ?? 'v1'}` }] } },
        },
      };
    }
  }
}

/**
 * A pod relying on the secret `secretName` (DESIGN.md §8): through an env var's `secretKeyRef`,
 * or a secret volume. Neither is optional: the pod needs the secret wherever it runs.
 */
export function podUsingSecretBody(ref: ObjectRef, opId: string, secretName: string, via: 'env' | 'volume'): Record<string, unknown> {
  const base = objectBody(ref, opId, {}, { app: 'sim' });
  const main = { name: 'main', image: 'registry.sim/app:v1' };
  const spec =
    via === 'env'
      ? { containers: [{ ...main, env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: secretName, key: 'k0' } } }] }], restartPolicy: 'Always' }
      : { containers: [{ ...main, volumeMounts: [{ name: 'creds', mountPath: '/creds', readOnly: true }] }], volumes: [{ name: 'creds', secret: { secretName } }], restartPolicy: 'Always' };
  return { ...base, spec };
}

export interface CallOptions {
  readonly scope?: string | undefined;
  readonly waitAllMs?: number | undefined;
}

function call(verb: KubectlVerb, method: KubectlCall['method'], url: string, contentType: string, body: Record<string, unknown>, options: CallOptions): KubectlCall {
  return { verb, method, url, contentType, body, scope: options.scope, waitAllMs: options.waitAllMs };
}

/** `kubectl create -f object.json` */
export function createCall(ref: ObjectRef, body: Record<string, unknown>, options: CallOptions = {}): KubectlCall {
  return call('create', 'POST', `${collectionPath(ref)}?fieldManager=kubectl-create&fieldValidation=Strict`, 'application/json', body, options);
}

/** `kubectl replace -f object.json` (no resourceVersion: an unconditional update). */
export function replaceCall(ref: ObjectRef, body: Record<string, unknown>, options: CallOptions = {}): KubectlCall {
  return call('replace', 'PUT', `${objectPath(ref)}?fieldManager=kubectl-replace&fieldValidation=Strict`, 'application/json', body, options);
}

/** `kubectl label --overwrite <ref> key=value` (and the op's marker, as `kubectl annotate` would add). */
export function labelCall(ref: ObjectRef, opId: string, label: readonly [string, string], options: CallOptions = {}): KubectlCall {
  const body = { metadata: { labels: { [label[0]]: label[1] }, annotations: { [opMarkerAnnotation]: opId } } };
  return call('label', 'PATCH', `${objectPath(ref)}?fieldManager=kubectl-label`, 'application/merge-patch+json', body, options);
}

/**
 * `kubectl patch <ref> -p '{"data":{...}}'`: a strategic merge patch. A deployment gets a new image
 * (a rollout: a new replica set on every site); pods get a label instead (their spec is immutable).
 */
export function patchCall(ref: ObjectRef, opId: string, content: Readonly<Record<string, string>>, options: CallOptions = {}): KubectlCall {
  const annotations = { [opMarkerAnnotation]: opId };
  const body =
    ref.resource === 'configmaps'
      ? { metadata: { annotations }, data: { ...content } }
      : ref.resource === 'secrets'
        ? { metadata: { annotations }, stringData: { ...content } }
        : ref.resource === 'deployments'
          ? { metadata: { annotations }, spec: { template: { spec: { containers: [{ name: 'main', image: `registry.sim/app:${Object.values(content)[0] ?? 'v1'}` }] } } } }
          : { metadata: { annotations, labels: { ...content } } };
  return call('patch', 'PATCH', `${objectPath(ref)}?fieldManager=kubectl-patch`, 'application/strategic-merge-patch+json', body, options);
}

/** `kubectl delete <ref>` */
export function deleteCall(ref: ObjectRef, options: CallOptions = {}): KubectlCall {
  return call('delete', 'DELETE', objectPath(ref), 'application/json', { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' }, options);
}

/** The web Request of a call, sent to the front of the site whose URL is `base`. */
export function toRequest(base: string, kubectl: KubectlCall): Request {
  const headers = new Headers({
    accept: 'application/json',
    'content-type': kubectl.contentType,
    'user-agent': kubectlUserAgent,
  });
  if (kubectl.scope !== undefined) headers.set('x-cheops-scope', kubectl.scope);
  if (kubectl.waitAllMs !== undefined) {
    headers.set('x-cheops-wait', 'all');
    headers.set('x-cheops-wait-timeout', `${kubectl.waitAllMs}ms`);
  }
  return new Request(new URL(kubectl.url, base), { method: kubectl.method, headers, body: JSON.stringify(kubectl.body) });
}

/** `kubectl get <ref> -o json`, with the scope `cheops kubectl --scope` would carry. */
export interface ReadCall {
  readonly url: string;
  readonly scope: string | undefined;
}

/** `kubectl get <ref> -o json [--scope …]` */
export function getCall(ref: ObjectRef, scope: string | undefined): ReadCall {
  return { url: objectPath(ref), scope };
}

/** The web Request of a read, sent to the front of the site whose URL is `base`. */
export function toReadRequest(base: string, read: ReadCall): Request {
  const headers = new Headers({ accept: 'application/json', 'user-agent': kubectlUserAgent });
  if (read.scope !== undefined) headers.set('x-cheops-scope', read.scope);
  return new Request(new URL(read.url, base), { headers });
}
