/**
 * Classifies an intercepted Kubernetes API request: which verb on which resource, or which
 * non-resource endpoint (discovery, version, OpenAPI, health). Verbs follow the API server's own
 * resolver (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go, 1.32), so Cheops sees a request
 * exactly as the application's authorisation and audit do. Pure: no I/O, never throws.
 */
import { parseFieldSelector, requiredFieldValue } from './field-selector.js';
import { classifyNonResourcePath } from './classify-non-resource.js';
import type {
  KubernetesCall, KubernetesInvalidCall, KubernetesPatchType, KubernetesRequest, KubernetesResourceCall,
  KubernetesVerb,
} from './call.js';

export type * from './call.js';

/** Path words that put the verb in the path (`/api/v1/watch/pods`); `proxy` takes no subresource. */
const pathVerbs = new Set(['watch', 'proxy']);
/** The words after `/namespaces/{name}` that are subresources of the namespace, not resources in it. */
const namespaceSubresources = new Set(['status', 'finalize']);
/** What the API server holds open (its default `LongRunningRequestCheck`). */
const longRunningVerbs = new Set<KubernetesVerb>(['watch', 'proxy']);
const longRunningSubresources = new Set(['attach', 'exec', 'proxy', 'log', 'portforward']);

const methodVerbs: Readonly<Record<string, KubernetesVerb>> = {
  GET: 'get', HEAD: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete',
};

const patchTypes: Readonly<Record<string, KubernetesPatchType>> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic-merge',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
};

/** DNS-1123 label: a namespace name. */
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Lower-case DNS-1123 subdomain: groups, versions, resource plurals and subresources. */
const dnsSubdomain = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** What the API server accepts as an object name in a path (`path.IsValidPathSegmentName`). */
export function isValidPathSegmentName(name: string): boolean {
  return name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
}

function invalid(method: string, path: string, reason: KubernetesInvalidCall['reason'], message: string): KubernetesInvalidCall {
  return { kind: 'invalid', method, path, reason, message };
}

/** Splits `path?query` and decodes each path segment; undefined segments when one cannot be decoded. */
function splitRequest(request: KubernetesRequest): { path: string; query: URLSearchParams; segments: string[] | undefined } {
  const mark = request.path.indexOf('?');
  const path = mark === -1 ? request.path : request.path.slice(0, mark);
  const rawQuery = request.query ?? (mark === -1 ? '' : request.path.slice(mark + 1));
  const query = typeof rawQuery === 'string' ? new URLSearchParams(rawQuery) : rawQuery;
  // As Go's splitPath: leading and trailing slashes go; an empty segment inside stays (and is refused).
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  try {
    return { path, query, segments: trimmed === '' ? [] : trimmed.split('/').map(decodeURIComponent) };
  } catch {
    return { path, query, segments: undefined };
  }
}

/**
 * Classifies one request. Resource paths are `/api/{version}/…` (the core group) and
 * `/apis/{group}/{version}/…`; anything shorter under those prefixes is discovery.
 */
export function classifyKubernetesRequest(request: KubernetesRequest): KubernetesCall {
  const method = request.method.toUpperCase();
  const { path, query, segments } = splitRequest(request);
  if (segments === undefined) {
    const apiPath = /^\/*apis?(\/|$)/.test(path);
    return apiPath ? invalid(method, path, 'malformed-path', 'the path has an invalid percent-encoding') : { kind: 'other', method, path };
  }
  const prefix = segments[0];
  if (prefix !== 'api' && prefix !== 'apis') return classifyNonResourcePath(method, path, segments);
  const groupless = prefix === 'api';
  if (segments.length < (groupless ? 3 : 4)) return classifyDiscovery(method, path, segments);
  if (segments.some((segment) => segment === '')) return invalid(method, path, 'malformed-path', 'the path has an empty segment');
  const group = groupless ? '' : (segments[1] ?? '');
  const version = segments[groupless ? 1 : 2] ?? '';
  if (!groupless && !dnsSubdomain.test(group)) return invalid(method, path, 'malformed-path', `invalid API group ${JSON.stringify(group)}`);
  if (!dnsSubdomain.test(version)) return invalid(method, path, 'malformed-path', `invalid API version ${JSON.stringify(version)}`);
  return classifyResource({ method, path, query, contentType: request.contentType, group, version, parts: segments.slice(groupless ? 2 : 3) });
}

function classifyDiscovery(method: string, path: string, segments: readonly string[]): KubernetesCall {
  const bad = segments.slice(1).find((segment) => !dnsSubdomain.test(segment));
  if (bad !== undefined) return invalid(method, path, 'malformed-path', `invalid API group or version ${JSON.stringify(bad)}`);
  const legacy = segments[0] === 'api';
  const group = legacy ? (segments.length > 1 ? '' : undefined) : segments[1];
  const version = segments[legacy ? 1 : 2];
  return {
    kind: 'discovery', method, path, legacy,
    ...(group === undefined ? {} : { group }),
    ...(version === undefined ? {} : { version }),
  };
}

interface ResourceInput {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly contentType: string | undefined;
  readonly group: string;
  readonly version: string;
  /** The segments after the version. */
  readonly parts: readonly string[];
}

interface ResourceParts {
  readonly pathVerb: 'watch' | 'proxy' | undefined;
  readonly namespace: string | undefined;
  readonly resource: string;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
  readonly subpath: readonly string[];
}

/** Splits `[verb/][namespaces/{ns}/]{resource}[/{name}[/{subresource}[/…]]]`, as NewRequestInfo does. */
function splitResourceParts(parts: readonly string[]): ResourceParts | string {
  let rest = [...parts];
  let pathVerb: ResourceParts['pathVerb'];
  if (pathVerbs.has(rest[0] ?? '')) {
    if (rest.length < 2) return `nothing after /${rest[0] ?? ''}`;
    pathVerb = rest[0] === 'watch' ? 'watch' : 'proxy';
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !namespaceSubresources.has(rest[2] ?? '')) rest = rest.slice(2);
  }
  const [resource = '', name] = rest;
  // The deprecated `proxy` path verb takes everything after the name as the proxied path.
  const subresource = pathVerb === 'proxy' ? undefined : rest[2];
  const subpath = rest.slice(pathVerb === 'proxy' ? 2 : 3);
  return { pathVerb, namespace, resource, name, subresource, subpath };
}

