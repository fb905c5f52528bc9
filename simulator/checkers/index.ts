/**
 * The checkers of a run (issue 5): convergence, no acknowledged write lost, no resurrection after
 * a delete, scope safety, every accepted write applied within a bound after the final heal,
 * reads answered where their scope says, a cross name made twice told apart, and what a pod
 * relies on shared where it runs.
 * Each is a function of the CheckContext; `runCheckers` runs them all.
 */
import { checkAcknowledgedWrites } from './acknowledged-writes.js';
import { checkConvergence } from './convergence.js';
import { checkCrossNames } from './cross-names.js';
import { checkReads } from './reads.js';
import { checkResurrection } from './resurrection.js';
import { checkScopeSafety } from './scope-safety.js';
import { checkSharing } from './sharing.js';
import { at, resultOf, type CheckContext, type CheckerResult } from './types.js';

export { ScopeMonitor } from './scope-safety.js';
export { readFinalState, settled, unsettledReason } from './final-state.js';
export { loadReplicantHistory, type ReplicantHistory, type DesiredWrite } from './replicant-history.js';
export { checkerNames, type CheckerName, type CheckerResult, type CheckContext, type FinalState } from './types.js';
export { DependentLog } from './dependent-log.js';
export { checkAcknowledgedWrites, checkConvergence, checkCrossNames, checkReads, checkResurrection, checkScopeSafety, checkSharing };

/**
 * Every accepted write applied on every site of its scope within `boundMs` of the final heal:
 * the run must have settled (documents at the same heads, every replica current) by then. The
 * convergence checker says whether what it settled on is right.
 */
export function checkHealBound(ctx: CheckContext): CheckerResult {
  if (ctx.convergedAtMs === undefined) {
    const why = ctx.unsettled === undefined ? '' : `: ${ctx.unsettled}`;
    return resultOf('heal-bound', 1, [`the sites did not settle after the final heal at ${at(ctx.healedAtMs)} (waited for the longest settle period)${why}`]);
  }
  const tookMs = ctx.convergedAtMs - ctx.healedAtMs;
  return resultOf('heal-bound', 1, tookMs <= ctx.boundMs ? [] : [`the sites settled ${at(tookMs)} after the final heal; the bound is ${at(ctx.boundMs)}`]);
}

/** Runs every checker, in a fixed order. */
export function runCheckers(ctx: CheckContext): CheckerResult[] {
  return [checkConvergence(ctx), checkAcknowledgedWrites(ctx), checkResurrection(ctx), checkScopeSafety(ctx), checkHealBound(ctx), checkReads(ctx), checkCrossNames(ctx), checkSharing(ctx)];
}
