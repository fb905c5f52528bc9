/**
 * Resolution of a scope for one service against the known sites, following the paper:
 * R[s : App_i] = s_i; R[s : Loc & Loc'] = R[s : Loc] and R[s : Loc']; R[s : Loc % Loc'] = R[s : Loc]
 * spread to R[s : Loc']; and `Loc || Loc'` = the first alternative reachable now.
 */
import { operatorOfKind, type Binding, type Location, type Scope } from './ast.js';
import { resolveAround } from './around.js';
import { isReachable, validateSites, type KnownSites } from './known-sites.js';
import { printLocation } from './print.js';
import {
  BindingSource,
  collaborationOf,
  sitesOf,
  targetOf,
  type ResolvedLocation,
  type ScopeResolveResult,
} from './resolution.js';

/**
 * The binding that decides where `service` runs: its own binding, else the bare location, else
 * `around`; undefined when none applies (the request then stays local).
 */
export function bindingFor(scope: Scope, service: string): Binding | undefined {
  const { bindings } = scope;
  return (
    bindings.find((binding) => binding.kind === 'service' && binding.service === service) ??
    bindings.find((binding) => binding.kind === 'all') ??
    bindings.find((binding) => binding.kind === 'around')
  );
}

/**
 * Where a request for `service` runs under `scope`. Every site of the scope must be known, not
 * only those of the binding used: a typo elsewhere in the scope is still the user's mistake to hear
 * about (CHEOPS_SCOPE_UNKNOWN_SITE). A service no binding covers resolves to this site alone.
 */
export function resolveScope(scope: Scope, service: string, known: KnownSites): ScopeResolveResult {
  const unknown = validateSites(scope, known);
  if (unknown !== undefined) return { ok: false, error: unknown };

  const binding = bindingFor(scope, service);
  const warnings: string[] = [];
  let location: ResolvedLocation;
  if (binding === undefined) {
    location = { kind: 'site', site: known.self, self: true, up: true };
  } else if (binding.kind === 'around') {
    const around = resolveAround(binding, known);
    location = around.location;
    warnings.push(...around.warnings);
  } else {
    location = resolveLocation(binding.location, known, warnings);
  }

  const target = targetOf(location);
  return {
    ok: true,
    resolution: {
      service,
      source: binding === undefined ? BindingSource.None : binding.kind,
      collaboration: collaborationOf(location),
      location,
      target,
      targetCollaboration: collaborationOf(target),
      sites: sitesOf(target),
      warnings,
    },
  };
}

/** Resolves a location tree, deciding each failover; warnings go to `warnings`. */
export function resolveLocation(location: Location, known: KnownSites, warnings: string[]): ResolvedLocation {
  if (location.kind === 'site') {
    const { site } = location;
    return { kind: 'site', site, self: site === known.self, up: isReachable(known, site) };
  }
  const members = location.members.map((member) => resolveLocation(member, known, warnings));
  if (location.kind !== 'failover') return { kind: location.kind, members };

  const found = members.findIndex((member) => isLocationReachable(member));
  const chosen = found === -1 ? 0 : found;
  if (found !== 0) warnings.push(failoverWarning(location, members, chosen, found === -1));
  return { kind: 'failover', alternatives: members, chosen };
}

/**
 * A site is reachable when heartbeats see it up; a replication or cross group when all its sites
 * are (a group half gone cannot serve as an alternative whole); a failover when any alternative is.
 */
export function isLocationReachable(location: ResolvedLocation): boolean {
  switch (location.kind) {
    case 'site':
      return location.up;
    case 'failover':
      return location.alternatives.some((alternative) => isLocationReachable(alternative));
    default:
      return location.members.every((member) => isLocationReachable(member));
  }
}

function failoverWarning(
  written: Location,
  alternatives: readonly ResolvedLocation[],
  chosen: number,
  noneReachable: boolean,
): string {
  const text = `'${printLocation(written)}'`;
  const name = (alternative: ResolvedLocation | undefined): string =>
    alternative === undefined ? '?' : describeResolved(alternative);
  if (noneReachable) return `${text}: no alternative is reachable; trying ${name(alternatives[chosen])}`;
  const skipped = alternatives.slice(0, chosen).map(name).join(', ');
  return `${text}: ${skipped} unreachable; using ${name(alternatives[chosen])}`;
}

/** A resolved location as text, for warnings: `Site1`, `(Site1 & Site2)`. */
function describeResolved(location: ResolvedLocation): string {
  if (location.kind === 'site') return location.site;
  const parts = location.kind === 'failover' ? location.alternatives : location.members;
  return `(${parts.map(describeResolved).join(` ${operatorOfKind[location.kind]} `)})`;
}
