/**
 * What every application's glue tells the node, whatever the application (Kubernetes, OpenStack).
 * The node stays generic by speaking only these types; each `glue/<app>/` fills them in.
 */
import type { ResourceKey } from '../core/ids.js';

/**
 * How one resource depends on another (DESIGN.md section 8).
 * - `requirement`: needed only while an operation runs (a pod's image pull secret at creation).
 * - `reliance`: needed for the dependent's whole life (a pod's mounted secret, its config maps).
 * - `composition`: life cycles linked, the dependency is the parent (an owner; a namespace). Only
 *   the parent is replicated; each site's controllers make the children.
 */
export const DependencyKind = {
  Requirement: 'requirement',
  Reliance: 'reliance',
  Composition: 'composition',
} as const;

export type DependencyKind = (typeof DependencyKind)[keyof typeof DependencyKind];

/** One dependency of a resource on another. */
export interface Dependency {
  readonly kind: DependencyKind;
  /** The resource depended on. */
  readonly key: ResourceKey;
  /** Where in the dependent's body the reference sits (`spec.volumes[0].secret`), for messages. */
  readonly via: string;
  /**
   * True when the application tolerates the dependency being absent (a Kubernetes reference
   * marked `optional: true`): a missing one is a warning, not a refusal.
   */
  readonly optional: boolean;
}

/** A scope carried inside a body (a manifest annotation), and the body without it. */
export interface TakenScope<T> {
  /** The scope text, when the body carried one. */
  readonly scope?: string;
  /** The body with the scope removed (a copy when something was removed, else the same value). */
  readonly body: T;
}
