/**
 * Discovery: `/version`, the legacy documents (`/api`, `/apis`, `/api/v1`, `/apis/apps`,
 * `/apis/apps/v1`) and the aggregated form kubectl 1.32 asks for first
 * (`Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`).
 */
import type { JsonObject } from '../json.js';
import { apiVersionOf, groupVersions, resourceTypes, type ResourceType } from '../resources.js';
import { parseMediaType } from './negotiation.js';

/** The Kubernetes version the stand-in presents (that of the kubectl it is tested with). */
export const serverVersion = { major: '1', minor: '32', gitVersion: 'v1.32.4' } as const;

export function versionInfo(): JsonObject {
  return {
    major: serverVersion.major,
    minor: serverVersion.minor,
    gitVersion: serverVersion.gitVersion,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2025-04-22T00:00:00Z',
    goVersion: 'go1.23.8',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/** True when the Accept header asks for aggregated discovery (v2 or v2beta1) before plain JSON. */
export function aggregatedVersion(accept: string | null): 'v2' | 'v2beta1' | undefined {
  for (const entry of (accept ?? '').split(',')) {
    const media = parseMediaType(entry);
    if (media.type !== 'application/json') continue;
    const { g, v, as } = media.parameters;
    if (g === undefined && as === undefined) return undefined;
    if (g === 'apidiscovery.k8s.io' && as === 'APIGroupDiscoveryList' && (v === 'v2' || v === 'v2beta1')) return v;
  }
  return undefined;
}

/** The Content-Type of an aggregated discovery answer. */
export function aggregatedContentType(version: 'v2' | 'v2beta1'): string {
  return `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`;
}

function typesOf(group: string, version: string): ResourceType[] {
  return resourceTypes.filter((type) => type.group === group && type.version === version);
}

function legacyResource(type: ResourceType): JsonObject[] {
  const main: JsonObject = {
    name: type.plural,
    singularName: type.singular,
    namespaced: type.namespaced,
    kind: type.kind,
    verbs: [...type.verbs],
  };
  if (type.shortNames.length > 0) main.shortNames = [...type.shortNames];
  if (type.categories.length > 0) main.categories = [...type.categories];
  const subresources = type.subresources.map((sub) => {
    const entry: JsonObject = { name: `${type.plural}/${sub.name}`, singularName: '', namespaced: type.namespaced, kind: sub.kind, verbs: [...sub.verbs] };
    if (sub.group !== type.group || sub.version !== type.version) {
      entry.group = sub.group;
      entry.version = sub.version;
    }
    return entry;
  });
  return [main, ...subresources];
}

/** `/api/v1` or `/apis/apps/v1`: an APIResourceList. */
export function resourceList(group: string, version: string): JsonObject | undefined {
  const types = typesOf(group, version);
  if (types.length === 0) return undefined;
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(group, version), resources: types.flatMap(legacyResource) };
}

/** `/api`: the APIVersions of the core group. */
export function coreVersions(host: string): JsonObject {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: host }] };
}

function apiGroup(group: string): JsonObject {
  const versions = groupVersions.filter((entry) => entry.group === group).map((entry) => ({ groupVersion: apiVersionOf(group, entry.version), version: entry.version }));
  return { name: group, versions, preferredVersion: versions[0] ?? {} };
}

/** `/apis`: the APIGroupList of the named groups. */
export function groupList(): JsonObject {
  const groups = [...new Set(groupVersions.map((entry) => entry.group).filter((group) => group !== ''))];
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(apiGroup) };
}

/** `/apis/<group>`: one APIGroup, or undefined when not served. */
export function groupDocument(group: string): JsonObject | undefined {
  if (!groupVersions.some((entry) => entry.group === group && group !== '')) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) };
}

function aggregatedResource(type: ResourceType): JsonObject {
  const resource: JsonObject = {
    resource: type.plural,
    responseKind: { group: type.group, version: type.version, kind: type.kind },
    scope: type.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: type.singular,
    verbs: [...type.verbs],
  };
  if (type.shortNames.length > 0) resource.shortNames = [...type.shortNames];
  if (type.categories.length > 0) resource.categories = [...type.categories];
  if (type.subresources.length > 0) {
    resource.subresources = type.subresources.map((sub) => ({
      subresource: sub.name,
      responseKind: { group: sub.group, version: sub.version, kind: sub.kind },
      verbs: [...sub.verbs],
    }));
  }
  return resource;
}

/** The aggregated discovery of `/api` (core) or `/apis` (named groups). */
export function aggregatedDiscovery(core: boolean, version: 'v2' | 'v2beta1'): JsonObject {
  const groups = [...new Set(groupVersions.map((entry) => entry.group))].filter((group) => (group === '') === core);
  const items = groups.map((group) => ({
    metadata: group === '' ? { creationTimestamp: null } : { name: group, creationTimestamp: null },
    versions: groupVersions
      .filter((entry) => entry.group === group)
      .map((entry) => ({ version: entry.version, resources: typesOf(group, entry.version).map(aggregatedResource), freshness: 'Current' })),
  }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}
