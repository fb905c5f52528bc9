/**
 * Replication delay at 100 sites, in the deterministic simulator (simulator/harness): 100 whole
 * nodes (front, write path, document sync, reconciler, stand-in) in this process, under one
 * simulated clock, on links of a fixed one-way latency. Scoped creates `{Site1 & … & Site100}`
 * are sent to Site1's front as kubectl would (simulator/workload); for each, the delay from its
 * acknowledgement at Site1 to the write of its replica by each remote site's reconciler into that
 * site's application (the application log, `source: node`), on the simulated clock.
 *
 * Side by side: the injected one-way latency (the physical limit, exact in the simulation) and
 * the simulation's floor: that latency plus the simulated disk writes on the way (the remote store
 * persists the change, the remote application persists the object). The simulation charges no
 * CPU time, so the gap to the floor is what the protocol itself waits (timers, round trips, queues),
 * not what 100 processes would compute; the real-stack benchmark (replication-delay) measures that.
 * Wall time is reported too: what simulating 100 sites costs on this machine.
 */
import { asDocumentId, asSiteName, type SiteName } from '../core/ids.js';
import { decodeReplicant } from '../crdt/replicant-decode.js';
import { startSimulation, type Simulation } from '../simulator/harness/simulation.js';
import { KubectlClient } from '../simulator/workload/client.js';
import { History } from '../simulator/workload/history.js';
import { workloadKey } from '../simulator/workload/key-space.js';
import { createCall, objectBody, type ObjectRef } from '../simulator/workload/kubectl-requests.js';
import { machine, progressFor, quickMode, type Progress } from './stack-deployment.js';
import { fixed, formatTable, summarize, verdict, writesForP99, type Summary, type Verdict } from './stack-report.js';

export interface SimReplicationDelayOptions {
  readonly sites: readonly number[];
  readonly oneWayMs: number;
  /**
   * Measured writes per site count: enough for 100 (write, remote site) pairs, so that the p99 is
   * one (stack-report.ts). Virtual time charges no CPU, so no warm-up is needed.
   */
  readonly writes: (sites: number) => number;
  /** The target: p99 within the one-way latency plus this. */
  readonly slackMs: number;
  readonly seed: string;
}

export const defaultSimReplicationDelayOptions: SimReplicationDelayOptions = {
  sites: [5, 20, 100],
  oneWayMs: 50,
  writes: writesForP99,
  slackMs: 20,
  seed: 'bench-replication-delay',
};

export const quickSimReplicationDelayOptions: SimReplicationDelayOptions = { ...defaultSimReplicationDelayOptions, sites: [5, 100], writes: (sites) => (sites >= 100 ? 1 : 5) };

export interface SimReplicationDelayRun {
  readonly sites: number;
  readonly writes: number;
  /** Acknowledgement at Site1 → the replica written into each remote application (virtual ms). */
  readonly delayMs: Summary;
  /** Acknowledgement → the last remote site, per write. */
  readonly allSitesMs: Summary;
  /** The scoped create at Site1, request to answer (virtual ms). */
  readonly ackMs: Summary;
  /** One-way latency + the disk writes on the remote side (virtual ms; p50 of what was drawn). */
  readonly floorMs: number;
  readonly targetMs: number;
  readonly verdict: Verdict;
  /** Wall time: start and mesh of the sites, then the writes (each settled before the next). */
  readonly bootWallMs: number;
  readonly writesWallMs: number;
  /** Virtual time the writes took, acknowledgement to every replica entry back at Site1. */
  readonly writesVirtualMs: number;
  /** Messages the network carried during the writes, per write. */
  readonly messagesPerWrite: number;
  readonly heapUsedBytes: number;
}

export interface SimReplicationDelayResult {
  readonly startedAt: string;
  readonly machine: Awaited<ReturnType<typeof machine>>;
  readonly seed: string;
  readonly oneWayMs: number;
  readonly diskWriteMs: string;
  readonly runs: readonly SimReplicationDelayRun[];
}

/** The simulator's default disk: a write takes 0.2–2 ms (simulator/storage/sim-disk.ts). */
const diskWriteMinMs = 0.2;
const diskWriteMaxMs = 2;

