/**
 * Names of a cross namespace (DESIGN.md §7): an object lives on one member; one made on two
 * members (each side of a partition made it) must be told apart after the heal. So, once the run
 * has settled, an object held by two members or more is claimed by each of them in the
 * namespace's replicant (node/replication/cross-claims.ts), which every member holds alike: each
 * member then reads and changes the same, first, claim's object and reports the others. An object
 * held twice without those claims is a double nobody can see.
 */
import { keyText } from '../../crdt/replicant.js';
import { appKeyText } from '../workload/key-space.js';
import { describeRef, resultOf, type CheckContext, type CheckerResult } from './types.js';

export function checkCrossNames(ctx: CheckContext): CheckerResult {
  const violations: string[] = [];
  let checked = 0;
  const containers = new Map(ctx.keys.containers.map((container) => [container.ref.name, container]));
  const claimsOf = (namespace: string): ReadonlyArray<{ site: string; key: string }> => {
    const container = containers.get(namespace);
    if (container === undefined) return [];
    for (const history of ctx.final.histories.values()) {
      const replicant = history.replicant;
      if (replicant !== undefined && keyText(replicant.meta.key) === keyText(container.resourceKey) && !replicant.deleted) {
        return replicant.claims.map((claim) => ({ site: claim.site, key: keyText(claim.key) }));
      }
    }
    return [];
  };
  for (const key of ctx.keys.ofKind('cross')) {
    checked += 1;
    const holders = key.sites.filter((site) => ctx.final.apps.get(site)?.has(appKeyText(key.ref)) === true);
    if (holders.length < 2) continue;
    const claimed = new Set(claimsOf(key.ref.namespace).filter((claim) => claim.key === keyText(key.resourceKey)).map((claim) => claim.site));
    const unclaimed = holders.filter((site) => !claimed.has(site));
    if (unclaimed.length > 0) {
      violations.push(`${describeRef(key.ref)} is held by ${holders.join(', ')}, but ${unclaimed.join(', ')} ${unclaimed.length === 1 ? 'has' : 'have'} no claim on it: the double is not told apart`);
    }
  }
  return resultOf('cross-names', checked, violations);
}
