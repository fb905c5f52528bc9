/**
 * What the checkers share: their result, and the state of a run they look at once it has healed
 * and settled (the history of the clients, the replicants' histories from the disks, what every
 * application holds, what the scope monitor saw while the run went on).
 */
import type { DocumentId, SiteName } from '../../core/ids.js';
import type { Simulation } from '../harness/simulation.js';
import type { History } from '../workload/history.js';
import type { KeySpace } from '../workload/key-space.js';
import type { DependentLog } from './dependent-log.js';
import type { ReplicantHistory } from './replicant-history.js';

/** The checkers, by the invariant each holds the run to. */
export const checkerNames = ['convergence', 'acknowledged-writes', 'no-resurrection', 'scope-safety', 'heal-bound', 'reads', 'cross-names', 'sharing'] as const;
export type CheckerName = (typeof checkerNames)[number];

/** One checker's verdict. */
export interface CheckerResult {
  readonly name: CheckerName;
  readonly ok: boolean;
  /** How many things it looked at (keys, operations, documents). */
  readonly checked: number;
  /** What is wrong, one sentence each (the first ones, when there are many). */
  readonly violations: readonly string[];
  /** How many violations there were in all. */
  readonly violationCount: number;
}

/** An object as one site's application holds it. */
export type AppObject = Readonly<Record<string, unknown>>;

/** The state of a run once healed and settled. */
export interface FinalState {
  /** Every replicant document any site's disk holds, merged over all sites. */
  readonly histories: ReadonlyMap<DocumentId, ReplicantHistory>;
  /** Per site, the workload's objects its application holds (by app key text), deleting ones left out. */
  readonly apps: ReadonlyMap<SiteName, ReadonlyMap<string, AppObject>>;
}

/** Everything a checker may look at. */
export interface CheckContext {
  readonly sim: Simulation;
  readonly keys: KeySpace;
  readonly history: History;
  readonly final: FinalState;
  /** Scope violations seen while the run went on (stores and applications watched live). */
  readonly liveScopeViolations: readonly string[];
  /**
   * Per replicant document, per site: when the site first stored a version of it that is
   * tombstoned (watched live by the monitor; a site missing never stored the tombstone).
   */
  readonly tombstonedAtMs: ReadonlyMap<string, ReadonlyMap<SiteName, number>>;
  /** The dependents each site's copy of a shared secret's replicant recorded, over time (watched live). */
  readonly dependentsHeld: Pick<DependentLog, 'heldAt'>;
  /** When the final heal happened, virtual ms since the start. */
  readonly healedAtMs: number;
  /** When the sites were found converged after it; undefined when they never were. */
  readonly convergedAtMs: number | undefined;
  /** When they never were: why not, at the end (the first replicant found unsettled). */
  readonly unsettled?: string | undefined;
  /** The bound convergence must meet after the heal. */
  readonly boundMs: number;
  /** Restarts that failed during the run. */
  readonly restartFailures: readonly string[];
}

const shownViolations = 20;

/** A result from the violations found (the first 20 kept). */
export function resultOf(name: CheckerName, checked: number, violations: readonly string[]): CheckerResult {
  return { name, ok: violations.length === 0, checked, violations: violations.slice(0, shownViolations), violationCount: violations.length };
}

/** `configmaps/default/cm-r0-1` */
export function describeRef(ref: { readonly resource: string; readonly namespace: string; readonly name: string }): string {
  return `${ref.resource}/${ref.namespace}/${ref.name}`;
}

/** `12.345 s`, for messages. */
export function at(ms: number | undefined): string {
  return ms === undefined ? '?' : `${(ms / 1000).toFixed(3)} s`;
}
