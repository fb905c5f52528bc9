/**
 * Splits a resource URL into group, version, namespace, resource, name and subresource, as the API
 * server's RequestInfoFactory does (`/api/v1/namespaces/ns/pods/name/status`,
 * `/apis/apps/v1/watch/namespaces/ns/deployments`, `/api/v1/namespaces/name/finalize`).
 */
import { methodNotAllowed, pathNotFound } from '../errors.js';
import { findResource, type ResourceType, type SubresourceType } from '../resources.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ResourceRequest {
  readonly type: ResourceType;
  /** '' for cluster-scoped resources and for lists across all namespaces. */
  readonly namespace: string;
  readonly name?: string;
  readonly subresource?: string;
  readonly verb: Verb;
}

/** Subresources of pods the stand-in answers without storing anything (`kubectl logs`). */
export const podStreamSubresources = new Set(['log', 'exec', 'attach', 'portforward', 'proxy', 'eviction', 'binding', 'ephemeralcontainers', 'resize']);

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw pathNotFound();
  }
}

function verbOf(method: string, hasName: boolean, watch: boolean): Verb | undefined {
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (watch) return 'watch';
      return hasName ? 'get' : 'list';
    case 'POST':
      return hasName ? undefined : 'create';
    case 'PUT':
      return hasName ? 'update' : undefined;
    case 'PATCH':
      return hasName ? 'patch' : undefined;
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

/**
 * The resource request a path names, or undefined when the path is not under /api or /apis.
 * Throws 404 for unknown resources and 405 for verbs a resource does not support.
 */
export function parseResourceRequest(method: string, pathname: string, watchParameter: boolean): ResourceRequest | undefined {
  const segments = pathname.split('/').filter((segment) => segment !== '').map(decode);
  let group: string;
  let rest: string[];
  if (segments[0] === 'api' && segments.length >= 3) {
    group = '';
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    group = segments[1] ?? '';
    rest = segments.slice(3);
  } else {
    return undefined;
  }
  const version = segments[0] === 'api' ? (segments[1] ?? '') : (segments[2] ?? '');
  const watchPath = rest[0] === 'watch';
  if (watchPath) rest = rest.slice(1);
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 2 && rest[2] !== 'status' && rest[2] !== 'finalize') {
    namespace = rest[1] ?? '';
    rest = rest.slice(2);
  }
  const [plural = '', name, subresource, ...extra] = rest;
  const type = findResource(group, version, plural);
  if (type === undefined || extra.length > 0) throw pathNotFound();
  if (type.namespaced === false && namespace !== '') throw pathNotFound();
  const verb = verbOf(method, name !== undefined, watchPath || (watchParameter && method === 'GET'));
  if (verb === undefined) throw methodNotAllowed(type);
  if (type.namespaced && namespace === '' && name !== undefined) throw pathNotFound();
  if (type.namespaced && namespace === '' && verb !== 'list' && verb !== 'watch') throw methodNotAllowed(type);
  if (subresource !== undefined) return subresourceRequest(type, namespace, name ?? '', subresource, verb);
  if (!type.verbs.includes(verb)) throw methodNotAllowed(type);
  return { type, namespace, ...(name === undefined ? {} : { name }), verb };
}

function subresourceRequest(type: ResourceType, namespace: string, name: string, subresource: string, verb: Verb): ResourceRequest {
  if (type.plural === 'pods' && podStreamSubresources.has(subresource)) return { type, namespace, name, subresource, verb };
  const sub: SubresourceType | undefined = type.subresources.find((candidate) => candidate.name === subresource);
  if (sub === undefined) throw pathNotFound();
  if (!sub.verbs.includes(verb)) throw methodNotAllowed(type);
  return { type, namespace, name, subresource, verb };
}
