/**
 * Lists what a Kubernetes object depends on, with the kind of each dependency (DESIGN.md
 * section 8, glue/types.ts):
 * - requirement: a pod's `imagePullSecrets` (needed to pull images when the pod starts);
 * - reliance: the secrets, config maps, volume claims and service account a pod uses for its whole
 *   life, and the same for the pod template of a deployment, replica set, stateful set, daemon
 *   set, job, cron job, replication controller or pod template; an ingress's TLS secrets and
 *   backend services; a role binding's role;
 * - composition: the object's owners (`metadata.ownerReferences`), and its namespace. Only the
 *   parent is replicated; see `isOwnedChild`.
 * Things every site makes for itself are not listed: the `default` service account and the
 * `kube-root-ca.crt` config map exist in every namespace of every site.
 */
import type { ResourceKey } from '../../core/ids.js';
import { arrayIn, getIn, isJsonObject, stringIn } from '../json.js';
import { DependencyKind, type Dependency } from '../types.js';
import { findBuiltinPlural } from './builtin-resources.js';
import { containerFields, podSpecPathOf } from './pod-spec.js';
import { isNamespacedResource, kubernetesApp, kubernetesServiceName, resourceForKind, splitApiVersion } from './resource-key.js';

/** A Kubernetes dependency: the generic `Dependency`, named by a Kubernetes `ResourceKey`. */
export type KubernetesDependency = Dependency;

/** Where the object sits, when its body does not say. */
export interface DependencyOptions {
  /** The object's service (resource plural); from `apiVersion` and `kind` when omitted. */
  readonly service?: string | undefined;
  /** The request's namespace; used when the body has no `metadata.namespace`. */
  readonly namespace?: string | undefined;
}

const siteMadeSecretsAndMaps = new Set(['configmaps/kube-root-ca.crt', 'serviceaccounts/default']);

/** Collects dependencies, keeping one per (kind, key); a reference made anywhere non-optional wins. */
class Collector {
  private readonly found = new Map<string, Dependency>();

  constructor(private readonly namespace: string | undefined) {}

  add(kind: DependencyKind, service: string, name: unknown, via: string, optional = false, namespaced = true): void {
    if (typeof name !== 'string' || name === '') return;
    if (siteMadeSecretsAndMaps.has(`${service}/${name}`)) return;
    const key: ResourceKey = namespaced && this.namespace !== undefined
      ? { app: kubernetesApp, service, namespace: this.namespace, name }
      : { app: kubernetesApp, service, name };
    const id = `${kind} ${service}/${key.namespace ?? ''}/${name}`;
    const previous = this.found.get(id);
    if (previous === undefined) this.found.set(id, { kind, key, via, optional });
    else if (previous.optional && !optional) this.found.set(id, { ...previous, optional: false });
  }

  list(): Dependency[] {
    const all = [...this.found.values()];
    // A secret both pulled from and mounted is relied on: the reliance covers the requirement.
    return all.filter((dependency) => dependency.kind !== DependencyKind.Requirement
      || !all.some((other) => other.kind === DependencyKind.Reliance && sameKey(other.key, dependency.key)));
  }
}

function sameKey(a: ResourceKey, b: ResourceKey): boolean {
  return a.service === b.service && a.namespace === b.namespace && a.name === b.name;
}

function optionalFlag(reference: unknown): boolean {
  return getIn(reference, ['optional']) === true;
}

/** Secret references inside volume sources other than `secret` (CSI, Ceph, iSCSI, …). */
const volumeSecretRefs = ['csi.nodePublishSecretRef', 'cephfs.secretRef', 'rbd.secretRef', 'iscsi.secretRef', 'flexVolume.secretRef', 'scaleIO.secretRef', 'storageos.secretRef'] as const;

