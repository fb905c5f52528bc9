/**
 * Names Kubernetes resources as Cheops `ResourceKey`s.
 *
 * The service is the resource plural (`pods`, `deployments`), unqualified for every built-in
 * group and qualified as `plural.group` for custom resources (`certificates.cert-manager.io`):
 * - Scope-lang binds services by plural (`{pods: Site1, secrets: Site2}`), so the names users write
 *   for built-ins are the keys themselves.
 * - Built-in plurals never clash between built-in groups except where both paths serve the same
 *   objects (`events` in the core group and `events.k8s.io`; `deployments` in `apps` and the old
 *   `extensions`). One unqualified name gives one key per object, whichever path reached it.
 * - Custom resources may clash with each other and with built-ins (many operators define
 *   `clusters`), so they keep the group, in kubectl's own `plural.group` notation.
 * The version never enters the key: `apps/v1` and `apps/v1beta2` address the same deployment.
 */
import type { ResourceKey } from '../../core/ids.js';
import { getIn, stringIn } from '../json.js';
import { builtinResources, findBuiltinKind, findBuiltinResource, isBuiltinGroup } from './builtin-resources.js';
import type { KubernetesResourceCall } from './call.js';

/** The `app` of every Kubernetes `ResourceKey`. */
export const kubernetesApp = 'kubernetes';

/** The service name of a resource: its plural, with `.group` for custom resources. */
export function kubernetesServiceName(group: string, resource: string): string {
  return isBuiltinGroup(group) ? resource : `${resource}.${group}`;
}

/** Splits an `apiVersion` (`apps/v1`, `v1`) into group and version. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/**
 * The plural of a kind: from the built-in table, else guessed as apimachinery's
 * `UnsafeGuessKindToResource` does (`Policy` → `policies`, `Ingress` → `ingresses`), except that a
 * vowel before a final `y` takes `s` (`Gateway` → `gateways`, where apimachinery says `gatewaies`):
 * custom resource plurals come from the CRD author's tools (kubebuilder), which pluralise properly.
 * Irregular plurals need discovery to be exact.
 */
export function resourceForKind(group: string, kind: string): string {
  const builtin = findBuiltinKind(group, kind);
  if (builtin !== undefined) return builtin.plural;
  const singular = kind.toLowerCase();
  if (singular.endsWith('endpoints')) return singular;
  if (singular.endsWith('s')) return `${singular}es`;
  if (/[^aeiou]y$/.test(singular)) return `${singular.slice(0, -1)}ies`;
  return `${singular}s`;
}

/**
 * Whether a resource lives in namespaces: known for built-ins, undefined for custom resources
 * (only discovery knows; the path of a request tells for that request).
 */
export function isNamespacedResource(group: string, resource: string): boolean | undefined {
  return findBuiltinResource(group, resource)?.namespaced;
}

function makeKey(service: string, namespace: string | undefined, name: string): ResourceKey {
  return namespace === undefined ? { app: kubernetesApp, service, name } : { app: kubernetesApp, service, namespace, name };
}

/**
 * The key of the one resource a call addresses: a subresource call (`pods/x/status`, `…/scale`)
 * addresses its parent; a `list` or `watch` narrowed by a `metadata.name` selector addresses that
 * object. For a create (POST to the collection) pass the name from the body as `bodyName`.
 * Undefined when the call addresses no single resource (a list, a create with `generateName`).
 */
export function resourceKeyOfCall(call: KubernetesResourceCall, bodyName?: string): ResourceKey | undefined {
  const name = call.name ?? (call.verb === 'create' && call.subresource === undefined ? bodyName : undefined);
  if (name === undefined || name === '') return undefined;
  return makeKey(kubernetesServiceName(call.group, call.resource), call.namespace, name);
}

/**
 * The key of an object from its body (`apiVersion`, `kind`, `metadata`). `namespace` is the
 * request's namespace, used when the body has none (kubectl leaves it out of most bodies).
 * Cluster-scoped built-ins never get a namespace. Undefined when the body lacks what a key needs.
 */
export function resourceKeyOfObject(body: unknown, namespace?: string): ResourceKey | undefined {
  const apiVersion = stringIn(body, ['apiVersion']);
  const kind = stringIn(body, ['kind']);
  const name = stringIn(body, ['metadata', 'name']);
  if (apiVersion === undefined || kind === undefined || name === undefined) return undefined;
  const { group } = splitApiVersion(apiVersion);
  const resource = resourceForKind(group, kind);
  const namespaced = isNamespacedResource(group, resource);
  const objectNamespace = namespaced === false ? undefined : (stringIn(body, ['metadata', 'namespace']) ?? namespace);
  return makeKey(kubernetesServiceName(group, resource), objectNamespace, name);
}

/** Short names, singulars and `plural.group` spellings of built-ins, to their service names. */
const serviceAliases: ReadonlyMap<string, string> = new Map(
  builtinResources.flatMap((resource) => [
    ...resource.shortNames.map((short): [string, string] => [short, resource.plural]),
    [resource.kind.toLowerCase(), resource.plural] as [string, string],
    ...(resource.group === '' ? [] : [[`${resource.plural}.${resource.group}`, resource.plural] as [string, string]]),
  ]),
);

/**
 * The service name a user means by a scope binding's service (`{deploy: Site1}`): kubectl's short
 * names (`po`, `deploy`, `ns`), singular kinds (`pod`) and `plural.group` spellings of built-ins
 * (`deployments.apps`) become the plural; anything else (a custom resource's `plural.group`) is
 * kept, lower-cased. Matches a scope's services against `ResourceKey.service`.
 */
export function normalizeKubernetesService(text: string): string {
  const lower = text.trim().toLowerCase();
  return serviceAliases.get(lower) ?? lower;
}

/** The object's `metadata.name`, or undefined. */
export function objectName(body: unknown): string | undefined {
  return stringIn(body, ['metadata', 'name']);
}

/** True when the body asks the server to make the name (`metadata.generateName`, no name). */
export function hasGeneratedName(body: unknown): boolean {
  return objectName(body) === undefined && typeof getIn(body, ['metadata', 'generateName']) === 'string';
}
