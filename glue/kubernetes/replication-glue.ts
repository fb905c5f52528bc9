/**
 * The Kubernetes implementation of `ReplicationGlue` (glue/types.ts): what replication needs to
 * know of the Kubernetes API, so that the node itself stays generic.
 */
import type { ResourceKey } from '../../core/ids.js';
import { isJsonObject, stringIn, type JsonObject } from '../json.js';
import type { Dependency, GlueCall, GlueObjectRequest, GlueRequest, GlueWriteCall, ObjectOperation, ReplicationGlue } from '../types.js';
import type { KubernetesResourceCall } from './call.js';
import { classifyKubernetesRequest, deleteOptionsDryRun, isValidPathSegmentName } from './classify.js';
import { findBuiltinPlural } from './builtin-resources.js';
import { isOwnedChild, listKubernetesDependencies } from './dependencies.js';
import { mergeSiteLocalFields, stripSiteLocalFields, takeScopeAnnotation } from './local-fields.js';
import { memberTarget, memberWatchEvent, mergeKubernetesLists } from './list-merge.js';
import { kubernetesApp, kubernetesServiceName, objectName, resourceKeyOfCall, splitApiVersion } from './resource-key.js';

const writeVerbs = { create: 'create', update: 'update', patch: 'patch', delete: 'delete' } as const;

