/**
 * The sharing keys of a run (DESIGN.md §7–§8): a few secrets, each owned by one site, and pods on
 * other sites relying on them through their scope, `{pods: Site1, secrets: Site2}` (a pod on one
 * site) or `{pods: Site1 & Site3, secrets: Site2}` (a pod replicated over two sites, neither the
 * owner). Creating such a pod shares the secret from its owner to the pod's sites, kept in step.
 *
 * A secret's dependents go round the other sites in turn, so that a secret is shared with two
 * consumer sites or more (the case where a second site shares what is shared already). Only with
 * three sites or more: the owner and two consumers. Drawn from a stream of their own, after
 * every other key, so that the other keys of a seed stay as they were.
 */
import type { SiteName } from '../../core/ids.js';
import type { SeededRandom } from '../core/seeded-random.js';
import { workloadKey, type SecretReference, type WorkloadKey } from './key-space.js';

/** How many secrets, and how many pods rely on each (drawn between the two bounds). */
export interface SharingKeyOptions {
  readonly secrets: number;
  readonly minDependents: number;
  readonly maxDependents: number;
}

/** Share of dependents replicated over two sites. */
const replicatedDependentShare = 0.3;

/** `{pods: Site1 & Site3, secrets: Site2}` */
export function sharingScopeText(podSites: readonly SiteName[], owner: SiteName): string {
  return `{pods: ${podSites.join(' & ')}, secrets: ${owner}}`;
}

/** A secret owned by `sites[0]`, which may also be held by `sites[1…]` (its dependents' sites). */
export function sharedSecretKey(name: string, sites: readonly SiteName[]): WorkloadKey {
  return workloadKey('secrets', name, 'shared', sites);
}

/** A pod on `sites` relying on `secret`, taken from its owner by its scope. */
export function dependentPodKey(name: string, sites: readonly SiteName[], secret: WorkloadKey, via: SecretReference): WorkloadKey {
  const owner = secret.sites[0];
  if (owner === undefined) throw new RangeError(`${secret.ref.name} has no owner`);
  return { ...workloadKey('pods', name, 'dependent', sites), scope: sharingScopeText(sites, owner), relies: { secret, via } };
}

/** The owner of a shared secret, or of the secret a dependent pod relies on. */
export function ownerOf(key: WorkloadKey): SiteName | undefined {
  return key.kind === 'shared' ? key.sites[0] : key.relies?.secret.sites[0];
}

/** Draws the sharing keys over `names`: every secret first, then its dependents. */
export function drawSharingKeys(random: SeededRandom, names: readonly SiteName[], options: SharingKeyOptions): WorkloadKey[] {
  if (names.length < 3) return [];
  const keys: WorkloadKey[] = [];
  for (let index = 0; index < options.secrets; index += 1) {
    const owner = random.pick(names);
    const consumers = names.filter((site) => site !== owner);
    const count = options.minDependents + random.int(Math.max(1, options.maxDependents - options.minDependents + 1));
    const offset = random.int(consumers.length);
    const consumerAt = (position: number): SiteName => consumers[position % consumers.length] as SiteName;
    const plans = Array.from({ length: count }, (_, dependent) => {
      const first = consumerAt(offset + dependent);
      const chosen = random.chance(replicatedDependentShare) ? [first, consumerAt(offset + dependent + 1)] : [first];
      const via: SecretReference = random.chance(0.5) ? 'env' : 'volume';
      // Site order as the user writes it: by site number.
      return { sites: names.filter((site) => chosen.includes(site)), via };
    });
    const secret = sharedSecretKey(`sec-s${index}`, [owner, ...consumers.filter((site) => plans.some((plan) => plan.sites.includes(site)))]);
    keys.push(secret);
    plans.forEach((plan, dependent) => keys.push(dependentPodKey(`pod-s${index}-${dependent}`, plan.sites, secret, plan.via)));
  }
  return keys;
}