function validateParts(parts: ResourceParts): { reason: KubernetesInvalidCall['reason']; message: string } | undefined {
  if (!dnsSubdomain.test(parts.resource)) return { reason: 'malformed-path', message: `invalid resource ${JSON.stringify(parts.resource)}` };
  if (parts.subresource !== undefined && !dnsSubdomain.test(parts.subresource)) {
    return { reason: 'malformed-path', message: `invalid subresource ${JSON.stringify(parts.subresource)}` };
  }
  if (parts.namespace !== undefined && (!dnsLabel.test(parts.namespace) || parts.namespace.length > 63)) {
    return { reason: 'invalid-namespace', message: `invalid namespace ${JSON.stringify(parts.namespace)}` };
  }
  if (parts.name !== undefined && !isValidPathSegmentName(parts.name)) {
    return { reason: 'invalid-name', message: `invalid name ${JSON.stringify(parts.name)}` };
  }
  return undefined;
}

/** The first value of `key` as Go's `Convert_Slice_string_To_bool` reads it: only `0` and `false` are false. */
function queryFlag(query: URLSearchParams, key: string): boolean {
  const value = query.get(key);
  return value !== null && value !== '0' && value.toLowerCase() !== 'false';
}

/** `get` with no name becomes `list` or `watch`; a `metadata.name` field selector names the object. */
function resolveCollectionRead(query: URLSearchParams): { verb: 'list' | 'watch'; name: string | undefined } {
  const verb = queryFlag(query, 'watch') ? 'watch' : 'list';
  const selector = parseFieldSelector(query.get('fieldSelector') ?? '');
  const selected = selector.ok ? requiredFieldValue(selector.terms, 'metadata.name') : undefined;
  const name = selected !== undefined && selected !== '' && isValidPathSegmentName(selected) ? selected : undefined;
  return { verb, name };
}

function patchTypeOf(contentType: string | undefined): KubernetesPatchType {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return patchTypes[mediaType] ?? 'unknown';
}

function classifyResource(input: ResourceInput): KubernetesCall {
  const { method, path, query, group, version } = input;
  const parts = splitResourceParts(input.parts);
  if (typeof parts === 'string') return invalid(method, path, 'malformed-path', parts);
  const problem = validateParts(parts);
  if (problem !== undefined) return invalid(method, path, problem.reason, problem.message);
  let verb: KubernetesVerb | undefined = parts.pathVerb ?? methodVerbs[method];
  if (verb === undefined) return invalid(method, path, 'unsupported-method', `${method} is not a Kubernetes API method`);
  let name = parts.name;
  if (verb === 'get' && name === undefined) ({ verb, name } = resolveCollectionRead(query));
  if (verb === 'delete' && name === undefined) verb = 'deletecollection';
  // The namespace object is cluster-scoped: `/api/v1/namespaces/foo` names it, it is not inside itself.
  const namespace = group === '' && parts.resource === 'namespaces' ? undefined : parts.namespace;
  const selectors = (verb === 'list' || verb === 'watch' || verb === 'deletecollection') && parts.pathVerb === undefined;
  const labelSelector = selectors ? (query.get('labelSelector') ?? undefined) : undefined;
  const fieldSelector = selectors ? (query.get('fieldSelector') ?? undefined) : undefined;
  const call: KubernetesResourceCall = {
    kind: 'resource', method, path, verb, group, version, resource: parts.resource,
    ...(parts.subresource === undefined ? {} : { subresource: parts.subresource }),
    ...(parts.subpath.length === 0 ? {} : { subpath: parts.subpath }),
    ...(namespace === undefined ? {} : { namespace }),
    ...(name === undefined ? {} : { name }),
    watch: verb === 'watch',
    legacyWatchPath: parts.pathVerb === 'watch',
    longRunning: longRunningVerbs.has(verb) || longRunningSubresources.has(parts.subresource ?? ''),
    dryRun: query.getAll('dryRun').some((value) => value !== ''),
    ...(verb === 'patch' ? { patchType: patchTypeOf(input.contentType) } : {}),
    ...(labelSelector === undefined ? {} : { labelSelector }),
    ...(fieldSelector === undefined ? {} : { fieldSelector }),
  };
  return call;
}

/**
 * True when a DELETE body (`DeleteOptions`) asks for a dry run. kubectl puts `--dry-run=server`
 * of `delete` in the body (`{"dryRun":["All"]}`), not in the query, so the classifier cannot see it.
 */
export function deleteOptionsDryRun(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const dryRun = (body as { dryRun?: unknown }).dryRun;
  return Array.isArray(dryRun) && dryRun.some((value) => typeof value === 'string' && value !== '');
}
