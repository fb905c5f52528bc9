/**
 * The syntax tree of scope-lang (DESIGN.md section 3). Sites and bindings carry where they start
 * in the text, so errors found after parsing (an unknown site, a service bound twice) can still
 * name the column the user typed.
 */
import type { SiteName } from '../core/ids.js';

/** Where a node starts in the scope's text. */
export interface SourcePosition {
  /** 0-based offset, in UTF-16 code units. */
  readonly offset: number;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column within the line. */
  readonly column: number;
}

/** The operators of a location, by what they do. */
export const Operator = {
  /** `&`: the request runs on every site. */
  Replication: '&',
  /** `%`: one resource spread over the sites. */
  Cross: '%',
  /** `||`: the first reachable site, in order. */
  Failover: '||',
} as const;
export type Operator = (typeof Operator)[keyof typeof Operator];

/** The kinds of location node: a single site, or one operator applied to two or more members. */
export const LocationKind = {
  Site: 'site',
  Replication: 'replication',
  Cross: 'cross',
  Failover: 'failover',
} as const;
export type LocationKind = (typeof LocationKind)[keyof typeof LocationKind];
/** The kinds of location node that group members under one operator. */
export type GroupKind = Exclude<LocationKind, 'site'>;

/** The operator written for each kind of group. */
export const operatorOfKind: Readonly<Record<GroupKind, Operator>> = {
  replication: Operator.Replication,
  cross: Operator.Cross,
  failover: Operator.Failover,
};

/** The kind of group each operator builds. */
export const kindOfOperator: Readonly<Record<Operator, GroupKind>> = {
  '&': LocationKind.Replication,
  '%': LocationKind.Cross,
  '||': LocationKind.Failover,
};

/** One site named in a scope. */
export interface SiteNode {
  readonly kind: 'site';
  readonly site: SiteName;
  readonly position: SourcePosition;
}

/**
 * Two or more members joined by one operator. Parentheses leave no node of their own: `(A & B) % C`
 * is a cross group whose first member is a replication group.
 */
export interface GroupNode {
  readonly kind: GroupKind;
  /** At least two members, in the order written (the order matters for failover). */
  readonly members: readonly Location[];
  /** Where the group's first member starts. */
  readonly position: SourcePosition;
}

/** `loc` of the grammar: a site, or a group of locations under one operator. */
export type Location = SiteNode | GroupNode;

/** The units a duration may be written in. */
export const DurationUnit = { Milliseconds: 'ms', Seconds: 's' } as const;
export type DurationUnit = (typeof DurationUnit)[keyof typeof DurationUnit];

/** A duration as written (`50ms`, `0.5s`); the unit is kept so printing gives the text back. */
export interface Duration {
  readonly amount: number;
  readonly unit: DurationUnit;
  readonly position: SourcePosition;
}

/** The kinds of binding a scope may hold. */
export const BindingKind = {
  /** `pods: Site1`: one service runs at a location. */
  Service: 'service',
  /** `Site1 & Site2`: every service runs at a location. */
  All: 'all',
  /** `around: Site1, 50ms`: every site within a round-trip time of a site. */
  Around: 'around',
} as const;
export type BindingKind = (typeof BindingKind)[keyof typeof BindingKind];

/** `service: location`. */
export interface ServiceBinding {
  readonly kind: 'service';
  /** A Kubernetes resource plural (`pods`, `deployments.apps`) or an OpenStack service type. */
  readonly service: string;
  readonly location: Location;
  /** Where the service name starts. */
  readonly position: SourcePosition;
}

/** A bare location: every service without a binding of its own runs there. */
export interface AllBinding {
  readonly kind: 'all';
  readonly location: Location;
  readonly position: SourcePosition;
}

/** `around: site, duration`. */
export interface AroundBinding {
  readonly kind: 'around';
  readonly site: SiteNode;
  readonly duration: Duration;
  /** Where the keyword `around` starts. */
  readonly position: SourcePosition;
}

/** One comma-separated part of a scope. */
export type Binding = ServiceBinding | AllBinding | AroundBinding;

/** A parsed scope: its bindings in the order written. */
export interface Scope {
  readonly bindings: readonly Binding[];
}

/** A duration in milliseconds. */
export function durationMs(duration: Pick<Duration, 'amount' | 'unit'>): number {
  return duration.unit === DurationUnit.Seconds ? duration.amount * 1000 : duration.amount;
}

/** Every site node of a location, in the order written (a site may appear more than once). */
export function locationSiteNodes(location: Location): SiteNode[] {
  if (location.kind === LocationKind.Site) return [location];
  return location.members.flatMap(locationSiteNodes);
}

/** Every site node of a binding, in the order written. */
export function bindingSiteNodes(binding: Binding): SiteNode[] {
  return binding.kind === BindingKind.Around ? [binding.site] : locationSiteNodes(binding.location);
}

/** Every site node of a scope, in the order written. */
export function scopeSiteNodes(scope: Scope): SiteNode[] {
  return scope.bindings.flatMap(bindingSiteNodes);
}
