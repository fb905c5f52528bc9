/**
 * One simulated run from a seed, start to verdict:
 *
 * 1. boot N sites (the whole node each, through `startSite`) and wait for the mesh; set up the
 *    run's cross namespace and its shared secrets;
 * 2. run the workload (writes, sharing, and reads beside them) and the fault schedule for the duration;
 * 3. the final heal: every partition ends, links lose their faults, crashed sites restart;
 *    in-flight operations and the clients' retries finish;
 * 4. settle: run until every replicant is at the same heads on its scope and every replica says
 *    it is current (polled), or the longest settle period passes;
 * 5. check: read the final state and run every checker.
 *
 * The trace hash is taken at the end of the settle period, before the checkers read anything,
 * so it depends only on the seed and the settings.
 */
import type { LinkProfile } from '../network/link-profile.js';
import { siteDirectoryId } from '../../crdt/site-directory.js';
import { ScopeMonitor, type CheckerResult, type FinalState } from '../checkers/index.js';
import type { AppWrite } from '../harness/app-log.js';
import { FaultSchedule, type FaultCounts } from '../faults/fault-schedule.js';
import { startSimulation, type Simulation } from '../harness/simulation.js';
import type { NetworkStats } from '../network/network-stats.js';
import type { HttpStats } from '../network/sim-http.js';
import type { TraceEvent } from '../core/trace.js';
import { History, type HistoryCounts, type OpRecord } from '../workload/history.js';
import { setUpContainers } from '../workload/containers.js';
import { buildKeySpace, isSharingKind, type KeySpace } from '../workload/key-space.js';
import { ReadWorkload, type ReadRecord } from '../workload/reads.js';
import { drawSharingKeys } from '../workload/sharing-keys.js';
import { setUpSharedSecrets, SharingWorkload } from '../workload/sharing.js';
import { Workload } from '../workload/workload.js';
import { checkRun, settle } from './check-run.js';
import { scenarioDefaults, sharingSettings, type ScenarioOptions, type ScenarioProgress } from './scenario-options.js';

/** Everything a run reports. */
export interface ScenarioReport {
  readonly options: ScenarioOptions;
  readonly verdict: 'pass' | 'fail';
  readonly results: readonly CheckerResult[];
  readonly traceHash: string;
  readonly counts: HistoryCounts;
  /** Losing writes recorded in the replicants (concurrent writes resolved). */
  readonly conflicts: number;
  readonly replicants: number;
  readonly network: NetworkStats;
  readonly http: HttpStats;
  readonly faults: FaultCounts;
  readonly disk: { readonly writes: number; readonly lostWrites: number };
  readonly virtualMs: number;
  readonly healedAtMs: number;
  /** From the final heal to settled; undefined when it never settled. */
  readonly settledAfterMs: number | undefined;
  readonly timeline: readonly TraceEvent[];
  readonly wallMs: number;
  /** What the checkers looked at, for a closer look at a failure (`cheops sim --explain`, tests). */
  readonly details: ScenarioDetails;
}

/** The raw material of a run's verdict. */
export interface ScenarioDetails {
  readonly keys: KeySpace;
  readonly operations: readonly OpRecord[];
  readonly reads: readonly ReadRecord[];
  readonly appWrites: readonly AppWrite[];
  readonly final: FinalState;
}

/** Trace events worth a line on the timeline. */
export const timelineKinds = [
  'sim:start', 'net:partition', 'net:heal', 'site:crash', 'site:up', 'fault:links', 'fault:link', 'fault:link-restored',
  'fault:crash-armed', 'fault:crash-mid-write', 'fault:crash-after-ack', 'fault:app-down', 'fault:app-up', 'disk:full', 'disk:freed', 'fault:restart-failed', 'fault:restart-deferred', 'fault:end', 'sim:settled', 'sim:unsettled', 'sim:setup-failed', 'log',
];

/** Waits until every site is up and sees every other up, with the directory converged. */
async function meshed(sim: Simulation): Promise<boolean> {
  const names = sim.sites.map((site) => site.name);
  return sim.runUntil(
    () =>
      sim.converged(siteDirectoryId) &&
      sim.sites.every((site) => site.node.site.sites.list().filter((item) => item.state !== 'down').length === names.length),
    { timeoutMs: 60_000 },
  );
}

async function runPhase(sim: Simulation, durationMs: number, progress: (fraction: number) => void): Promise<void> {
  const step = Math.max(1_000, durationMs / 20);
  for (let done = 0; done < durationMs; done += step) {
    await sim.runFor(Math.min(step, durationMs - done));
    progress(Math.min(1, (done + step) / durationMs));
  }
}

/** Reads sent beside the writes: half as many, unless the options say. */
function readsOf(options: ScenarioOptions): number {
  return options.reads ?? Math.round(options.operations / 2);
}

