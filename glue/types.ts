/**
 * What every application's glue tells the node, whatever the application (Kubernetes, OpenStack).
 * The node stays generic by speaking only these types; each `glue/<app>/` fills them in.
 */
import type { ResourceKey, SiteName } from '../core/ids.js';
import type { JsonObject } from './json.js';

/**
 * How one resource depends on another (DESIGN.md section 8).
 * - `requirement`: needed only while an operation runs (a pod's image pull secret at creation).
 * - `reliance`: needed for the dependent's whole life (a pod's mounted secret, its config maps).
 * - `composition`: life cycles linked, the dependency is the parent (an owner; a namespace). Only
 *   the parent is replicated; each site's controllers make the children.
 */
export const DependencyKind = {
  Requirement: 'requirement',
  Reliance: 'reliance',
  Composition: 'composition',
} as const;

export type DependencyKind = (typeof DependencyKind)[keyof typeof DependencyKind];

/** One dependency of a resource on another. */
export interface Dependency {
  readonly kind: DependencyKind;
  /** The resource depended on. */
  readonly key: ResourceKey;
  /** Where in the dependent's body the reference sits (`spec.volumes[0].secret`), for messages. */
  readonly via: string;
  /**
   * True when the application tolerates the dependency being absent (a Kubernetes reference
   * marked `optional: true`): a missing one is a warning, not a refusal.
   */
  readonly optional: boolean;
}

/** A scope carried inside a body (a manifest annotation), and the body without it. */
export interface TakenScope<T> {
  /** The scope text, when the body carried one. */
  readonly scope?: string;
  /** The body with the scope removed (a copy when something was removed, else the same value). */
  readonly body: T;
}

/** A request as glue classifies it: method, path and query as sent, and the body's media type. */
export interface GlueRequest {
  readonly method: string;
  /** The path, percent-encoded as on the wire, without the query. */
  readonly path: string;
  /** The query string without `?`, or `''`. */
  readonly query: string;
  /** The `Content-Type` header. */
  readonly contentType: string | undefined;
}

/** The write operations replication carries. */
export type WriteOperation = 'create' | 'update' | 'patch' | 'delete';

/** A write on one resource (or a create in a collection, whose name is in the body). */
export interface GlueWriteCall {
  readonly kind: 'write';
  readonly op: WriteOperation;
  /** The service, as scopes name it (Kubernetes: the resource plural). */
  readonly service: string;
  /** The namespace (or project) in the path, if any: a created object without one lands there. */
  readonly namespace?: string;
  /** The resource, when the path names it (update, patch, delete). */
  readonly key?: ResourceKey;
  /**
   * Set when the write changes a part of the object and answers that part, not the object
   * (Kubernetes: a `scale` subresource, `kubectl scale`): the path to read the whole object at
   * after the write, whose state becomes the desired one.
   */
  readonly readBack?: string;
}

/** A read of one resource. */
export interface GlueReadCall {
  readonly kind: 'read';
  readonly service: string;
  readonly key: ResourceKey;
}

/**
 * Anything replication leaves alone: lists, watches, subresources but a scale (a status, a log,
 * an exec are the site's own), dry runs, discovery, and paths the glue does not understand.
 */
export interface GlueOtherCall {
  readonly kind: 'other';
  /** The service the path names, when it names one (a list, a watch, a subresource): a read's scope binds per service. */
  readonly service?: string;
  /** A list of a collection: the lists of several sites can be merged into one (`mergeLists`). */
  readonly list?: true;
  /** A watch of a collection: the watches of several sites can be merged into one (`watchEvent`). */
  readonly watch?: true;
  /** The container (namespace) the path is in, if any. */
  readonly namespace?: string;
}

/** One site's answer to a list, read as JSON. */
export interface SiteList {
  readonly site: SiteName;
  readonly body: unknown;
}

/** What glue makes of an intercepted request. */
export type GlueCall = GlueWriteCall | GlueReadCall | GlueOtherCall;

/** The request that does one thing to an object of the application (the node adds headers). */
export interface GlueObjectRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path and query. */
  readonly path: string;
  readonly body?: JsonObject;
}

/** What the reconciler does to the local copy. */
export type ObjectOperation = 'get' | 'create' | 'replace' | 'delete';

/**
 * What replication needs to know of an application (docs/REPLICATION.md): the node speaks only
 * this interface, and each `glue/<app>/` implements it. Every method is pure and never throws on
 * malformed input (bodies come from users and from peers).
 */