function addVolumes(out: Collector, podSpec: unknown, at: string): void {
  arrayIn(podSpec, ['volumes']).forEach((volume, index) => {
    const via = `${at}.volumes[${index}]`;
    out.add(DependencyKind.Reliance, 'secrets', stringIn(volume, ['secret', 'secretName']), `${via}.secret`, optionalFlag(getIn(volume, ['secret'])));
    out.add(DependencyKind.Reliance, 'configmaps', stringIn(volume, ['configMap', 'name']), `${via}.configMap`, optionalFlag(getIn(volume, ['configMap'])));
    out.add(DependencyKind.Reliance, 'persistentvolumeclaims', stringIn(volume, ['persistentVolumeClaim', 'claimName']), `${via}.persistentVolumeClaim`);
    out.add(DependencyKind.Reliance, 'secrets', stringIn(volume, ['azureFile', 'secretName']), `${via}.azureFile`);
    for (const field of volumeSecretRefs) {
      out.add(DependencyKind.Reliance, 'secrets', stringIn(volume, [...field.split('.'), 'name']), `${via}.${field}`);
    }
    arrayIn(volume, ['projected', 'sources']).forEach((source, sourceIndex) => {
      const sourceVia = `${via}.projected.sources[${sourceIndex}]`;
      out.add(DependencyKind.Reliance, 'secrets', stringIn(source, ['secret', 'name']), `${sourceVia}.secret`, optionalFlag(getIn(source, ['secret'])));
      out.add(DependencyKind.Reliance, 'configmaps', stringIn(source, ['configMap', 'name']), `${sourceVia}.configMap`, optionalFlag(getIn(source, ['configMap'])));
    });
  });
}

function addContainers(out: Collector, podSpec: unknown, at: string): void {
  for (const field of containerFields) {
    arrayIn(podSpec, [field]).forEach((container, index) => {
      const via = `${at}.${field}[${index}]`;
      arrayIn(container, ['env']).forEach((env, envIndex) => {
        const secretRef = getIn(env, ['valueFrom', 'secretKeyRef']);
        const mapRef = getIn(env, ['valueFrom', 'configMapKeyRef']);
        out.add(DependencyKind.Reliance, 'secrets', stringIn(secretRef, ['name']), `${via}.env[${envIndex}].valueFrom.secretKeyRef`, optionalFlag(secretRef));
        out.add(DependencyKind.Reliance, 'configmaps', stringIn(mapRef, ['name']), `${via}.env[${envIndex}].valueFrom.configMapKeyRef`, optionalFlag(mapRef));
      });
      arrayIn(container, ['envFrom']).forEach((source, sourceIndex) => {
        const secretRef = getIn(source, ['secretRef']);
        const mapRef = getIn(source, ['configMapRef']);
        out.add(DependencyKind.Reliance, 'secrets', stringIn(secretRef, ['name']), `${via}.envFrom[${sourceIndex}].secretRef`, optionalFlag(secretRef));
        out.add(DependencyKind.Reliance, 'configmaps', stringIn(mapRef, ['name']), `${via}.envFrom[${sourceIndex}].configMapRef`, optionalFlag(mapRef));
      });
    });
  }
}

/** The dependencies of one pod spec found at `at` (`spec`, `spec.template.spec`). */
function addPodSpec(out: Collector, podSpec: unknown, at: string): void {
  arrayIn(podSpec, ['imagePullSecrets']).forEach((reference, index) => {
    out.add(DependencyKind.Requirement, 'secrets', stringIn(reference, ['name']), `${at}.imagePullSecrets[${index}]`);
  });
  // `serviceAccount` is the deprecated spelling; the API server fills either from the other.
  const account = stringIn(podSpec, ['serviceAccountName']) ?? stringIn(podSpec, ['serviceAccount']);
  out.add(DependencyKind.Reliance, 'serviceaccounts', account, `${at}.serviceAccountName`);
  addVolumes(out, podSpec, at);
  addContainers(out, podSpec, at);
}

