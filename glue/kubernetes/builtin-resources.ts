/**
 * The resources built into Kubernetes 1.32: group, plural, kind, scope and kubectl's short names.
 * Custom resources are not here; the glue treats them by rule (see resource-key.ts) and learns
 * nothing from discovery, so that classifying a request never waits on the application.
 */

/** One built-in resource. */
export interface BuiltinResource {
  readonly group: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
}

type Row = readonly [plural: string, kind: string, namespaced: boolean, shortNames?: readonly string[]];

const N = true; // namespaced
const C = false; // cluster-scoped

/** Rows per group, as `kubectl api-resources` lists them on a 1.32 cluster. */
const rowsByGroup: Readonly<Record<string, readonly Row[]>> = {
  '': [
    ['bindings', 'Binding', N],
    ['componentstatuses', 'ComponentStatus', C, ['cs']],
    ['configmaps', 'ConfigMap', N, ['cm']],
    ['endpoints', 'Endpoints', N, ['ep']],
    ['events', 'Event', N, ['ev']],
    ['limitranges', 'LimitRange', N, ['limits']],
    ['namespaces', 'Namespace', C, ['ns']],
    ['nodes', 'Node', C, ['no']],
    ['persistentvolumeclaims', 'PersistentVolumeClaim', N, ['pvc']],
    ['persistentvolumes', 'PersistentVolume', C, ['pv']],
    ['pods', 'Pod', N, ['po']],
    ['podtemplates', 'PodTemplate', N],
    ['replicationcontrollers', 'ReplicationController', N, ['rc']],
    ['resourcequotas', 'ResourceQuota', N, ['quota']],
    ['secrets', 'Secret', N],
    ['serviceaccounts', 'ServiceAccount', N, ['sa']],
    ['services', 'Service', N, ['svc']],
  ],
  'admissionregistration.k8s.io': [
    ['mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', C],
    ['validatingadmissionpolicies', 'ValidatingAdmissionPolicy', C],
    ['validatingadmissionpolicybindings', 'ValidatingAdmissionPolicyBinding', C],
    ['validatingwebhookconfigurations', 'ValidatingWebhookConfiguration', C],
  ],
  'apiextensions.k8s.io': [['customresourcedefinitions', 'CustomResourceDefinition', C, ['crd', 'crds']]],
  'apiregistration.k8s.io': [['apiservices', 'APIService', C]],
  apps: [
    ['controllerrevisions', 'ControllerRevision', N],
    ['daemonsets', 'DaemonSet', N, ['ds']],
    ['deployments', 'Deployment', N, ['deploy']],
    ['replicasets', 'ReplicaSet', N, ['rs']],
    ['statefulsets', 'StatefulSet', N, ['sts']],
  ],
  'authentication.k8s.io': [
    ['selfsubjectreviews', 'SelfSubjectReview', C],
    ['tokenreviews', 'TokenReview', C],
  ],
  'authorization.k8s.io': [
    ['localsubjectaccessreviews', 'LocalSubjectAccessReview', N],
    ['selfsubjectaccessreviews', 'SelfSubjectAccessReview', C],
    ['selfsubjectrulesreviews', 'SelfSubjectRulesReview', C],
    ['subjectaccessreviews', 'SubjectAccessReview', C],
  ],
  autoscaling: [['horizontalpodautoscalers', 'HorizontalPodAutoscaler', N, ['hpa']]],
  batch: [
    ['cronjobs', 'CronJob', N, ['cj']],
    ['jobs', 'Job', N],
  ],
  'certificates.k8s.io': [['certificatesigningrequests', 'CertificateSigningRequest', C, ['csr']]],
  'coordination.k8s.io': [['leases', 'Lease', N]],
  'discovery.k8s.io': [['endpointslices', 'EndpointSlice', N]],
  'events.k8s.io': [['events', 'Event', N, ['ev']]],
  // The old group serving deployments, ingresses, … : the same objects under other paths.
  extensions: [
    ['daemonsets', 'DaemonSet', N, ['ds']],
    ['deployments', 'Deployment', N, ['deploy']],
    ['ingresses', 'Ingress', N, ['ing']],
    ['networkpolicies', 'NetworkPolicy', N, ['netpol']],
    ['replicasets', 'ReplicaSet', N, ['rs']],
  ],
  'flowcontrol.apiserver.k8s.io': [
    ['flowschemas', 'FlowSchema', C],
    ['prioritylevelconfigurations', 'PriorityLevelConfiguration', C],
  ],
  'internal.apiserver.k8s.io': [['storageversions', 'StorageVersion', C]],
  'networking.k8s.io': [
    ['ingressclasses', 'IngressClass', C],
    ['ingresses', 'Ingress', N, ['ing']],
    ['ipaddresses', 'IPAddress', C, ['ip']],
    ['networkpolicies', 'NetworkPolicy', N, ['netpol']],
    ['servicecidrs', 'ServiceCIDR', C],
  ],
  'node.k8s.io': [['runtimeclasses', 'RuntimeClass', C]],
  policy: [['poddisruptionbudgets', 'PodDisruptionBudget', N, ['pdb']]],
  'rbac.authorization.k8s.io': [
    ['clusterrolebindings', 'ClusterRoleBinding', C],
    ['clusterroles', 'ClusterRole', C],
    ['rolebindings', 'RoleBinding', N],
    ['roles', 'Role', N],
  ],
  'resource.k8s.io': [
    ['deviceclasses', 'DeviceClass', C],
    ['resourceclaims', 'ResourceClaim', N],
    ['resourceclaimtemplates', 'ResourceClaimTemplate', N],
    ['resourceslices', 'ResourceSlice', C],
  ],
  'scheduling.k8s.io': [['priorityclasses', 'PriorityClass', C, ['pc']]],
  'storage.k8s.io': [
    ['csidrivers', 'CSIDriver', C],
    ['csinodes', 'CSINode', C],
    ['csistoragecapacities', 'CSIStorageCapacity', N],
    ['storageclasses', 'StorageClass', C, ['sc']],
    ['volumeattachments', 'VolumeAttachment', C],
  ],
  'storagemigration.k8s.io': [['storageversionmigrations', 'StorageVersionMigration', C]],
};

/** Every built-in resource. */
export const builtinResources: readonly BuiltinResource[] = Object.entries(rowsByGroup).flatMap(([group, rows]) =>
  rows.map(([plural, kind, namespaced, shortNames]) => ({ group, plural, kind, namespaced, shortNames: shortNames ?? [] })),
);

const byGroupAndPlural = new Map(builtinResources.map((r) => [`${r.group}/${r.plural}`, r]));
const byGroupAndKind = new Map(builtinResources.map((r) => [`${r.group}/${r.kind}`, r]));

/** True when `group` is built into Kubernetes (the core group `''` included). */
export function isBuiltinGroup(group: string): boolean {
  return Object.hasOwn(rowsByGroup, group);
}

/** The built-in resource with this group and plural, if any. */
export function findBuiltinResource(group: string, plural: string): BuiltinResource | undefined {
  return byGroupAndPlural.get(`${group}/${plural}`);
}

/** The built-in resource with this group and kind, if any. */
export function findBuiltinKind(group: string, kind: string): BuiltinResource | undefined {
  return byGroupAndKind.get(`${group}/${kind}`);
}

/**
 * The built-in resource with this plural in any built-in group. Unambiguous: where two built-in
 * groups share a plural, they serve the same objects (`events`, `deployments` in `extensions`).
 */
export function findBuiltinPlural(plural: string): BuiltinResource | undefined {
  return builtinResources.find((resource) => resource.plural === plural);
}