export interface ReplicationGlue {
  /** The `app` of the keys this glue makes. */
  readonly app: string;
  /** A path the application answers 200 on while it serves (Kubernetes: `/readyz`): asked when its calls fail. */
  readonly readinessPath: string;
  /** Classifies an intercepted request. */
  classify(request: GlueRequest): GlueCall;
  /**
   * True for requests no scope can change (the application's discovery, version, OpenAPI and
   * health endpoints): the front lets them through even under a malformed scope.
   */
  isScopeFree(method: string, path: string): boolean;
  /** The key of an object (a created object, from the application's answer or the request body). */
  keyOfObject(object: unknown, call: GlueWriteCall): ResourceKey | undefined;
  /** Whether a request body asks for a dry run that the path did not show (a Kubernetes DELETE's options). */
  isDryRunBody(body: unknown): boolean;
  /** `target` (path and query) asking for a dry run: the application checks the write and keeps nothing (Kubernetes: `dryRun=All`). */
  dryRunTarget(target: string): string;
  /** The object without its site-local fields: what becomes the desired state. */
  canonical(object: JsonObject, key: ResourceKey): JsonObject;
  /** `desired` as it must be applied onto the `local` object: the local site-local fields kept. */
  merge(desired: JsonObject, local: JsonObject, key: ResourceKey): JsonObject;
  /** A child that a parent's controller made on this site (never replicated). */
  isOwnedChild(object: unknown): boolean;
  /**
   * Whether an object is being deleted but still there (Kubernetes: `metadata.deletionTimestamp`,
   * graceful deletion or finalizers pending): it is about to go, whatever is written onto it.
   */
  isTerminating(object: unknown): boolean;
  /** The application's own id of an object (Kubernetes: `metadata.uid`). */
  localId(object: unknown): string | undefined;
  /**
   * The request doing `operation` to the object `key`, described by `body` (the desired state); a
   * delete of a body that carries the application's own id deletes that very object only, and
   * one with a `propagation` (`deletePropagation`'s) treats what the object owns so.
   */
  objectRequest(operation: ObjectOperation, key: ResourceKey, body: JsonObject, propagation?: string): GlueObjectRequest | undefined;
  /** Reads and removes a scope carried inside a body (a manifest annotation). */
  takeScope(body: unknown): TakenScope<unknown>;
  /** The message of an error answer, for replica errors and logs. */
  errorMessage(status: number, body: unknown): string;
  /**
   * Whether objects of `service` contain others that a cross scope spreads over its sites
   * (Kubernetes: namespaces): such a container must exist on every site of the scope.
   */
  spansSites(service: string): boolean;
  /** The key of the container named `name` (Kubernetes: the namespace). */
  containerKey(name: string): ResourceKey;
  /** What `object`, written by `call`, depends on (DESIGN.md §8). */
  dependencies(object: unknown, call: GlueWriteCall): readonly Dependency[];
  /** The path to read the object `key` at, when the glue knows it from the key alone (Kubernetes: core resources). */
  readPath(key: ResourceKey): string | undefined;
  /** Whether a delete (its query, its body) insists on going through whatever relies on the object (Kubernetes: a grace period of 0). */
  forcedDelete(query: string, body: unknown): boolean;
  /**
   * What a delete (its query, its body) asks done with the objects the deleted one owns, when it
   * asks (Kubernetes: `propagationPolicy`, `Orphan` for `kubectl delete --cascade=orphan`): every
   * site's delete of a replica must do the same. Undefined: the application's default.
   */
  deletePropagation(query: string, body: unknown): string | undefined;
  /**
   * What to ask `site` for a list or a watch (path and query) of several sites: the whole list
   * (the sites' pages cannot be merged), from `site`'s own version where `target` names a merged one.
   */
  memberTarget(target: string, site: SiteName): string;
  /**
   * The lists of several sites as one, each object shown with its site where the format allows
   * (a column of a table), with one version naming each site's; undefined when they cannot be
   * merged (different kinds, not lists).
   */
  mergeLists(lists: readonly SiteList[]): JsonObject | undefined;
  /**
   * One event of `site`'s watch in a watch of several sites (`headersSent`: the client has had a
   * table's column definitions already), and whether it carries them now; undefined to leave it out.
   */
  watchEvent(site: SiteName, event: unknown, headersSent: boolean): { readonly event: JsonObject; readonly headers: boolean } | undefined;
}