function addIngress(out: Collector, body: unknown): void {
  arrayIn(body, ['spec', 'tls']).forEach((tls, index) => {
    out.add(DependencyKind.Reliance, 'secrets', stringIn(tls, ['secretName']), `spec.tls[${index}].secretName`);
  });
  out.add(DependencyKind.Reliance, 'services', stringIn(body, ['spec', 'defaultBackend', 'service', 'name']), 'spec.defaultBackend.service');
  arrayIn(body, ['spec', 'rules']).forEach((rule, ruleIndex) => {
    arrayIn(rule, ['http', 'paths']).forEach((path, pathIndex) => {
      out.add(DependencyKind.Reliance, 'services', stringIn(path, ['backend', 'service', 'name']), `spec.rules[${ruleIndex}].http.paths[${pathIndex}].backend.service`);
    });
  });
}

function addRoleBinding(out: Collector, body: unknown): void {
  const kind = stringIn(body, ['roleRef', 'kind']);
  const name = stringIn(body, ['roleRef', 'name']);
  const service = kubernetesServiceName('rbac.authorization.k8s.io', kind === 'ClusterRole' ? 'clusterroles' : 'roles');
  out.add(DependencyKind.Reliance, service, name, 'roleRef', false, kind !== 'ClusterRole');
}

function addComposition(out: Collector, body: unknown, namespace: string | undefined): void {
  arrayIn(body, ['metadata', 'ownerReferences']).forEach((owner, index) => {
    const { group } = splitApiVersion(stringIn(owner, ['apiVersion']) ?? '');
    const kind = stringIn(owner, ['kind']);
    if (kind === undefined) return;
    const resource = resourceForKind(group, kind);
    const namespaced = isNamespacedResource(group, resource) !== false;
    out.add(DependencyKind.Composition, kubernetesServiceName(group, resource), stringIn(owner, ['name']), `metadata.ownerReferences[${index}]`, false, namespaced);
  });
  if (namespace !== undefined) out.add(DependencyKind.Composition, 'namespaces', namespace, 'metadata.namespace', false, false);
}

function serviceOf(body: unknown): string | undefined {
  const apiVersion = stringIn(body, ['apiVersion']);
  const kind = stringIn(body, ['kind']);
  return apiVersion === undefined || kind === undefined ? undefined : resourceForKind(splitApiVersion(apiVersion).group, kind);
}

/**
 * The dependencies of an object body. Namespaced references resolve in the object's namespace
 * (see `namespaceOf`). Never throws: a body of the wrong shape has fewer dependencies.
 */
export function listKubernetesDependencies(body: unknown, options: DependencyOptions = {}): KubernetesDependency[] {
  if (!isJsonObject(body)) return [];
  const service = options.service ?? serviceOf(body);
  const namespace = namespaceOf(body, service, options.namespace);
  const out = new Collector(namespace);
  const podSpecPath = podSpecPathOf(service);
  if (podSpecPath !== undefined) addPodSpec(out, getIn(body, podSpecPath), podSpecPath.join('.'));
  if (service === 'ingresses') addIngress(out, body);
  if (service === 'rolebindings' || service === 'clusterrolebindings') addRoleBinding(out, body);
  addComposition(out, body, namespace);
  return out.list();
}

/**
 * The namespace the object lives in: none for cluster-scoped built-ins, else the body's, else the
 * request's, else `default` for namespaced built-ins (kubectl's default). A custom resource with
 * neither is taken as cluster-scoped: without discovery, nothing better is known.
 */
function namespaceOf(body: unknown, service: string | undefined, requestNamespace: string | undefined): string | undefined {
  const builtin = service === undefined ? undefined : findBuiltinPlural(service);
  if (builtin?.namespaced === false) return undefined;
  const given = stringIn(body, ['metadata', 'namespace']) ?? requestNamespace;
  return given ?? (builtin === undefined ? undefined : 'default');
}

/**
 * True when the object has an owner (`metadata.ownerReferences`): a child its parent's controller
 * made on this site (a deployment's replica sets, their pods). Cheops never replicates an owned
 * child; each site's controllers make their own. Being in a namespace does not make an object owned.
 */
export function isOwnedChild(body: unknown): boolean {
  return arrayIn(body, ['metadata', 'ownerReferences']).length > 0;
}