/** What a replicated delete asks of each site: children go too, in the background, as kubectl asks, unless the delete asked otherwise. */
const deleteOptions: JsonObject = { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' };

/** The propagation policies of the Kubernetes API (metav1.DeletionPropagation). */
const propagationPolicies = new Set(['Orphan', 'Background', 'Foreground']);

function classifyResource(call: KubernetesResourceCall): GlueCall {
  const service = kubernetesServiceName(call.group, call.resource);
  const other = { kind: 'other', service, ...(call.namespace === undefined ? {} : { namespace: call.namespace }) } as const;
  // A dry run changes nothing, and a subresource (status, log, exec) is the site's own business;
  // but a scale (`kubectl scale`) changes the object's spec, which every site of it must share.
  if (call.dryRun) return other;
  if (call.subresource !== undefined) return call.subresource === 'scale' ? scaleWrite(call, other) : other;
  const key = resourceKeyOfCall(call);
  if (call.verb === 'get') return key === undefined ? other : { kind: 'read', service, key };
  if (call.verb === 'list') return { ...other, list: true };
  if (call.verb === 'watch') return { ...other, watch: true };
  if (!(call.verb in writeVerbs)) return other;
  const op = writeVerbs[call.verb as keyof typeof writeVerbs];
  if (op !== 'create' && key === undefined) return other;
  return {
    kind: 'write',
    op,
    service,
    ...(call.namespace === undefined ? {} : { namespace: call.namespace }),
    ...(op === 'create' || key === undefined ? {} : { key }),
  };
}

/** A write of an object's `scale`: a write of the object, read back whole after it. */
function scaleWrite(call: KubernetesResourceCall, other: GlueCall): GlueCall {
  const key = resourceKeyOfCall(call);
  if (key === undefined || (call.verb !== 'update' && call.verb !== 'patch') || call.subpath !== undefined) return other;
  const path = call.path.endsWith('/scale') ? call.path.slice(0, -'/scale'.length) : undefined;
  if (path === undefined) return other;
  return { kind: 'write', op: call.verb, service: key.service, ...(call.namespace === undefined ? {} : { namespace: call.namespace }), key, readBack: path };
}

/** The plural of a service name (`pods`; `certificates` of `certificates.cert-manager.io`). */
function pluralOf(service: string): string {
  const dot = service.indexOf('.');
  return dot === -1 ? service : service.slice(0, dot);
}

/** Lower-case DNS-1123 subdomain (groups, plurals) and label (namespaces), as the API server checks them. */
const dnsSubdomain = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const versionPattern = /^v[0-9]+((alpha|beta)[0-9]+)?$/;

/**
 * Whether a desired state can name a path of the application: the key and the body come from
 * peers, and a group of `..` or a name with a `/` must not reach some other endpoint.
 */
function safeTarget(key: ResourceKey, body: JsonObject, group: string, version: string): boolean {
  const name = objectName(body);
  const namespace = stringIn(body, ['metadata', 'namespace']);
  return (
    (group === '' || (dnsSubdomain.test(group) && group.length <= 253)) &&
    versionPattern.test(version) &&
    dnsSubdomain.test(pluralOf(key.service)) &&
    (key.namespace === undefined || (dnsLabel.test(key.namespace) && key.namespace.length <= 63)) &&
    isValidPathSegmentName(key.name) && key.name !== '' &&
    // The body must describe the object the key names, or a create would make another one.
    (name === undefined || name === key.name) &&
    (namespace === undefined || namespace === key.namespace)
  );
}

/** `/api/v1/namespaces/default/pods` and `…/pods/purple` for `key`, at the body's API version. */
function objectPaths(key: ResourceKey, body: JsonObject): { collection: string; object: string } | undefined {
  const apiVersion = stringIn(body, ['apiVersion']);
  if (apiVersion === undefined) return undefined;
  const { group, version } = splitApiVersion(apiVersion);
  if (!safeTarget(key, body, group, version)) return undefined;
  const root = group === '' ? `/api/${encodeURIComponent(version)}` : `/apis/${encodeURIComponent(group)}/${encodeURIComponent(version)}`;
  const namespace = key.namespace === undefined ? '' : `/namespaces/${encodeURIComponent(key.namespace)}`;
  const collection = `${root}${namespace}/${encodeURIComponent(pluralOf(key.service))}`;
  return { collection, object: `${collection}/${encodeURIComponent(key.name)}` };
}

/** Replication's view of the Kubernetes API. */
export const kubernetesReplicationGlue: ReplicationGlue = {
  app: kubernetesApp,
  readinessPath: '/readyz',

  classify(request: GlueRequest): GlueCall {
    const call = classifyKubernetesRequest({
      method: request.method,
      path: request.path,
      query: request.query,
      contentType: request.contentType,
    });
    return call.kind === 'resource' ? classifyResource(call) : { kind: 'other' };
  },

  spansSites: (service: string): boolean => service === 'namespaces',

  containerKey: (name: string): ResourceKey => ({ app: kubernetesApp, service: 'namespaces', name }),

  dependencies: (object: unknown, call: GlueWriteCall): readonly Dependency[] => listKubernetesDependencies(object, { service: call.service, namespace: call.namespace }),

  deletePropagation(query: string, body: unknown): string | undefined {
    const fromBody = isJsonObject(body) ? body.propagationPolicy : undefined;
    const asked = typeof fromBody === 'string' ? fromBody : (new URLSearchParams(query).get('propagationPolicy') ?? undefined);
    if (asked !== undefined) return propagationPolicies.has(asked) ? asked : undefined;
    // The older form (kubectl before 1.20, and clients still): orphanDependents.
    const orphan = isJsonObject(body) ? body.orphanDependents : new URLSearchParams(query).get('orphanDependents');
    return orphan === true || orphan === 'true' ? 'Orphan' : undefined;
  },

  forcedDelete(query: string, body: unknown): boolean {
    // `kubectl delete --force --grace-period=0` sends DeleteOptions with gracePeriodSeconds 0.
    return new URLSearchParams(query).get('gracePeriodSeconds') === '0' || (isJsonObject(body) && body.gracePeriodSeconds === 0);
  },

  readPath(key: ResourceKey): string | undefined {
    // Only the core group's resources are known without a body to tell their version: v1.
    const builtin = findBuiltinPlural(pluralOf(key.service));
    if (builtin === undefined || builtin.group !== '' || key.service !== builtin.plural) return undefined;
    return objectPaths(key, { apiVersion: 'v1' })?.object;
  },

  memberTarget,

  mergeLists: mergeKubernetesLists,

  watchEvent: memberWatchEvent,

  isScopeFree(method: string, path: string): boolean {
    if (method !== 'GET' && method !== 'HEAD') return false;
    const kind = classifyKubernetesRequest({ method, path }).kind;
    return kind === 'discovery' || kind === 'version' || kind === 'openapi' || kind === 'health';
  },

  keyOfObject(object: unknown, call: GlueWriteCall): ResourceKey | undefined {
    if (call.key !== undefined) return call.key;
    const name = objectName(object);
    if (name === undefined) return undefined;
    // The path's namespace and service, not the body's guesses: the key must be the one later
    // requests on the object's own path give (resourceKeyOfCall).
    return call.namespace === undefined
      ? { app: kubernetesApp, service: call.service, name }
      : { app: kubernetesApp, service: call.service, namespace: call.namespace, name };
  },

  isDryRunBody: deleteOptionsDryRun,

  dryRunTarget(target: string): string {
    const question = target.indexOf('?');
    const query = new URLSearchParams(question === -1 ? '' : target.slice(question + 1));
    query.set('dryRun', 'All');
    return `${question === -1 ? target : target.slice(0, question)}?${query.toString()}`;
  },

  canonical(object: JsonObject, key: ResourceKey): JsonObject {
    return stripSiteLocalFields(object, pluralOf(key.service));
  },

  merge(desired: JsonObject, local: JsonObject, key: ResourceKey): JsonObject {
    return mergeSiteLocalFields(desired, local, pluralOf(key.service));
  },

  isOwnedChild,

  isTerminating(object: unknown): boolean {
    return stringIn(object, ['metadata', 'deletionTimestamp']) !== undefined;
  },

  localId(object: unknown): string | undefined {
    return stringIn(object, ['metadata', 'uid']);
  },

  objectRequest(operation: ObjectOperation, key: ResourceKey, body: JsonObject, propagation?: string): GlueObjectRequest | undefined {
    const paths = objectPaths(key, body);
    if (paths === undefined) return undefined;
    switch (operation) {
      case 'get':
        return { method: 'GET', path: paths.object };
      case 'create':
        return { method: 'POST', path: paths.collection, body };
      case 'replace':
        return { method: 'PUT', path: paths.object, body };
      case 'delete': {
        // A body that names its uid (an object as the application answered it, not a desired
        // state) deletes that object only, never another made since under the name.
        const uid = stringIn(body, ['metadata', 'uid']);
        // From a peer's tombstone: only a policy the API knows.
        const policy = propagation !== undefined && propagationPolicies.has(propagation) ? { propagationPolicy: propagation } : {};
        return { method: 'DELETE', path: paths.object, body: { ...deleteOptions, ...policy, ...(uid === undefined ? {} : { preconditions: { uid } }) } };
      }
    }
  },

  takeScope: takeScopeAnnotation,

  errorMessage(status: number, body: unknown): string {
    const message = isJsonObject(body) ? body.message : undefined;
    return typeof message === 'string' && message !== '' ? message : `the application answered HTTP ${status}`;
  },
};