/** Runs one scenario (see the file comment). */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioReport> {
  const wallStart = performance.now();
  const report = (phase: ScenarioProgress['phase'], fraction: number, sim?: Simulation): void =>
    options.onProgress?.({ phase, fraction, virtualMs: sim?.clock.elapsedMs() ?? 0 });
  report('boot', 0);
  const link: Partial<LinkProfile> = { latency: options.latency };
  const sim = await startSimulation({
    seed: options.seed, sites: options.sites, link, maxClockSkewMs: options.maxClockSkewMs ?? 0, ...(options.hooks === undefined ? {} : { hooks: options.hooks }),
    ...(options.appLatency === undefined ? {} : { appLatency: options.appLatency }),
  });
  try {
    if (!(await meshed(sim))) sim.trace.record('sim:unmeshed', {});
    const names = sim.sites.map((site) => site.name);
    const keyRandom = sim.random.fork('keys');
    const sharing = sharingSettings(options);
    const keys = buildKeySpace(keyRandom, names, {
      replicated: Math.max(3, Math.round(options.operations / 8)), scopes: Math.min(4, Math.max(1, options.sites - 1)), remotePerSite: 1, localPerSite: 1,
      cross: Math.max(2, Math.round(options.operations / 20)),
    }).withKeys(drawSharingKeys(keyRandom.fork('sharing'), names, sharing));
    await setUpContainers(sim, keys);
    const monitor = new ScopeMonitor(sim, keys);
    const history = new History();
    // Taken before the shared secrets are made (a few ms), so that every other draw keeps its time.
    const startMs = sim.clock.elapsedMs();
    const secrets = await setUpSharedSecrets(sim, keys, history);
    const workload = new Workload(sim, keys, sim.random.fork('workload'), { operations: options.operations, startMs, durationMs: options.durationMs }, history);
    const faults = new FaultSchedule(sim, sim.random.fork('faults'), { kinds: options.faults, startMs, endMs: startMs + options.durationMs });
    const reads = new ReadWorkload(sim, keys, sim.random.fork('reads'), history, { reads: readsOf(options), startMs, durationMs: options.durationMs });
    const shares = new SharingWorkload(sim, keys, sim.random.fork('sharing'), history, { operations: sharing.operations, startMs, durationMs: options.durationMs }, secrets);
    // The sharing keys are read too (a pod from outside its site, a secret at a site sharing it), from a stream of their own.
    const among = keys.keys.filter((key) => isSharingKind(key.kind));
    const sharedReads = new ReadWorkload(sim, keys, sim.random.fork('sharing-reads'), history, {
      reads: among.length === 0 ? 0 : Math.round(sharing.operations / 2), startMs, durationMs: options.durationMs, among,
    });
    workload.start();
    reads.start();
    shares.start();
    faults.start();
    sharedReads.start();
    await runPhase(sim, options.durationMs, (fraction) => report('run', fraction, sim));

    report('heal', 1, sim);
    await sim.perform(() => faults.end(), { timeoutMs: 120_000 });
    const healedAtMs = sim.clock.elapsedMs();
    await sim.runUntil(() => !workload.active && !reads.active && !shares.active && !sharedReads.active, { timeoutMs: 60_000 });
    workload.stop();
    reads.stop();
    shares.stop();
    sharedReads.stop();

    report('settle', 1, sim);
    const settledAtMs = await settle(sim, keys, options.maxSettleMs ?? scenarioDefaults.maxSettleMs);
    sim.trace.record(settledAtMs === undefined ? 'sim:unsettled' : 'sim:settled', settledAtMs === undefined ? {} : { afterHealMs: Math.round(settledAtMs - healedAtMs) });
    const traceHash = sim.traceHash();

    report('check', 1, sim);
    const { results, final } = await checkRun(sim, {
      keys, history, monitor, healedAtMs, settledAtMs, boundMs: options.boundMs ?? scenarioDefaults.boundMs, restartFailures: faults.restartFailures,
    });
    const histories = [...final.histories.values()];
    const disks = sim.sites.flatMap((site) => [site.nodeDisk.stats(), site.appDisk.stats()]);
    return {
      options,
      verdict: results.every((result) => result.ok) ? 'pass' : 'fail',
      results,
      traceHash,
      counts: history.counts(),
      conflicts: histories.reduce((sum, history) => sum + (history.replicant?.conflicts.length ?? 0), 0),
      replicants: histories.length,
      network: sim.network.stats(),
      http: sim.http.stats(),
      faults: { ...faults.counts },
      disk: { writes: disks.reduce((sum, stats) => sum + stats.writes, 0), lostWrites: disks.reduce((sum, stats) => sum + stats.lostWrites, 0) },
      virtualMs: sim.clock.elapsedMs(),
      healedAtMs,
      settledAfterMs: settledAtMs === undefined ? undefined : settledAtMs - healedAtMs,
      timeline: sim.trace.events(timelineKinds),
      wallMs: performance.now() - wallStart,
      details: { keys, operations: history.all, reads: history.reads, appWrites: sim.apps.writes, final },
    };
  } finally {
    sim.stop();
  }
}
