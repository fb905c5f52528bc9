/**
 * The resources a workload writes, each with the sites that may ever hold it. The kinds:
 *
 * - `replicated`: a scope of two sites or more (`{Site1 & Site3}`). Scopes are drawn from the seed
 *   and overlap; several keys share each scope;
 * - `remote`: a scope of one site (`{Site2}`): local on that site, forwarded from the others, never
 *   replicated;
 * - `local`: no scope at all, written on one site only: plain passthrough;
 * - `cross`: an object of a cross namespace (`{Site1 % Site3}`, DESIGN.md §7): it lives on one
 *   member, written without a scope from a member (the namespace's applies) and with it from
 *   elsewhere; two members may each make it during a partition, which the heal must tell apart.
 *   The namespace itself (`container`) is set up before the run and is not written by it;
 * - `shared` and `dependent` (sharing, DESIGN.md §7–§8, drawn apart in sharing-keys.ts): a
 *   secret owned by one site, and pods on other sites whose scope takes secrets from the owner
 *   (`{pods: Site1, secrets: Site2}`), each relying on the secret: it is shared to them.
 *
 * The checkers need the inverse too: which key a replicant document belongs to. Meta-IDs are
 * derived from the key and the incarnation (crdt/replicant.ts), so every incarnation a run can
 * reach is mapped in advance.
 */
import { asSiteName, type MetaId, type ResourceKey, type SiteName } from '../../core/ids.js';
import { metaIdOf } from '../../crdt/replicant.js';
import { kubernetesApp } from '../../glue/kubernetes/resource-key.js';
import type { SeededRandom } from '../core/seeded-random.js';
import type { AppObjectKey } from '../harness/app-log.js';
import type { ObjectRef, WorkloadResource } from './kubectl-requests.js';

export type KeyKind = 'replicated' | 'remote' | 'local' | 'cross' | 'container' | 'shared' | 'dependent';

/** One resource of the workload. */
export interface WorkloadKey {
  readonly ref: ObjectRef;
  readonly kind: KeyKind;
  /**
   * The sites that may hold it (the scope's sites; the one site of a remote or local key). A
   * shared secret's are its owner, first, then every site of every pod relying on it.
   */
  readonly sites: readonly SiteName[];
  /** The scope text sent with scoped writes; undefined for local keys and shared secrets (written without one). */
  readonly scope: string | undefined;
  /** Its Cheops resource key (replicated keys' replicants name it). */
  readonly resourceKey: ResourceKey;
  /** A dependent pod's secret, and how its spec refers to it. */
  readonly relies?: { readonly secret: WorkloadKey; readonly via: SecretReference };
  /**
   * A site outside the scope of a replicated key that some of its writes add to their scope: such
   * a write widens the replicant to it (node/replication/interceptor.ts). Not in `sites`.
   */
  readonly widenTo?: SiteName;
}

/** The sites that may ever hold `key`: its scope's, and the one its writes may widen it to. */
export function sitesThatMayHold(key: WorkloadKey): readonly SiteName[] {
  return key.widenTo === undefined ? key.sites : [...key.sites, key.widenTo];
}

/**
 * Whether a replicant of `key` says itself which sites must hold it: a shared secret's (its owner
 * and the sites it was shared with) and a widenable key's (its scope, and the site a write may
 * have added). Others are held by their scope's sites.
 */
export function listsItsOwnSites(key: WorkloadKey): boolean {
  return key.kind === 'shared' || key.widenTo !== undefined;
}

/** How a dependent pod's spec refers to its secret: an env var's `secretKeyRef`, or a secret volume. */
export type SecretReference = 'env' | 'volume';

export interface KeySpaceOptions {
  /** Replicated keys in all. */
  readonly replicated: number;
  /** Remote keys per site. */
  readonly remotePerSite: number;
  /** Local keys per site. */
  readonly localPerSite: number;
  /** Objects in the run's cross namespace (none with fewer than two sites). */
  readonly cross?: number;
  /** How many distinct replication scopes the replicated keys share. */
  readonly scopes: number;
}

/** Incarnations mapped per key: far more deletes than any run makes. */
const mappedIncarnations = 64;

