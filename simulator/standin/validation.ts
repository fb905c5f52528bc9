/**
 * Validation of objects before they are stored, with the field paths and wording of
 * k8s.io/kubernetes/pkg/apis/core/validation and apps/validation (a subset: names, labels, the
 * fields users get wrong most, and the immutable fields of updates). Failures become 422 Invalid.
 */
import type { StatusCause } from './errors.js';
import { isJsonObject, jsonEqual, numberAt, objectAt, objectsAt, stringAt, stringMapAt, type JsonObject, type JsonValue } from './json.js';
import { labelKeyError, labelValueError, matchesLabels, selectorFromObject } from './selectors.js';

type Causes = StatusCause[];

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const configKey = /^[-._a-zA-Z0-9]+$/;

const subdomainMessage =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const labelMessage =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const dns1035Message =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

function show(value: JsonValue | undefined): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value ?? null);
}

const required = (field: string, detail = ''): StatusCause => ({
  reason: 'FieldValueRequired',
  message: detail === '' ? 'Required value' : `Required value: ${detail}`,
  field,
});
const invalidValue = (field: string, value: JsonValue | undefined, detail: string): StatusCause => ({
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${show(value)}: ${detail}`,
  field,
});
const notSupported = (field: string, value: string, supported: readonly string[]): StatusCause => ({
  reason: 'FieldValueNotSupported',
  message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((item) => JSON.stringify(item)).join(', ')}`,
  field,
});
const duplicate = (field: string, value: JsonValue): StatusCause => ({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${show(value)}`, field });
const forbiddenField = (field: string, detail: string): StatusCause => ({ reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field });

/** Which name rule a resource's names follow. */
const nameRules: Readonly<Record<string, [RegExp, string, number]>> = {
  namespaces: [dns1123Label, labelMessage, 63],
  services: [dns1035Label, dns1035Message, 63],
};

function validateMetadata(plural: string, metadata: JsonObject, causes: Causes): void {
  const name = stringAt(metadata, 'name') ?? '';
  const [pattern, message, limit] = nameRules[plural] ?? [dns1123Subdomain, subdomainMessage, 253];
  if (name === '') causes.push(required('metadata.name', 'name or generateName is required'));
  else if (name.length > limit) causes.push(invalidValue('metadata.name', name, `must be no more than ${limit} characters`));
  else if (!pattern.test(name)) causes.push(invalidValue('metadata.name', name, message));
  for (const [key, value] of Object.entries(stringMapAt(metadata, 'labels'))) {
    const keyError = labelKeyError(key);
    if (keyError !== undefined) causes.push(invalidValue('metadata.labels', key, keyError));
    const valueError = labelValueError(value);
    if (valueError !== undefined) causes.push(invalidValue('metadata.labels', value, valueError));
  }
  for (const key of Object.keys(stringMapAt(metadata, 'annotations'))) {
    const keyError = labelKeyError(key);
    if (keyError !== undefined) causes.push(invalidValue('metadata.annotations', key, keyError));
  }
}

function validatePorts(ports: JsonObject[], path: string, causes: Causes): void {
  ports.forEach((port, index) => {
    const number = numberAt(port, 'containerPort') ?? 0;
    if (number < 1 || number > 65535) causes.push(invalidValue(`${path}[${index}].containerPort`, number, 'must be between 1 and 65535, inclusive'));
  });
}

function validateContainers(containers: JsonObject[], path: string, causes: Causes, seen: Set<string>): void {
  containers.forEach((container, index) => {
    const at = `${path}[${index}]`;
    const name = stringAt(container, 'name') ?? '';
    if (name === '') causes.push(required(`${at}.name`));
    else if (!dns1123Label.test(name)) causes.push(invalidValue(`${at}.name`, name, labelMessage));
    else if (seen.has(name)) causes.push(duplicate(`${at}.name`, name));
    seen.add(name);
    if ((stringAt(container, 'image') ?? '').trim() === '') causes.push(required(`${at}.image`));
    validatePorts(objectsAt(container, 'ports'), `${at}.ports`, causes);
    objectsAt(container, 'env').forEach((variable, envIndex) => {
      if ((stringAt(variable, 'name') ?? '') === '') causes.push(required(`${at}.env[${envIndex}].name`));
    });
  });
}

/** Validates a PodSpec at `path` (`spec` or `spec.template.spec`). */
function validatePodSpec(spec: JsonObject | undefined, path: string, causes: Causes, restartPolicies: readonly string[]): void {
  const containers = objectsAt(spec, 'containers');
  if (containers.length === 0) causes.push(required(`${path}.containers`));
  const seen = new Set<string>();
  validateContainers(objectsAt(spec, 'initContainers'), `${path}.initContainers`, causes, seen);
  validateContainers(containers, `${path}.containers`, causes, seen);
  const restartPolicy = stringAt(spec, 'restartPolicy') ?? '';
  if (!restartPolicies.includes(restartPolicy)) causes.push(notSupported(`${path}.restartPolicy`, restartPolicy, restartPolicies));
  const volumes = new Set<string>();
  objectsAt(spec, 'volumes').forEach((volume, index) => {
    const name = stringAt(volume, 'name') ?? '';
    if (name === '') causes.push(required(`${path}.volumes[${index}].name`));
    else if (volumes.has(name)) causes.push(duplicate(`${path}.volumes[${index}].name`, name));
    volumes.add(name);
  });
}

function validateWorkload(object: JsonObject, causes: Causes): void {
  const spec = objectAt(object, 'spec');
  const replicas = numberAt(spec, 'replicas') ?? 0;
  if (replicas < 0) causes.push(invalidValue('spec.replicas', replicas, 'must be greater than or equal to 0'));
  const selectorObject = objectAt(spec, 'selector');
  const selector = selectorFromObject(selectorObject);
  const template = objectAt(spec, 'template');
  const labels = stringMapAt(objectAt(template, 'metadata'), 'labels');
  if (selector === undefined || selector.length === 0) {
    causes.push(required('spec.selector'));
  } else if (!matchesLabels(selector, labels)) {
    const shown = `map[string]string{${Object.entries(labels).map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(', ')}}`;
    causes.push({ reason: 'FieldValueInvalid', field: 'spec.template.metadata.labels', message: `Invalid value: ${shown}: \`selector\` does not match template \`labels\`` });
  }
  validatePodSpec(objectAt(template, 'spec'), 'spec.template.spec', causes, ['Always']);
}

