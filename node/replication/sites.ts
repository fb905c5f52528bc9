/**
 * What replication needs to know of the other sites, synchronously (scope resolution and the share
 * policy run on every request and every sync message, and never wait): names, peer ids, HTTP fronts
 * and liveness. The composition root adapts the site directory and heartbeats (SitesView) to it.
 */
import type { PeerIdString, SiteName } from '../../core/ids.js';
import type { KnownSites } from '../../scope/index.js';

/** The sites as replication sees them, answered synchronously. */
export interface SitesPort {
  /** This site. */
  readonly self: SiteName;
  /** Every site of the directory, this one included. */
  names(): readonly SiteName[];
  peerIdOf(site: SiteName): PeerIdString | undefined;
  /** The base URL of the site's HTTP front. */
  httpOf(site: SiteName): string | undefined;
  /** Whether heartbeats see the site up (this site always is). */
  isUp(site: SiteName): boolean;
  /** The smoothed RTT from this site to `site`, when measured. */
  rttMs(site: SiteName): number | undefined;
}

/** The scope resolver's view of the sites. */
export function knownSitesOf(sites: SitesPort): KnownSites {
  return {
    self: sites.self,
    sites: sites.names(),
    isUp: (site) => sites.isUp(site),
    // Only this site's own measurements exist; RTTs between two other sites are not known here.
    rttMs: (from, to) => (from === sites.self ? (to === sites.self ? 0 : sites.rttMs(to)) : undefined),
  };
}

/** The peer ids of `names` other than this site's (sites not in the directory yet are left out). */
export function peerIdsOf(sites: SitesPort, names: readonly SiteName[]): Set<PeerIdString> {
  const peers = new Set<PeerIdString>();
  for (const name of names) {
    if (name === sites.self) continue;
    const peer = sites.peerIdOf(name);
    if (peer !== undefined) peers.add(peer);
  }
  return peers;
}

/**
 * The site a shared dependency was taken from (the first of its sites, share.ts), when it is
 * another site and heartbeats see it down: what relies on the dependency here is at risk
 * (DESIGN.md §8).
 */
export function unreachableOwner(sites: SitesPort, dependencySites: readonly SiteName[]): SiteName | undefined {
  const owner = dependencySites[0];
  return owner === undefined || owner === sites.self || sites.isUp(owner) ? undefined : owner;
}
