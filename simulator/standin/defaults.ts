/**
 * Server-side defaulting (the SetDefaults_* functions of k8s.io/kubernetes/pkg/apis/{core,apps}/v1
 * and the defaulting admission plugins), so that objects read back look like a real cluster's:
 * `restartPolicy: Always`, `imagePullPolicy`, `strategy: RollingUpdate 25%/25%`, `type: Opaque`, …
 */
import { isJsonObject, objectAt, objectsAt, stringAt, type JsonObject } from './json.js';

function ensureObject(parent: JsonObject, key: string): JsonObject {
  const existing = objectAt(parent, key);
  if (existing !== undefined) return existing;
  const created: JsonObject = {};
  parent[key] = created;
  return created;
}

function setDefault(target: JsonObject, key: string, value: JsonObject[keyof JsonObject]): void {
  const current = target[key];
  if (current === undefined || current === null || current === '') target[key] = value;
}

/** `Always` when the image has no tag or `:latest`, as SetDefaults_Container does. */
function pullPolicy(image: string): string {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastPart = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  if (image.includes('@')) return 'IfNotPresent';
  const colon = lastPart.lastIndexOf(':');
  return colon < 0 || lastPart.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(probe: JsonObject | undefined): void {
  if (probe === undefined) return;
  setDefault(probe, 'timeoutSeconds', 1);
  setDefault(probe, 'periodSeconds', 10);
  setDefault(probe, 'successThreshold', 1);
  setDefault(probe, 'failureThreshold', 3);
  const httpGet = objectAt(probe, 'httpGet');
  if (httpGet !== undefined) {
    setDefault(httpGet, 'path', '/');
    setDefault(httpGet, 'scheme', 'HTTP');
  }
}

function defaultContainer(container: JsonObject): void {
  setDefault(container, 'terminationMessagePath', '/dev/termination-log');
  setDefault(container, 'terminationMessagePolicy', 'File');
  setDefault(container, 'imagePullPolicy', pullPolicy(stringAt(container, 'image') ?? ''));
  for (const port of objectsAt(container, 'ports')) setDefault(port, 'protocol', 'TCP');
  for (const variable of objectsAt(container, 'env')) {
    const fieldRef = objectAt(objectAt(variable, 'valueFrom'), 'fieldRef');
    if (fieldRef !== undefined) setDefault(fieldRef, 'apiVersion', 'v1');
  }
  defaultProbe(objectAt(container, 'livenessProbe'));
  defaultProbe(objectAt(container, 'readinessProbe'));
  defaultProbe(objectAt(container, 'startupProbe'));
}

const volumeSources = new Set(['name']);

function defaultVolume(volume: JsonObject): void {
  const hasSource = Object.keys(volume).some((key) => !volumeSources.has(key));
  if (!hasSource) volume.emptyDir = {};
  for (const key of ['secret', 'configMap', 'projected', 'downwardAPI']) {
    const source = objectAt(volume, key);
    if (source !== undefined) setDefault(source, 'defaultMode', 420);
  }
}

/** Defaults of a PodSpec, in a pod or a pod template. */
export function defaultPodSpec(spec: JsonObject): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'schedulerName', 'default-scheduler');
  for (const container of [...objectsAt(spec, 'initContainers'), ...objectsAt(spec, 'containers')]) defaultContainer(container);
  for (const volume of objectsAt(spec, 'volumes')) defaultVolume(volume);
}

/** Defaults of a Pod, with what admission adds (service account, priority, tolerations). */
function defaultPod(pod: JsonObject): void {
  const spec = ensureObject(pod, 'spec');
  defaultPodSpec(spec);
  setDefault(spec, 'serviceAccountName', 'default');
  spec.serviceAccount = spec.serviceAccountName ?? 'default';
  setDefault(spec, 'enableServiceLinks', true);
  setDefault(spec, 'priority', 0);
  setDefault(spec, 'preemptionPolicy', 'PreemptLowerPriority');
  const tolerations = objectsAt(spec, 'tolerations');
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerations.some((toleration) => toleration.key === key)) {
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
    }
  }
  spec.tolerations = tolerations;
}

function defaultTemplate(spec: JsonObject): void {
  const template = ensureObject(spec, 'template');
  ensureObject(template, 'metadata');
  defaultPodSpec(ensureObject(template, 'spec'));
}

function defaultDeployment(deployment: JsonObject): void {
  const spec = ensureObject(deployment, 'spec');
  setDefault(spec, 'replicas', 1);
  const strategy = ensureObject(spec, 'strategy');
  setDefault(strategy, 'type', 'RollingUpdate');
  if (strategy.type === 'RollingUpdate') {
    const rolling = ensureObject(strategy, 'rollingUpdate');
    setDefault(rolling, 'maxUnavailable', '25%');
    setDefault(rolling, 'maxSurge', '25%');
  }
  setDefault(spec, 'revisionHistoryLimit', 10);
  setDefault(spec, 'progressDeadlineSeconds', 600);
  defaultTemplate(spec);
}

function defaultReplicaSet(replicaSet: JsonObject): void {
  const spec = ensureObject(replicaSet, 'spec');
  setDefault(spec, 'replicas', 1);
  defaultTemplate(spec);
}

function defaultService(service: JsonObject): void {
  const spec = ensureObject(service, 'spec');
  setDefault(spec, 'type', 'ClusterIP');
  setDefault(spec, 'sessionAffinity', 'None');
  for (const port of objectsAt(spec, 'ports')) {
    setDefault(port, 'protocol', 'TCP');
    const target = port.targetPort;
    if (target === undefined || target === 0 || target === '') port.targetPort = port.port ?? 0;
  }
  if (spec.type !== 'ExternalName') {
    setDefault(spec, 'ipFamilies', ['IPv4']);
    setDefault(spec, 'ipFamilyPolicy', 'SingleStack');
    setDefault(spec, 'internalTrafficPolicy', 'Cluster');
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') setDefault(spec, 'externalTrafficPolicy', 'Cluster');
  const status = ensureObject(service, 'status');
  ensureObject(status, 'loadBalancer');
}

/** A Secret's write-only `stringData` becomes base64 `data`, as the API server converts it. */
function defaultSecret(secret: JsonObject): void {
  setDefault(secret, 'type', 'Opaque');
  const stringData = objectAt(secret, 'stringData');
  if (stringData === undefined) return;
  const data = ensureObject(secret, 'data');
  for (const [key, value] of Object.entries(stringData)) {
    if (typeof value === 'string') data[key] = Buffer.from(value, 'utf8').toString('base64');
  }
  delete secret.stringData;
}

function defaultNamespace(namespace: JsonObject): void {
  const metadata = ensureObject(namespace, 'metadata');
  const labels = ensureObject(metadata, 'labels');
  const name = stringAt(metadata, 'name');
  if (name !== undefined) labels['kubernetes.io/metadata.name'] = name;
  ensureObject(namespace, 'spec');
  const status = ensureObject(namespace, 'status');
  setDefault(status, 'phase', 'Active');
}

const defaulters: Readonly<Record<string, (object: JsonObject) => void>> = {
  pods: defaultPod,
  deployments: defaultDeployment,
  replicasets: defaultReplicaSet,
  services: defaultService,
  secrets: defaultSecret,
  namespaces: defaultNamespace,
};

/** Applies the defaults of resource `plural` to `object` in place. */
export function applyDefaults(plural: string, object: JsonObject): void {
  const defaulter = defaulters[plural];
  if (defaulter !== undefined && isJsonObject(object)) defaulter(object);
}