export async function runSimReplicationDelayBenchmark(
  options: SimReplicationDelayOptions = quickMode() ? quickSimReplicationDelayOptions : defaultSimReplicationDelayOptions,
): Promise<SimReplicationDelayResult> {
  const progress = progressFor('sim-replication-delay');
  const runs: SimReplicationDelayRun[] = [];
  for (const sites of options.sites) runs.push(await measureSites(sites, options, progress));
  return {
    startedAt: new Date().toISOString(), machine: await machine(), seed: options.seed, oneWayMs: options.oneWayMs,
    diskWriteMs: `${diskWriteMinMs}–${diskWriteMaxMs}`, runs,
  };
}

async function measureSites(count: number, options: SimReplicationDelayOptions, progress: Progress): Promise<SimReplicationDelayRun> {
  const bootStart = performance.now();
  const sim = await startSimulation({
    seed: `${options.seed}-${count}`,
    sites: count,
    link: { latency: { type: 'fixed', ms: options.oneWayMs } },
    disk: { writeLatency: { type: 'uniform', minMs: diskWriteMinMs, maxMs: diskWriteMaxMs } },
    bootTimeoutMs: 600_000,
  });
  try {
    const names = sim.sites.map((site) => site.name);
    const meshed = await sim.runUntil(() => everySiteSeesAll(sim, count), { timeoutMs: 600_000 });
    if (!meshed) throw new Error(`${count} simulated sites did not mesh within 600 s of virtual time`);
    // Quiet before measuring: the directory's sync and the first heartbeats are done.
    await sim.runFor(5_000);
    const bootWallMs = performance.now() - bootStart;
    progress(`${count} sites booted and meshed: ${(bootWallMs / 1000).toFixed(1)} s wall, ${(sim.clock.elapsedMs() / 1000).toFixed(1)} s virtual`);

    const client = new KubectlClient(sim, new History(), 120_000);
    const scope = `{${names.join(' & ')}}`;
    const remotes = new Set<SiteName>(names.slice(1));
    const delays: number[] = [];
    const lastSite: number[] = [];
    const acks: number[] = [];
    const messagesBefore = sim.network.stats().messagesSent;
    const wallStart = performance.now();
    const virtualStart = sim.clock.elapsedMs();
    const total = options.writes(count);
    for (let i = 0; i < total; i += 1) {
      const measured = await oneWrite(sim, client, `bench-${i}`, scope, remotes);
      delays.push(...measured.delays);
      lastSite.push(Math.max(...measured.delays));
      acks.push(measured.ackMs);
      if (count >= 50 || (i + 1) % 5 === 0) progress(`${count} sites: ${i + 1}/${total} writes (${((performance.now() - wallStart) / 1000).toFixed(1)} s wall)`);
    }
    const writesWallMs = performance.now() - wallStart;
    const delayMs = summarize(delays);
    const targetMs = options.oneWayMs + options.slackMs;
    const run: SimReplicationDelayRun = {
      sites: count, writes: total, delayMs, allSitesMs: summarize(lastSite), ackMs: summarize(acks),
      floorMs: options.oneWayMs + 2 * ((diskWriteMinMs + diskWriteMaxMs) / 2), targetMs, verdict: verdict(delayMs.p99 <= targetMs),
      bootWallMs, writesWallMs, writesVirtualMs: (sim.clock.elapsedMs() - virtualStart) / total,
      messagesPerWrite: (sim.network.stats().messagesSent - messagesBefore) / total, heapUsedBytes: process.memoryUsage().heapUsed,
    };
    progress(`${count} sites: p50 ${fixed(delayMs.p50)} ms, p99 ${fixed(delayMs.p99)} ms virtual (target ≤ ${targetMs} ms: ${run.verdict}); ${(writesWallMs / total / 1000).toFixed(2)} s wall per write`);
    return run;
  } finally {
    sim.stop();
  }
}

function everySiteSeesAll(sim: Simulation, count: number): boolean {
  return sim.sites.every((site) => site.state === 'up' && site.node.site.sites.list().filter((item) => item.state !== 'down').length === count);
}

/**
 * One scoped create on Site1: the virtual time of its answer, and of each remote application's
 * write of it; runs the clock until every remote replica entry is back at Site1, then 500 ms more,
 * so that the next write starts on a quiet network.
 */
