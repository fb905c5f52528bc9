/**
 * The generic registry: what an API server does between decoding a request and writing to storage.
 * Create fills the system fields (uid, creationTimestamp, generation), defaults, validates and admits
 * (the namespace must exist and not be terminating); update and patch check resource versions, keep
 * what clients may not change (status outside /status, uid, creation time), bump generation on spec
 * changes and skip no-op writes; /status, /scale and /finalize write only their part.
 */
import type { Clock } from '../../core/clock.js';
import type { Random } from '../../core/random.js';
import { alreadyExists, badRequest, conflict, forbidden, invalid, notFound } from './errors.js';
import {
  decodeObject,
  decodePatched,
  expectedKindOf,
  FieldValidation,
  scaleKind,
  withDefaults,
  type ExpectedKind,
} from './decode-object.js';
import { cloneJson, isJsonObject, jsonEqual, objectAt, stringAt, stringMapAt, type JsonObject, type JsonValue } from './json.js';
import { finalizersOf, isTerminating, metadataOf, nameOf, resourceVersionOf, uidOf } from './object-meta.js';
import { applyPatch, type PatchType } from './patch/apply-patch.js';
import { resourceType, type ResourceType } from './resources.js';
import { matchesFields, matchesLabels, type FieldRequirement, type LabelSelector } from './selectors.js';
import { formatTime } from './schema/normalize.js';
import type { Mutation, ObjectStore } from './store.js';
import { validateObject, validateUpdate } from './validation.js';
import { fromScale, toScale } from './scale.js';
import { initialStatus } from './pod-status.js';
import { allocateClusterIp } from './cluster-ip.js';

export interface RegistryOptions {
  readonly store: ObjectStore;
  readonly clock: Clock;
  readonly random: Random;
}

export interface WriteOptions {
  readonly dryRun?: boolean;
  readonly fieldValidation?: FieldValidation;
}

export interface WriteResult {
  readonly object: JsonObject;
  readonly warnings: readonly string[];
}

export interface ListFilter {
  readonly labels?: LabelSelector;
  readonly fields?: readonly FieldRequirement[];
}

export type Subresource = 'status' | 'scale' | 'finalize';

const nameAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

export class Registry {
  readonly store: ObjectStore;
  private readonly clock: Clock;
  private readonly random: Random;

  constructor(options: RegistryOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.random = options.random;
  }

  /** The current time as metav1.Time. */
  now(): string {
    return formatTime(this.clock.now());
  }

  /** `length` characters of Kubernetes' random-name alphabet (no vowels, no look-alikes). */
  randomSuffix(length = 5): string {
    return Array.from({ length }, () => nameAlphabet[this.random.int(nameAlphabet.length)] ?? 'x').join('');
  }

  get(type: ResourceType, namespace: string, name: string): JsonObject {
    const object = this.store.get(type, namespace, name);
    if (object === undefined) throw notFound(type, name);
    return object;
  }

  list(type: ResourceType, namespace: string | undefined, filter: ListFilter = {}): JsonObject[] {
    return this.store.list(type, namespace).filter((object) => {
      const labelMap = stringMapAt(objectAt(object, 'metadata'), 'labels');
      return matchesLabels(filter.labels ?? [], labelMap) && matchesFields(filter.fields ?? [], object);
    });
  }

  async create(type: ResourceType, namespace: string, body: unknown, options: WriteOptions = {}): Promise<WriteResult> {
    const decoded = decodeObject(expectedKindOf(type), body, options.fieldValidation ?? FieldValidation.Warn);
    const object = this.prepareCreate(type, namespace, decoded.object);
    const name = nameOf(object);
    let result = object;
    const committed = await this.store.transact(type, namespace, name, (current): Mutation => {
      if (current !== undefined) throw alreadyExists(type, name);
      this.admit(type, namespace, name);
      if (type.plural === 'services') allocateClusterIp(object, this.store, this.random);
      if (options.dryRun === true) return { keep: true };
      return { put: object };
    });
    if (options.dryRun !== true && committed !== undefined) result = committed;
    return { object: result, warnings: decoded.warnings };
  }

