/**
 * The typed result of classifying one Kubernetes API request (classify.ts). A discriminated union
 * on `kind`; every member carries the HTTP `method` (upper case) and the URL `path` (as received).
 */

/** The verbs of the API server's request resolver (its RequestInfo), which RBAC and audit use. */
export const kubernetesVerbs = [
  'get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', 'proxy',
] as const;

export type KubernetesVerb = (typeof kubernetesVerbs)[number];

/**
 * The patch format, from the request's content type: JSON patch (RFC 6902), JSON merge patch
 * (RFC 7386), strategic merge patch, or server-side apply; `unknown` for anything else.
 */
export type KubernetesPatchType = 'json' | 'merge' | 'strategic-merge' | 'apply' | 'unknown';

/** What the classifier needs from an intercepted request. */
export interface KubernetesRequest {
  readonly method: string;
  /** The URL path, percent-encoded as on the wire. May end in `?query` when `query` is not given. */
  readonly path: string;
  /** The query string (without `?`) or its parsed form. */
  readonly query?: string | URLSearchParams | undefined;
  /** The `Content-Type` header; tells the patch format apart. */
  readonly contentType?: string | undefined;
}

interface CallBase {
  readonly method: string;
  readonly path: string;
}

/** A request on a REST resource (`/api/v1/namespaces/default/pods/x`, `/apis/apps/v1/deployments`). */
export interface KubernetesResourceCall extends CallBase {
  readonly kind: 'resource';
  readonly verb: KubernetesVerb;
  /** The API group: `''` for the core group (`/api/v1`), `apps`, `batch`, … */
  readonly group: string;
  readonly version: string;
  /** The resource plural (`pods`, `deployments`). */
  readonly resource: string;
  /** `status`, `scale`, `log`, `exec`, … */
  readonly subresource?: string;
  /** Segments after the subresource (a proxied path), rarely present. */
  readonly subpath?: readonly string[];
  /**
   * The namespace in the path. Absent for cluster-scoped resources, for lists across all
   * namespaces, and for the namespace object itself (`/api/v1/namespaces/foo` has name `foo` and
   * no namespace: it is cluster-scoped, where the API server's RequestInfo reports namespace `foo`).
   */
  readonly namespace?: string;
  /**
   * The object's name: from the path, or, for `list` and `watch`, from a `metadata.name=` field
   * selector (kubectl `get x -w` and `delete` waiting), as the API server resolves it.
   */
  readonly name?: string;
  /** True when the verb is `watch` (a `?watch=true|1` query or a legacy `/watch/` path). */
  readonly watch: boolean;
  /** True for the deprecated `/api/v1/watch/…` form. */
  readonly legacyWatchPath: boolean;
  /** True when the API server holds the request open (watch, proxy, log, exec, attach, port-forward). */
  readonly longRunning: boolean;
  /** True when the query asks for a dry run (`dryRun=All`). A DELETE carries it in its body instead. */
  readonly dryRun: boolean;
  /** For `patch` only: the patch format. */
  readonly patchType?: KubernetesPatchType;
  /** For `list`, `watch`, `deletecollection`: the raw label selector. */
  readonly labelSelector?: string;
  /** For `list`, `watch`, `deletecollection`: the raw field selector. */
  readonly fieldSelector?: string;
}

/**
 * API discovery: `/api` (`legacy`, no group), `/api/v1` (legacy, group `''`), `/apis`, `/apis/{group}`,
 * `/apis/{group}/{version}`. kubectl caches the answers per server, so every scope must see the same.
 */
export interface KubernetesDiscoveryCall extends CallBase {
  readonly kind: 'discovery';
  /** True under `/api` (the core group), false under `/apis`. */
  readonly legacy: boolean;
  readonly group?: string;
  readonly version?: string;
}

/** `GET /version`, which the kubectl dispatcher calls first. */
export interface KubernetesVersionCall extends CallBase {
  readonly kind: 'version';
}

/** The OpenAPI documents kubectl reads to validate `apply` and `create -f`. */
export interface KubernetesOpenApiCall extends CallBase {
  readonly kind: 'openapi';
  readonly openApiVersion: 'v2' | 'v3';
  /** For `/openapi/v3/{api/v1 | apis/g/v}`: that part (`apis/apps/v1`). */
  readonly documentPath?: string;
}

/** `/healthz`, `/livez`, `/readyz`, optionally one check (`/readyz/etcd`). */
export interface KubernetesHealthCall extends CallBase {
  readonly kind: 'health';
  readonly endpoint: 'healthz' | 'livez' | 'readyz';
  readonly check?: string;
}

/** Any other path (`/metrics`, `/`, `/logs/…`, `/.well-known/…`): not understood, pass it through. */
export interface KubernetesOtherCall extends CallBase {
  readonly kind: 'other';
}

/** Why a request under `/api` or `/apis` could not be classified. */
export type KubernetesInvalidReason = 'malformed-path' | 'invalid-namespace' | 'invalid-name' | 'unsupported-method';

/** A request under `/api` or `/apis` that no API server would accept as a resource request. */
export interface KubernetesInvalidCall extends CallBase {
  readonly kind: 'invalid';
  readonly reason: KubernetesInvalidReason;
  /** For humans: what is wrong. */
  readonly message: string;
}

/** Any classified request. */
export type KubernetesCall =
  | KubernetesResourceCall
  | KubernetesDiscoveryCall
  | KubernetesVersionCall
  | KubernetesOpenApiCall
  | KubernetesHealthCall
  | KubernetesOtherCall
  | KubernetesInvalidCall;
