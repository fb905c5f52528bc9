/**
 * Runs the stand-in's controllers (deployment, replica set, scheduler and kubelet, garbage
 * collector, namespace lifecycle) off the store's change events, through one work queue.
 */
import type { Logger } from '../../../core/logger.js';
import type { Random } from '../../../core/random.js';
import { stringAt, type JsonObject } from '../json.js';
import { controllerOf, finalizersOf, isTerminating, nameOf, namespaceOf, ownerReferencesOf, uidOf } from '../object-meta.js';
import type { Registry } from '../registry.js';
import { resourceType, resourceTypes, type ResourceType } from '../resources.js';
import type { StoreEvent } from '../store.js';
import { reconcileDeployment } from './deployment-controller.js';
import { reconcileEndpoints } from './endpoints-controller.js';
import { collectDependents, processDeletingOwner } from './garbage-collector.js';
import { nodeIdentityOf, reconcilePod, type NodeIdentity } from './kubelet.js';
import { ensureDefaultServiceAccount, finalizeNamespace } from './namespace-controller.js';
import { reconcileReplicaSet } from './replicaset-controller.js';
import { WorkQueue } from './work-queue.js';

export interface ControllerManagerOptions {
  readonly registry: Registry;
  readonly random: Random;
  readonly logger: Logger;
  readonly site: string;
}

export class ControllerManager {
  private readonly queue: WorkQueue;
  private readonly registry: Registry;
  private readonly random: Random;
  private readonly node: NodeIdentity;
  private unsubscribe: (() => void) | undefined;

  constructor(options: ControllerManagerOptions) {
    this.registry = options.registry;
    this.random = options.random;
    this.node = nodeIdentityOf(options.site);
    this.queue = new WorkQueue(options.logger.child({ component: 'standin-controllers' }));
  }

  /** Subscribes to changes and reconciles everything once (state loaded from storage). */
  start(): void {
    this.unsubscribe = this.registry.store.subscribe((event) => this.onEvent(event));
    for (const type of resourceTypes) {
      for (const object of this.registry.store.list(type)) this.enqueueFor(type, object, 'MODIFIED');
    }
  }

  stop(): void {
    this.unsubscribe?.();
    this.queue.stop();
  }

  /** Resolves when the controllers have nothing left to do. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private onEvent(event: StoreEvent): void {
    this.enqueueFor(event.resource, event.object, event.type);
  }

  private enqueueFor(type: ResourceType, object: JsonObject, eventType: StoreEvent['type']): void {
    const namespace = namespaceOf(object);
    const name = nameOf(object);
    switch (type.plural) {
      case 'deployments':
        this.deployment(namespace, name);
        break;
      case 'replicasets':
        this.replicaSet(namespace, name);
        this.ownerDeployment(object);
        break;
      case 'pods':
        this.add(`pod/${namespace}/${name}`, () => reconcilePod(this.registry, this.random, this.node, namespace, name));
        this.ownerReplicaSet(object);
        for (const service of this.registry.store.list(resourceType('services'), namespace)) this.endpoints(namespace, nameOf(service));
        break;
      case 'services':
        this.endpoints(namespace, name);
        break;
      case 'namespaces':
        this.add(`namespace/${name}`, () => this.namespace(name));
        break;
      default:
        break;
    }
    if (type.plural === 'serviceaccounts' && name === 'default' && eventType === 'DELETED') {
      this.add(`namespace/${namespace}`, () => this.namespace(namespace));
    }
    this.garbage(type, object, eventType);
  }

  private async namespace(name: string): Promise<void> {
    await ensureDefaultServiceAccount(this.registry, name);
    await finalizeNamespace(this.registry, name);
  }

  private garbage(type: ResourceType, object: JsonObject, eventType: StoreEvent['type']): void {
    const namespace = namespaceOf(object);
    const name = nameOf(object);
    if (eventType === 'DELETED') {
      const uid = uidOf(object);
      this.add(`gc/${uid}`, () => collectDependents(this.registry, type.namespaced ? namespace : '', uid));
    }
    if (isTerminating(object) && finalizersOf(object).some((item) => item === 'orphan' || item === 'foregroundDeletion')) {
      this.add(`owner/${type.plural}/${namespace}/${name}`, () => processDeletingOwner(this.registry, type, namespace, name));
    }
    for (const reference of ownerReferencesOf(object)) {
      const ownerType = resourceTypes.find((candidate) => candidate.kind === reference.kind);
      if (ownerType === undefined) continue;
      const ownerNamespace = ownerType.namespaced ? namespace : '';
      const ownerName = stringAt(reference, 'name') ?? '';
      this.add(`owner/${ownerType.plural}/${ownerNamespace}/${ownerName}`, () => processDeletingOwner(this.registry, ownerType, ownerNamespace, ownerName));
    }
    if (type.namespaced && namespace !== '') {
      const owner = this.registry.store.get(resourceType('namespaces'), '', namespace);
      if (owner !== undefined && isTerminating(owner)) this.add(`namespace/${namespace}`, () => this.namespace(namespace));
    }
  }

  private endpoints(namespace: string, name: string): void {
    this.add(`endpoints/${namespace}/${name}`, () => reconcileEndpoints(this.registry, namespace, name));
  }

  private deployment(namespace: string, name: string): void {
    this.add(`deployment/${namespace}/${name}`, () => reconcileDeployment(this.registry, namespace, name));
  }

  private replicaSet(namespace: string, name: string): void {
    this.add(`replicaset/${namespace}/${name}`, () => reconcileReplicaSet(this.registry, namespace, name));
  }

  private ownerDeployment(replicaSet: JsonObject): void {
    const owner = controllerOf(replicaSet);
    if (owner?.kind === 'Deployment') this.deployment(namespaceOf(replicaSet), stringAt(owner, 'name') ?? '');
  }

  private ownerReplicaSet(pod: JsonObject): void {
    const owner = controllerOf(pod);
    if (owner?.kind === 'ReplicaSet') this.replicaSet(namespaceOf(pod), stringAt(owner, 'name') ?? '');
  }

  private add(key: string, work: () => Promise<void>): void {
    this.queue.add(key, work);
  }
}
