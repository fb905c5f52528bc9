/**
 * The settings of one simulated run, as `cheops sim` takes them and as a report gives them back
 * for a replay: every value has a text form that parses to it again (`formatLatency`), so the
 * command printed on failure replays the run exactly.
 */
import { checkLatency, type LatencyDistribution } from '../core/distributions.js';
import type { Seed } from '../core/seeded-random.js';
import { describeFaults, parseFaults, type FaultKind } from '../faults/fault-kinds.js';
import type { SiteHooks } from '../harness/site-hooks.js';
import type { SharingKeyOptions } from '../workload/sharing-keys.js';

/** How far a long run has got (`cheops sim` prints it). */
export interface ScenarioProgress {
  readonly phase: 'boot' | 'run' | 'heal' | 'settle' | 'check';
  /** Virtual milliseconds since the start. */
  readonly virtualMs: number;
  /** 0 to 1 within the run phase. */
  readonly fraction: number;
}

/** One run's settings. */
export interface ScenarioOptions {
  readonly seed: Seed;
  readonly sites: number;
  /** How long the workload and the faults run, virtual milliseconds. */
  readonly durationMs: number;
  readonly faults: readonly FaultKind[];
  /** One-way latency of every link. */
  readonly latency: LatencyDistribution;
  /** Workload operations (retries come on top). */
  readonly operations: number;
  /** Reads sent beside them; default half as many as the operations. */
  readonly reads?: number;
  /** Convergence must be reached within this after the final heal; default 15 s. */
  readonly boundMs?: number;
  /** The longest settle period waited for before checking anyway; default 60 s. */
  readonly maxSettleMs?: number;
  /** Each site's wall clock is off by up to this; default 0. */
  readonly maxClockSkewMs?: number;
  /**
   * How long each site's application takes to answer a call (drawn per call; the object is
   * written somewhere in between); default none: it answers at once. Widens the windows between
   * an application call and everything else a site does (another site's share request, a
   * reconcile pass, a crash).
   */
  readonly appLatency?: LatencyDistribution;
  /** Sharing in the workload (three sites or more); defaults in `scenarioDefaults.sharing`. */
  readonly sharing?: Partial<SharingSettings>;
  /** Wrappers of the nodes' ports (broken-node tests). */
  readonly hooks?: SiteHooks;
  readonly onProgress?: (progress: ScenarioProgress) => void;
}

/**
 * Sharing in a run (DESIGN.md §7–§8; workload/sharing.ts): secrets owned by one site each, and
 * pods on other sites relying on them. Only runs of three sites or more have any.
 */
export interface SharingSettings extends SharingKeyOptions {
  /** Operations on them, beside the others; by default a third of the run's (at least 6). */
  readonly operations: number | undefined;
}

/** `light`, `mixed` and `heavy` in operations. */
export const workloadPresets: Readonly<Record<string, number>> = { light: 30, mixed: 80, heavy: 250 };

/** Defaults of `cheops sim`. */
export const scenarioDefaults = {
  sites: 5,
  durationMs: 30_000,
  faults: ['partitions', 'crashes', 'loss', 'reorder'] as readonly FaultKind[],
  latency: { type: 'uniform', minMs: 10, maxMs: 50 } as LatencyDistribution,
  operations: workloadPresets['mixed'] ?? 80,
  boundMs: 15_000,
  maxSettleMs: 60_000,
  sharing: { secrets: 2, minDependents: 2, maxDependents: 4, operations: undefined } as SharingSettings,
} as const;

/** A run's sharing settings, defaults filled in (its operations too). */
export function sharingSettings(options: Pick<ScenarioOptions, 'operations' | 'sharing'>): SharingKeyOptions & { readonly operations: number } {
  const settings = { ...scenarioDefaults.sharing, ...options.sharing };
  return { ...settings, operations: settings.operations ?? Math.max(6, Math.round(options.operations / 3)) };
}

/** `250ms`, `2s`, `1.5m`, or a bare number of seconds. */
export function parseDurationMs(text: string, name = 'duration'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text);
  if (match === null) throw new RangeError(`${name} ${JSON.stringify(text)}: expected a duration such as 30s, 500ms or 2m`);
  const amount = Number(match[1]);
  const unit = match[2] ?? 's';
  return unit === 'ms' ? amount : unit === 's' ? amount * 1000 : amount * 60_000;
}

function millis(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$/.exec(text);
  if (match === null) throw new RangeError(`latency ${JSON.stringify(text)}: expected milliseconds such as 20ms`);
  return match[2] === 's' ? Number(match[1]) * 1000 : Number(match[1]);
}

/**
 * `20ms` (fixed), `10-50ms` (uniform), `long-tail:20ms:200ms` (median and p99),
 * `normal:50ms:10ms` (mean and standard deviation).
 */
export function parseLatency(text: string, name = 'latency'): LatencyDistribution {
  const trimmed = text.trim();
  let distribution: LatencyDistribution;
  const parts = trimmed.split(':');
  if (parts[0] === 'long-tail' && parts.length === 3) {
    distribution = { type: 'long-tail', medianMs: millis(parts[1] ?? ''), p99Ms: millis(parts[2] ?? '') };
  } else if (parts[0] === 'normal' && parts.length === 3) {
    distribution = { type: 'normal', meanMs: millis(parts[1] ?? ''), stdDevMs: millis(parts[2] ?? '') };
  } else if (/^\d+(\.\d+)?\s*-\s*\d+(\.\d+)?\s*ms$/.test(trimmed)) {
    const [low, high] = trimmed.replace(/ms$/, '').split('-');
    distribution = { type: 'uniform', minMs: Number(low), maxMs: Number(high) };
  } else {
    distribution = { type: 'fixed', ms: millis(trimmed) };
  }
  checkLatency(distribution, name);
  return distribution;
}

/** The text `parseLatency` reads back to `distribution`. */
export function formatLatency(distribution: LatencyDistribution): string {
  switch (distribution.type) {
    case 'fixed':
      return `${distribution.ms}ms`;
    case 'uniform':
      return `${distribution.minMs}-${distribution.maxMs}ms`;
    case 'normal':
      return `normal:${distribution.meanMs}ms:${distribution.stdDevMs}ms`;
    case 'long-tail':
      return `long-tail:${distribution.medianMs}ms:${distribution.p99Ms}ms`;
  }
}

/** `light`, `mixed`, `heavy`, or a number of operations. */
export function parseWorkload(text: string): number {
  const preset = workloadPresets[text.trim().toLowerCase()];
  if (preset !== undefined) return preset;
  const count = Number(text);
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`workload ${JSON.stringify(text)}: expected light, mixed, heavy or a number of operations`);
  return count;
}

/** The `cheops sim` command that replays `options` exactly. */
export function replayCommand(options: ScenarioOptions): string {
  const seconds = options.durationMs / 1000;
  return [
    'cheops sim',
    `--seed ${String(options.seed)}`,
    `--sites ${options.sites}`,
    `--duration ${Number.isInteger(seconds) ? `${seconds}s` : `${options.durationMs}ms`}`,
    `--faults ${describeFaults(options.faults)}`,
    `--latency ${formatLatency(options.latency)}`,
    `--workload ${options.operations}`,
    ...((options.maxClockSkewMs ?? 0) > 0 ? [`--clock-skew ${options.maxClockSkewMs ?? 0}ms`] : []),
    ...(options.appLatency === undefined ? [] : [`--app-latency ${formatLatency(options.appLatency)}`]),
  ].join(' ');
}

export { parseFaults };