function validateService(service: JsonObject, causes: Causes): void {
  const spec = objectAt(service, 'spec');
  const type = stringAt(spec, 'type') ?? 'ClusterIP';
  const types = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
  if (!types.includes(type)) causes.push(notSupported('spec.type', type, types));
  const ports = objectsAt(spec, 'ports');
  const headless = stringAt(spec, 'clusterIP') === 'None';
  if (ports.length === 0 && type !== 'ExternalName' && !headless) causes.push(required('spec.ports'));
  const names = new Set<string>();
  ports.forEach((port, index) => {
    const number = numberAt(port, 'port') ?? 0;
    if (number < 1 || number > 65535) causes.push(invalidValue(`spec.ports[${index}].port`, number, 'must be between 1 and 65535, inclusive'));
    const name = stringAt(port, 'name') ?? '';
    if (ports.length > 1 && name === '') causes.push(required(`spec.ports[${index}].name`));
    else if (name !== '' && names.has(name)) causes.push(duplicate(`spec.ports[${index}].name`, name));
    names.add(name);
  });
}

function validateKeys(object: JsonObject, field: string, causes: Causes): void {
  for (const key of Object.keys(objectAt(object, field) ?? {})) {
    if (!configKey.test(key) || key.length > 253) {
      const detail =
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
      causes.push(invalidValue(`${field}[${key}]`, key, detail));
    }
  }
}

const validators: Readonly<Record<string, (object: JsonObject, causes: Causes) => void>> = {
  pods: (pod, causes) => validatePodSpec(objectAt(pod, 'spec'), 'spec', causes, ['Always', 'OnFailure', 'Never']),
  deployments: validateWorkload,
  replicasets: validateWorkload,
  services: validateService,
  configmaps: (map, causes) => {
    validateKeys(map, 'data', causes);
    validateKeys(map, 'binaryData', causes);
  },
  secrets: (secret, causes) => validateKeys(secret, 'data', causes),
};

/** The problems of `object` as a new `plural`; empty when it is valid. */
export function validateObject(plural: string, object: JsonObject): StatusCause[] {
  const causes: Causes = [];
  validateMetadata(plural, objectAt(object, 'metadata') ?? {}, causes);
  validators[plural]?.(object, causes);
  return causes;
}

function podSpecWithoutMutable(spec: JsonObject | undefined): JsonObject {
  const copy: JsonObject = isJsonObject(spec) ? structuredClone(spec) : {};
  for (const list of ['containers', 'initContainers']) {
    for (const container of objectsAt(copy, list)) delete container.image;
  }
  delete copy.activeDeadlineSeconds;
  delete copy.tolerations;
  delete copy.terminationGracePeriodSeconds;
  return copy;
}

/** The problems of changing `previous` into `next` (immutable fields); empty when allowed. */
export function validateUpdate(plural: string, previous: JsonObject, next: JsonObject): StatusCause[] {
  const causes: Causes = [];
  const spec = objectAt(next, 'spec');
  const oldSpec = objectAt(previous, 'spec');
  if (plural === 'pods' && !jsonEqual(podSpecWithoutMutable(oldSpec), podSpecWithoutMutable(spec))) {
    causes.push(
      forbiddenField(
        'spec',
        'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
      ),
    );
  }
  if ((plural === 'deployments' || plural === 'replicasets') && !jsonEqual(objectAt(oldSpec, 'selector'), objectAt(spec, 'selector'))) {
    causes.push(invalidValue('spec.selector', objectAt(spec, 'selector') ?? {}, 'field is immutable'));
  }
  if (plural === 'services') {
    const oldIp = stringAt(oldSpec, 'clusterIP') ?? '';
    const newIp = stringAt(spec, 'clusterIP') ?? '';
    if (oldIp !== '' && newIp !== oldIp) causes.push(invalidValue('spec.clusterIPs[0]', newIp, 'may not change once set'));
  }
  if ((plural === 'secrets' || plural === 'configmaps') && previous.immutable === true) {
    if (!jsonEqual(previous.data, next.data) || !jsonEqual(previous.binaryData, next.binaryData)) {
      causes.push(forbiddenField('data', 'field is immutable when `immutable` is set'));
    }
    if (next.immutable !== true) causes.push(forbiddenField('immutable', 'field is immutable when `immutable` is set'));
  }
  return causes;
}
