/**
 * `around: X, d`: every known site whose round-trip time from X is at most d, X included, as one
 * replication. RTTs come from heartbeats; until there are any, the sites known up stand in.
 */
import type { SiteName } from '../core/ids.js';
import { durationMs, type AroundBinding } from './ast.js';
import { isReachable, knownSiteNames, type KnownSites } from './known-sites.js';
import { printBinding } from './print.js';
import type { ResolvedLocation, ResolvedSite } from './resolution.js';

/** The sites an `around` binding stands for, and what the user should hear about how. */
export interface AroundResult {
  readonly location: ResolvedLocation;
  readonly warnings: readonly string[];
}

interface Measured {
  readonly site: SiteName;
  readonly rttMs: number | undefined;
}

/**
 * Resolves `around: X, d`. The centre comes first, then the sites within reach by increasing RTT
 * (directory order among equals), so the list reads nearest first. A site with no measurement
 * from X is left out, with a warning: it may be near or far, and a guess would place data
 * somewhere the user did not ask for. Being down does not leave a site out: replication is local
 * first, and a nearby site that is down catches up when it returns.
 */
export function resolveAround(binding: AroundBinding, known: KnownSites): AroundResult {
  const centre = binding.site.site;
  const others: Measured[] = knownSiteNames(known)
    .filter((site) => site !== centre)
    .map((site) => ({ site, rttMs: known.rttMs(centre, site) }));
  const text = `'${printBinding(binding)}'`;

  if (others.length > 0 && others.every((other) => other.rttMs === undefined)) {
    const up = [centre, ...others.map((other) => other.site).filter((site) => isReachable(known, site))];
    return {
      location: group(up, known),
      warnings: [`no RTT measured from ${centre} yet: ${text} falls back to the sites known up (${up.join(', ')})`],
    };
  }

  const radius = durationMs(binding.duration);
  const within = others
    .filter((other): other is { site: SiteName; rttMs: number } => other.rttMs !== undefined && other.rttMs <= radius)
    .sort((a, b) => a.rttMs - b.rttMs);
  const unmeasured = others.filter((other) => other.rttMs === undefined).map((other) => other.site);
  const warnings =
    unmeasured.length === 0
      ? []
      : [`no RTT measured from ${centre} to ${unmeasured.join(', ')} yet: left out of ${text}`];
  return { location: group([centre, ...within.map((other) => other.site)], known), warnings };
}

function siteOf(site: SiteName, known: KnownSites): ResolvedSite {
  return { kind: 'site', site, self: site === known.self, up: isReachable(known, site) };
}

/** One site stays a site (local or remote); several make a replication. */
function group(sites: readonly SiteName[], known: KnownSites): ResolvedLocation {
  const members = sites.map((site) => siteOf(site, known));
  const [only] = members;
  if (members.length === 1 && only !== undefined) return only;
  return { kind: 'replication', members };
}