  private prepareCreate(type: ResourceType, namespace: string, input: JsonObject): JsonObject {
    const metadata = metadataOf(input);
    if (stringAt(metadata, 'resourceVersion') !== undefined) throw badRequest('resourceVersion should not be set on objects to be created');
    const given = stringAt(metadata, 'namespace');
    if (type.namespaced) {
      if (given !== undefined && given !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      metadata.namespace = namespace;
    } else delete metadata.namespace;
    const generateName = stringAt(metadata, 'generateName');
    if (stringAt(metadata, 'name') === undefined && generateName !== undefined) {
      metadata.name = `${generateName.slice(0, 58)}${this.randomSuffix()}`;
    }
    metadata.uid = this.random.uuid();
    metadata.creationTimestamp = this.now();
    if (type.hasGeneration) metadata.generation = 1;
    else delete metadata.generation;
    for (const key of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink', 'managedFields']) delete metadata[key];
    if (type.subresources.some((sub) => sub.name === 'status')) input.status = {};
    const object = withDefaults(type, input);
    if (type.plural === 'pods') object.status = initialStatus(object);
    if (type.plural === 'namespaces') {
      const spec = objectAt(object, 'spec') ?? {};
      const finalizers = Array.isArray(spec.finalizers) ? spec.finalizers : [];
      spec.finalizers = finalizers.includes('kubernetes') ? finalizers : [...finalizers, 'kubernetes'];
      object.spec = spec;
    }
    const causes = validateObject(type.plural, object);
    if (causes.length > 0) throw invalid(type.group, type.kind, nameOf(object), causes);
    return object;
  }

  /** Namespace lifecycle admission: the namespace must exist and must not be terminating. */
  private admit(type: ResourceType, namespace: string, name: string): void {
    if (!type.namespaced) return;
    const owner = this.store.get(resourceType('namespaces'), '', namespace);
    if (owner === undefined) throw notFound(resourceType('namespaces'), namespace);
    if (isTerminating(owner)) {
      throw forbidden(type, name, `unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  }

  /** PUT: replaces the object (or its status, scale or finalizers). */
  async update(
    type: ResourceType,
    namespace: string,
    name: string,
    body: unknown,
    options: WriteOptions = {},
    subresource?: Subresource,
  ): Promise<WriteResult> {
    const expected = subresource === 'scale' ? scaleKind : expectedKindOf(type);
    const decoded = decodeObject(expected, body, options.fieldValidation ?? FieldValidation.Warn);
    const metadata = metadataOf(decoded.object);
    const given = stringAt(metadata, 'name');
    if (given === undefined || given === '') metadata.name = name;
    else if (given !== name) throw badRequest(`the name of the object (${given}) does not match the name on the URL (${name})`);
    return this.write(type, namespace, name, options, subresource, () => decoded.object, decoded.warnings);
  }

  /** PATCH: applies a JSON, merge or strategic merge patch to the object (or its scale or status). */
  async patch(
    type: ResourceType,
    namespace: string,
    name: string,
    patchType: PatchType,
    patch: JsonValue,
    options: WriteOptions = {},
    subresource?: Subresource,
  ): Promise<WriteResult> {
    const expected: ExpectedKind = subresource === 'scale' ? scaleKind : expectedKindOf(type);
    const warnings: string[] = [];
    const candidate = (current: JsonObject): JsonObject => {
      const view = subresource === 'scale' ? toScale(current) : current;
      const patched = applyPatch(patchType, view, patch, expected.schema);
      const decoded = decodePatched(expected, patched, options.fieldValidation ?? FieldValidation.Warn);
      warnings.push(...decoded.warnings);
      return decoded.object;
    };
    return this.write(type, namespace, name, options, subresource, candidate, warnings);
  }

  private async write(
    type: ResourceType,
    namespace: string,
    name: string,
    options: WriteOptions,
    subresource: Subresource | undefined,
    candidate: (current: JsonObject) => JsonObject,
    warnings: string[],
  ): Promise<WriteResult> {
    let planned: JsonObject | undefined;
    const committed = await this.store.transact(type, namespace, name, (current): Mutation => {
      if (current === undefined) throw notFound(type, name);
      const input = candidate(current);
      checkPreconditions(type, name, current, input);
      const next = this.merge(type, current, input, subresource);
      const mutation = this.plan(type, current, next);
      planned = 'put' in mutation ? mutation.put : current;
      return options.dryRun === true ? { keep: true } : mutation;
    });
    const object = options.dryRun === true || committed === undefined ? (planned ?? {}) : committed;
    return { object: subresource === 'scale' ? toScale(object) : object, warnings };
  }

  /** What the stored object becomes when a client writes `input` (to `subresource`). */
  private merge(type: ResourceType, current: JsonObject, input: JsonObject, subresource: Subresource | undefined): JsonObject {
    if (subresource === 'scale') return fromScale(current, input);
    if (subresource === 'status') return { ...current, status: input.status ?? {} };
    if (subresource === 'finalize') {
      return { ...current, spec: { ...(objectAt(current, 'spec') ?? {}), finalizers: objectAt(input, 'spec')?.finalizers ?? [] } };
    }
    const next = cloneJson(input);
    const metadata = metadataOf(next);
    const old = metadataOf(current);
    for (const key of ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'namespace']) {
      const value = old[key];
      if (value === undefined) delete metadata[key];
      else metadata[key] = value;
    }
    delete metadata.managedFields;
    if (type.subresources.some((sub) => sub.name === 'status')) next.status = current.status ?? {};
    if (type.plural === 'namespaces') next.spec = { ...(objectAt(next, 'spec') ?? {}), finalizers: objectAt(current, 'spec')?.finalizers ?? [] };
    if (type.plural === 'services') keepAllocations(current, next);
    return next;
  }

  /** Defaults, validates and decides the write of `next` over `current`. */
  plan(type: ResourceType, current: JsonObject, proposed: JsonObject): Mutation {
    const next = withDefaults(type, proposed);
    const causes = [...validateObject(type.plural, next), ...validateUpdate(type.plural, current, next)];
    if (causes.length > 0) throw invalid(type.group, type.kind, nameOf(next), causes);
    const metadata = metadataOf(next);
    metadata.resourceVersion = resourceVersionOf(current);
    if (type.hasGeneration && !jsonEqual(withoutMetaAndStatus(current), withoutMetaAndStatus(next))) {
      metadata.generation = (Number(metadataOf(current).generation) || 0) + 1;
    }
    if (jsonEqual(current, next)) return { keep: true };
    return readyToRemove(type, next) ? { delete: true } : { put: next };
  }

  /**
   * An internal write by a controller: `change` edits a copy of the object (returning undefined
   * leaves it alone). No validation of immutable fields; no-ops are not written.
   */
  async mutate(type: ResourceType, namespace: string, name: string, change: (object: JsonObject) => JsonObject | undefined): Promise<JsonObject | undefined> {
    return this.store.transact(type, namespace, name, (current): Mutation => {
      if (current === undefined) return { keep: true };
      const next = change(cloneJson(current));
      if (next === undefined) return { keep: true };
      const normalized = withDefaults(type, next);
      metadataOf(normalized).resourceVersion = resourceVersionOf(current);
      if (jsonEqual(current, normalized)) return { keep: true };
      return readyToRemove(type, normalized) ? { delete: true } : { put: normalized };
    });
  }

  /** Creates an object on behalf of a controller (the same path as a client's create). */
  async createInternal(plural: string, namespace: string, object: JsonObject): Promise<JsonObject> {
    return (await this.create(resourceType(plural), namespace, object, { fieldValidation: FieldValidation.Strict })).object;
  }
}

/**
 * A service update that leaves the cluster IP or node ports unset keeps the allocated ones, as the
 * service strategy's patchAllocatedValues does (so `kubectl replace` of a manifest works).
 */
function keepAllocations(current: JsonObject, next: JsonObject): void {
  const spec = objectAt(next, 'spec');
  const oldSpec = objectAt(current, 'spec');
  if (spec === undefined || oldSpec === undefined) return;
  if ((stringAt(spec, 'clusterIP') ?? '') === '' && oldSpec.clusterIP !== undefined) {
    spec.clusterIP = oldSpec.clusterIP;
    spec.clusterIPs = oldSpec.clusterIPs ?? [oldSpec.clusterIP];
  }
  const oldPorts = Array.isArray(oldSpec.ports) ? oldSpec.ports : [];
  for (const port of Array.isArray(spec.ports) ? spec.ports : []) {
    if (!isJsonObject(port) || (typeof port.nodePort === 'number' && port.nodePort > 0)) continue;
    const previous = oldPorts.find((candidate) => isJsonObject(candidate) && candidate.port === port.port && (candidate.protocol ?? 'TCP') === (port.protocol ?? 'TCP'));
    if (isJsonObject(previous) && typeof previous.nodePort === 'number') port.nodePort = previous.nodePort;
  }
}

/**
 * True when a terminating object may go: no finalizers left, no grace period running, and for a
 * namespace no `spec.finalizers` either.
 */
export function readyToRemove(type: ResourceType, object: JsonObject): boolean {
  if (!isTerminating(object) || finalizersOf(object).length > 0) return false;
  if (Number(metadataOf(object).deletionGracePeriodSeconds ?? 0) !== 0) return false;
  if (type.plural !== 'namespaces') return true;
  const finalizers = objectAt(object, 'spec')?.finalizers;
  return !Array.isArray(finalizers) || finalizers.length === 0;
}

function withoutMetaAndStatus(object: JsonObject): JsonObject {
  const { metadata: _metadata, status: _status, ...rest } = object;
  return rest;
}

function checkPreconditions(type: ResourceType, name: string, current: JsonObject, input: JsonObject): void {
  const version = resourceVersionOf(input);
  if (version !== '' && version !== resourceVersionOf(current)) {
    throw conflict(type, name, 'the object has been modified; please apply your changes to the latest version and try again');
  }
  const uid = uidOf(input);
  if (uid !== '' && uid !== uidOf(current)) {
    throw conflict(type, name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${uidOf(current)}`);
  }
}
