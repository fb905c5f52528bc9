/**
 * The result of resolving a scope for one service: the location tree with sites marked (this site,
 * up or not) and failovers decided, what kind of collaboration it asks for, and the sites involved.
 */
import type { CheopsError } from '../core/errors.js';
import type { SiteName } from '../core/ids.js';

/** What a resolved location asks the node to do. */
export const Collaboration = {
  /** Run on this site only: pass the request through to the local application. */
  Local: 'local',
  /** Run on one other site: forward the request there. */
  Remote: 'remote',
  /** Run on every site of the location (`&`). */
  Replication: 'replication',
  /** One resource spread over the sites (`%`). */
  Cross: 'cross',
  /** The first reachable alternative (`||`); see the resolution's `target` for the one chosen. */
  Failover: 'failover',
} as const;
export type Collaboration = (typeof Collaboration)[keyof typeof Collaboration];
/** A collaboration once failovers are decided. */
export type TargetCollaboration = Exclude<Collaboration, 'failover'>;

/** Which binding of the scope decided where the service runs. */
export const BindingSource = {
  /** The service's own binding (`pods: …`). */
  Service: 'service',
  /** The bare location that binds every service. */
  All: 'all',
  /** The `around` binding. */
  Around: 'around',
  /** No binding applies: the request stays on this site (passthrough). */
  None: 'none',
} as const;
export type BindingSource = (typeof BindingSource)[keyof typeof BindingSource];

/** One site of a resolved location. */
export interface ResolvedSite {
  readonly kind: 'site';
  readonly site: SiteName;
  /** True for the site doing the resolving. */
  readonly self: boolean;
  /** Reachable now: always for this site, for others when heartbeats see them up. */
  readonly up: boolean;
}

/** A replication or cross group, with its members resolved. */
export interface ResolvedGroup<Member> {
  readonly kind: 'replication' | 'cross';
  readonly members: readonly Member[];
}

/** A failover with every alternative resolved and the one to use now. */
export interface ResolvedFailover {
  readonly kind: 'failover';
  readonly alternatives: readonly ResolvedLocation[];
  /**
   * Index of the first reachable alternative (a group is reachable when all its sites are); 0,
   * with a warning, when none is.
   */
  readonly chosen: number;
}

/** A resolved location tree, failovers included. */
export type ResolvedLocation = ResolvedSite | ResolvedGroup<ResolvedLocation> | ResolvedFailover;
/** A resolved location with every failover replaced by its chosen alternative. */
export type ResolvedTarget = ResolvedSite | ResolvedGroup<ResolvedTarget>;

/** Where one service's request runs under a scope. */
export interface ScopeResolution {
  readonly service: string;
  readonly source: BindingSource;
  /** The collaboration of `location` as written: `failover` when it is `A || B`. */
  readonly collaboration: Collaboration;
  readonly location: ResolvedLocation;
  /** `location` with failovers decided: what to run now. */
  readonly target: ResolvedTarget;
  /** The collaboration of `target`. */
  readonly targetCollaboration: TargetCollaboration;
  /** The sites of `target`, in the order written, each once. */
  readonly sites: readonly SiteName[];
  /** Things the user should hear about (a `Warning` header): fallbacks, failovers taken. */
  readonly warnings: readonly string[];
}

/** The outcome of resolving: a resolution, or a CHEOPS_SCOPE_UNKNOWN_SITE error. */
export type ScopeResolveResult =
  | { readonly ok: true; readonly resolution: ScopeResolution }
  | { readonly ok: false; readonly error: CheopsError };

/** The collaboration a resolved location asks for. */
export function collaborationOf(location: ResolvedTarget): TargetCollaboration;
export function collaborationOf(location: ResolvedLocation): Collaboration;
export function collaborationOf(location: ResolvedLocation): Collaboration {
  if (location.kind === 'site') return location.self ? Collaboration.Local : Collaboration.Remote;
  return location.kind;
}

/** The location with each failover replaced by its chosen alternative. */
export function targetOf(location: ResolvedLocation): ResolvedTarget {
  switch (location.kind) {
    case 'site':
      return location;
    case 'failover': {
      const chosen = location.alternatives[location.chosen] ?? location.alternatives[0];
      // A failover always has alternatives; the fallback only satisfies the index type.
      return chosen === undefined ? { kind: 'replication', members: [] } : targetOf(chosen);
    }
    default:
      return { kind: location.kind, members: location.members.map(targetOf) };
  }
}

/** The sites of a resolved location, in order, each once (every alternative of a failover). */
export function sitesOf(location: ResolvedLocation): SiteName[] {
  const sites = new Set<SiteName>();
  const visit = (node: ResolvedLocation): void => {
    if (node.kind === 'site') sites.add(node.site);
    else if (node.kind === 'failover') node.alternatives.forEach(visit);
    else node.members.forEach(visit);
  };
  visit(location);
  return [...sites];
}
