/**
 * The resource types the stand-in serves, described once: discovery, OpenAPI, routing, storage and
 * table printing all read this registry.
 */

/** A subresource served under a resource (`deployments/scale`). */
export interface SubresourceType {
  readonly name: 'status' | 'scale' | 'finalize';
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly verbs: readonly string[];
}

export interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly namespaced: boolean;
  readonly categories: readonly string[];
  readonly verbs: readonly string[];
  readonly subresources: readonly SubresourceType[];
  /** The model (OpenAPI) name of the kind's struct. */
  readonly schema: string;
  /** metadata.generation counts spec changes (workloads). */
  readonly hasGeneration: boolean;
  /** Field selector keys accepted besides metadata.name and metadata.namespace. */
  readonly fieldSelectors: readonly string[];
}

const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;
const subVerbs = ['get', 'patch', 'update'] as const;

function status(group: string, version: string, kind: string): SubresourceType {
  return { name: 'status', group, version, kind, verbs: subVerbs };
}

function scale(): SubresourceType {
  return { name: 'scale', group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: subVerbs };
}

interface Definition {
  readonly kind: string;
  readonly plural: string;
  readonly shortNames?: readonly string[];
  readonly namespaced?: boolean;
  readonly categories?: readonly string[];
  readonly verbs?: readonly string[];
  readonly subresources?: readonly ('status' | 'scale' | 'finalize')[];
  readonly hasGeneration?: boolean;
  readonly fieldSelectors?: readonly string[];
}

function define(group: string, version: string, pkg: string, definition: Definition): ResourceType {
  const { kind } = definition;
  return {
    group,
    version,
    kind,
    listKind: `${kind}List`,
    plural: definition.plural,
    singular: kind.toLowerCase(),
    shortNames: definition.shortNames ?? [],
    namespaced: definition.namespaced ?? true,
    categories: definition.categories ?? [],
    verbs: definition.verbs ?? allVerbs,
    subresources: (definition.subresources ?? []).map((name) => {
      if (name === 'scale') return scale();
      if (name === 'finalize') return { name, group, version, kind, verbs: ['update'] };
      return status(group, version, kind);
    }),
    schema: `${pkg}.${kind}`,
    hasGeneration: definition.hasGeneration ?? false,
    fieldSelectors: definition.fieldSelectors ?? [],
  };
}

const core = (definition: Definition): ResourceType => define('', 'v1', 'io.k8s.api.core.v1', definition);
const apps = (definition: Definition): ResourceType => define('apps', 'v1', 'io.k8s.api.apps.v1', definition);

/** Every served resource type, in discovery order. */
export const resourceTypes: readonly ResourceType[] = [
  core({ kind: 'ConfigMap', plural: 'configmaps', shortNames: ['cm'] }),
  core({ kind: 'Endpoints', plural: 'endpoints', shortNames: ['ep'] }),
  core({
    kind: 'Event',
    plural: 'events',
    shortNames: ['ev'],
    fieldSelectors: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
  }),
  core({
    kind: 'Namespace',
    plural: 'namespaces',
    shortNames: ['ns'],
    namespaced: false,
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: ['finalize', 'status'],
    fieldSelectors: ['status.phase'],
  }),
  core({
    kind: 'Pod',
    plural: 'pods',
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['status'],
    fieldSelectors: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
  }),
  core({ kind: 'Secret', plural: 'secrets', fieldSelectors: ['type'] }),
  core({ kind: 'ServiceAccount', plural: 'serviceaccounts', shortNames: ['sa'] }),
  core({
    kind: 'Service',
    plural: 'services',
    shortNames: ['svc'],
    categories: ['all'],
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: ['status'],
  }),
  apps({
    kind: 'Deployment',
    plural: 'deployments',
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: ['scale', 'status'],
    hasGeneration: true,
  }),
  apps({
    kind: 'ReplicaSet',
    plural: 'replicasets',
    shortNames: ['rs'],
    categories: ['all'],
    subresources: ['scale', 'status'],
    hasGeneration: true,
    fieldSelectors: ['status.replicas'],
  }),
];

/** The group versions served, core first: `v1`, `apps/v1`. */
export const groupVersions: readonly { readonly group: string; readonly version: string }[] = [
  { group: '', version: 'v1' },
  { group: 'apps', version: 'v1' },
];

/** `v1` or `apps/v1`. */
export function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** Splits `apps/v1` into group and version (`v1` is the core group). */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** The resource type served at group/version/plural, or undefined. */
export function findResource(group: string, version: string, plural: string): ResourceType | undefined {
  return resourceTypes.find((type) => type.group === group && type.version === version && type.plural === plural);
}

/** The served resource type named by `plural` (plurals are unique here); throws for others. */
export function resourceType(plural: string): ResourceType {
  const type = resourceTypes.find((candidate) => candidate.plural === plural);
  if (type === undefined) throw new TypeError(`no resource type ${plural}`);
  return type;
}