const resources: readonly WorkloadResource[] = ['configmaps', 'configmaps', 'secrets', 'pods'];
const shortNames: Readonly<Record<WorkloadResource, string>> = { configmaps: 'cm', secrets: 'sec', pods: 'pod', deployments: 'deploy', namespaces: 'ns' };

/** The cross namespace a run sets up. */
export const crossNamespace = 'spread';

/** The text of an application key, as the maps below use it. */
export function appKeyText(key: AppObjectKey | ObjectRef): string {
  const service = 'service' in key ? key.service : key.resource;
  return `${service}/${key.namespace ?? ''}/${key.name}`;
}

/** `{Site1 & Site3}` */
export function scopeText(sites: readonly SiteName[]): string {
  return `{${sites.join(' & ')}}`;
}

/** `{Site1 % Site3}` */
export function crossScopeText(sites: readonly SiteName[]): string {
  return `{${sites.join(' % ')}}`;
}

/** The keys of a run, and the maps from what sites hold back to them. */
export class KeySpace {
  /** The keys the workload writes and reads. */
  readonly keys: readonly WorkloadKey[];
  /**
   * The keys the main workload and the reads pick from: all but the sharing ones, which the
   * sharing workload writes from a random stream of its own (so the others' draws stay put).
   */
  readonly keysWithoutSharing: readonly WorkloadKey[];
  /** The cross namespaces set up before the run (not written by it). */
  readonly containers: readonly WorkloadKey[];
  private readonly byText = new Map<string, WorkloadKey>();
  private readonly byMeta = new Map<MetaId, { key: WorkloadKey; incarnation: number }>();

  constructor(keys: readonly WorkloadKey[], containers: readonly WorkloadKey[] = []) {
    this.keys = keys;
    this.keysWithoutSharing = keys.filter((key) => !isSharingKind(key.kind));
    this.containers = containers;
    for (const key of [...keys, ...containers]) {
      this.byText.set(appKeyText(key.ref), key);
      if (!hasReplicants(key)) continue;
      for (let incarnation = 0; incarnation < mappedIncarnations; incarnation += 1) {
        this.byMeta.set(metaIdOf(key.resourceKey, incarnation), { key, incarnation });
      }
    }
  }

  /** The workload key an application path names, if it is one. */
  byAppKey(key: AppObjectKey): WorkloadKey | undefined {
    return this.byText.get(appKeyText(key));
  }

  /** The key and incarnation of a replicant's meta-ID, if the workload made it. */
  byMetaId(metaId: MetaId): { key: WorkloadKey; incarnation: number } | undefined {
    return this.byMeta.get(metaId);
  }

  ofKind(kind: KeyKind): WorkloadKey[] {
    return this.keys.filter((key) => key.kind === kind);
  }

  /** This key space with `extra` keys after its own (the sharing keys, drawn apart). */
  withKeys(extra: readonly WorkloadKey[]): KeySpace {
    return extra.length === 0 ? this : new KeySpace([...this.keys, ...extra], this.containers);
  }
}

/** Whether keys of `kind` belong to sharing (written by the sharing workload). */
export function isSharingKind(kind: KeyKind): boolean {
  return kind === 'shared' || kind === 'dependent';
}

/**
 * Whether Cheops may make replicants of `key`: a replicated key, a cross namespace, a shared
 * secret (once shared), a pod relying on one that is replicated over two sites or more.
 */
export function hasReplicants(key: WorkloadKey): boolean {
  switch (key.kind) {
    case 'replicated':
    case 'container':
    case 'shared':
      return true;
    case 'dependent':
      return key.sites.length > 1;
    default:
      return false;
  }
}

/** Whether every acknowledged write of `key` is a replicated one (its writes carry a meta-ID). */
export function replicatedLike(key: WorkloadKey): boolean {
  return key.kind === 'replicated' || (key.kind === 'dependent' && key.sites.length > 1);
}