async function oneWrite(sim: Simulation, client: KubectlClient, name: string, scope: string, remotes: ReadonlySet<SiteName>): Promise<{ delays: number[]; ackMs: number }> {
  const ref: ObjectRef = { resource: 'configmaps', namespace: 'default', name };
  const key = workloadKey('configmaps', name, 'replicated', [asSiteName('Site1'), ...remotes]);
  const applied = new Map<SiteName, number>();
  let marker: string | undefined;
  const unsubscribe = sim.apps.subscribe((write) => {
    if (write.source === 'node' && write.method === 'POST' && write.marker !== undefined && write.marker === marker && remotes.has(write.site) && !applied.has(write.site)) {
      applied.set(write.site, write.atMs);
    }
  });
  try {
    const { op, done } = client.send(asSiteName('Site1'), key, (opId) => {
      marker = opId;
      return createCall(ref, objectBody(ref, opId, { value: name }, { bench: 'replication-delay' }), { scope });
    });
    await sim.perform(() => done, { timeoutMs: 120_000 });
    if (op.outcome !== 'acknowledged' || op.answeredAtMs === undefined) throw new Error(`create ${name}: ${op.outcome} (HTTP ${op.status ?? '—'}, ${op.error ?? ''})`);
    const answeredAtMs = op.answeredAtMs;
    if (!(await sim.runUntil(() => applied.size === remotes.size, { timeoutMs: 120_000 }))) {
      throw new Error(`create ${name}: ${applied.size}/${remotes.size} remote sites applied it within 120 s of virtual time`);
    }
    // Then every remote replica entry back at Site1 (read through the clock, 50 ms of virtual time apart).
    const docId = asDocumentId(`res/${op.metaId ?? ''}`);
    const documents = sim.site('Site1').node.documents;
    for (let waited = 0; ; waited += 50) {
      const decoded = decodeReplicant(docId, await sim.perform(() => documents.read(docId)));
      if (decoded.ok && [...remotes].every((site) => decoded.replicant.replicas[site]?.status === 'applied')) break;
      if (waited > 120_000) throw new Error(`create ${name}: the replica entries did not all reach Site1 within 120 s of virtual time`);
      await sim.runFor(50);
    }
    await sim.runFor(500);
    return { delays: [...applied.values()].map((atMs) => atMs - answeredAtMs), ackMs: answeredAtMs - op.issuedAtMs };
  } finally {
    unsubscribe();
  }
}

export function formatSimReplicationDelayTable(result: SimReplicationDelayResult): string {
  const header = ['sites', 'writes', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'all p99', 'floor ms', 'target', 'verdict', 'ack p50', 'msgs/write', 'boot wall s', 'wall s/write', 'virtual s/write'];
  const rows = result.runs.map((run) => [
    String(run.sites), String(run.writes), fixed(run.delayMs.p50), fixed(run.delayMs.p90), fixed(run.delayMs.p99), fixed(run.delayMs.max),
    fixed(run.allSitesMs.p99), fixed(run.floorMs), `≤ ${run.targetMs}`, run.verdict, fixed(run.ackMs.p50), fixed(run.messagesPerWrite, 0),
    fixed(run.bootWallMs / 1000), fixed(run.writesWallMs / run.writes / 1000, 2), fixed(run.writesVirtualMs / 1000, 2),
  ]);
  return formatTable(header, rows, [
    `simulated: seed ${result.seed}, links ${result.oneWayMs} ms one way (fixed: the physical limit, exact), disk writes ${result.diskWriteMs} ms; no CPU time is charged`,
    'p50…max: acknowledgement of the scoped create at Site1 → its replica written into each remote application by that site (virtual ms; every write × remote site)',
    'floor: one-way latency + two mean disk writes (the remote store persists the change, the remote application the object); target: p99 within one way + 20 ms',
    'ack: the scoped create at Site1; msgs: network messages per write (pushes, sync, replica entries back, heartbeats of the period)',
    'wall: this machine, one process simulating every site; virtual s/write: acknowledgement to every replica entry back at Site1, plus 0.5 s quiet',
  ]);
}