/** A workload key of `kind` over `sites` (tests build their own key spaces with it). */
export function workloadKey(resource: WorkloadResource, name: string, kind: KeyKind, sites: readonly SiteName[], namespace = 'default'): WorkloadKey {
  const ref: ObjectRef = { resource, namespace, name };
  return {
    ref,
    kind,
    sites,
    scope: kind === 'local' || kind === 'shared' ? undefined : kind === 'cross' ? crossScopeText(sites) : scopeText(sites),
    resourceKey: { app: kubernetesApp, service: resource, namespace, name },
  };
}

/** The cross namespace `name` over `sites`, as a key (its replicant is the namespace's). */
export function containerKey(name: string, sites: readonly SiteName[]): WorkloadKey {
  return {
    ref: { resource: 'namespaces', namespace: '', name },
    kind: 'container',
    sites,
    scope: crossScopeText(sites),
    resourceKey: { app: kubernetesApp, service: 'namespaces', name },
  };
}

/** Draws `count` scopes of two sites or more; they overlap (several share sites). */
function drawScopes(random: SeededRandom, names: readonly SiteName[], count: number): SiteName[][] {
  const scopes: SiteName[][] = [];
  for (let index = 0; index < count; index += 1) {
    const size = 2 + random.int(Math.max(1, Math.min(names.length, 4) - 1));
    const members = new Set(random.shuffle(names).slice(0, size));
    // Scope order as the user writes it: by site number, so `{Site1 & Site3}`.
    scopes.push(names.filter((name) => members.has(name)));
  }
  return scopes;
}

/** The key space of a run over `names`, drawn from `random`. */
export function buildKeySpace(random: SeededRandom, names: readonly SiteName[], options: KeySpaceOptions): KeySpace {
  const keys: WorkloadKey[] = [];
  const resourceOf = (): WorkloadResource => random.pick(resources);
  if (names.length >= 2) {
    const scopes = drawScopes(random, names, options.scopes);
    for (let index = 0; index < options.replicated; index += 1) {
      const scopeIndex = index % scopes.length;
      const resource = resourceOf();
      keys.push(workloadKey(resource, `${shortNames[resource]}-r${scopeIndex}-${index}`, 'replicated', scopes[scopeIndex] ?? names));
    }
  }
  names.forEach((site, siteIndex) => {
    for (let index = 0; index < options.remotePerSite; index += 1) {
      const resource = resourceOf();
      keys.push(workloadKey(resource, `${shortNames[resource]}-x${siteIndex + 1}-${index}`, 'remote', [site]));
    }
    for (let index = 0; index < options.localPerSite; index += 1) {
      const resource = resourceOf();
      keys.push(workloadKey(resource, `${shortNames[resource]}-l${siteIndex + 1}-${index}`, 'local', [site]));
    }
  });
  // Drawn last, so that the keys above are drawn as they were before cross keys existed.
  const containers: WorkloadKey[] = [];
  if (names.length >= 2 && (options.cross ?? 0) > 0) {
    const [members = [...names]] = drawScopes(random, names, 1);
    containers.push(containerKey(crossNamespace, members));
    for (let index = 0; index < (options.cross ?? 0); index += 1) {
      const resource = resourceOf();
      keys.push(workloadKey(resource, `${shortNames[resource]}-c-${index}`, 'cross', members, crossNamespace));
    }
  }
  // Some replicated keys are deployments (composition: only the parent is replicated), drawn from a
  // stream of their own, as is widening below: the keys and scopes above are drawn as they were.
  const composing = random.fork('deployments');
  const composed = keys.map((key) => {
    if (key.kind !== 'replicated' || !composing.chance(0.2)) return key;
    return workloadKey('deployments', key.ref.name.replace(/^[a-z]+-/, `${shortNames.deployments}-`), 'replicated', key.sites);
  });
  const widening = random.fork('widen');
  const widened = composed.map((key) => {
    const outside = names.filter((name) => !key.sites.includes(name));
    if (key.kind !== 'replicated' || outside.length === 0 || !widening.chance(0.5)) return key;
    return { ...key, widenTo: widening.pick(outside) };
  });
  return new KeySpace(widened, containers);
}

/** Site names as branded values. */
export function siteNamesOf(names: readonly string[]): SiteName[] {
  return names.map(asSiteName);
}
