/**
 * Replication delay on the real stack: how long after the origin acknowledges a scoped create
 * (`{Site1 & … & SiteN}`, through Site1's front, as kubectl would) does the pod exist on each
 * other site? Measured for 2, 5 and 20 sites whose links all have the same one-way latency
 * (50 ms), against that latency measured through a relay in the same run.
 *
 * Two measures of "applied on a remote site":
 * - `watch`: the moment the pod appears in a watch of that site's pods (through its front), taken
 *   on this process's clock, the same clock as the acknowledgement: the primary measure;
 * - `updatedAt`: the time the remote node recorded in its replica entry, on its own clock (one
 *   machine, one system clock: see stack-client.ts), read back from the admin API afterwards.
 * Writes are spaced so that each is measured alone (this is latency, not throughput).
 *
 * The physical limit is measured in the same run, twice over. Per remote site: the one-way
 * latency, then one create on a quiet application. All remote sites at once, which is what a
 * write asks of them: every remote application makes a create at the same moment (one unscoped
 * create through each front, sent together, timed to each watch), as a write's pushes reach them
 * all one one-way delay after the acknowledgement. On one machine the sites share its cores, so
 * this "fan-out floor" is what a Cheops that cost nothing would show here; when it exceeds the
 * target, the target cannot be met on this machine whatever Cheops does, and the table says so.
 */
import { describeConditions, linkConditions } from '../simulator/relay/index.js';
import { probeOneWay } from './link-probe.js';
import type { DeployedSite } from '../cli/local-deployment.js';
import { admin, closeClients, createPod, PodWatch, wallMs } from './stack-client.js';
import { idleCpuRate, machine, progressFor, quickMode, sampleSites, settle, startBenchDeployment, type Progress } from './stack-deployment.js';
import { fixed, formatTable, mebibytes, summarize, until, verdict, writesForP99, type Summary, type Verdict } from './stack-report.js';

export interface ReplicationDelayOptions {
  readonly siteCounts: readonly number[];
  readonly oneWayMs: number;
  /** Writes per site count: enough for 100 (write, remote site) pairs, so that the p99 is one (stack-report.ts). */
  readonly writes: (sites: number) => number;
  /** The target: p99 within the one-way latency plus this. */
  readonly slackMs: number;
}

export const defaultReplicationDelayOptions: ReplicationDelayOptions = {
  siteCounts: [2, 5, 20],
  oneWayMs: 50,
  writes: writesForP99,
  slackMs: 20,
};

export const quickReplicationDelayOptions: ReplicationDelayOptions = {
  ...defaultReplicationDelayOptions,
  siteCounts: [2, 5],
  writes: () => 10,
};

/** The result for one number of sites. */
export interface ReplicationDelayRun {
  readonly sites: number;
  readonly writes: number;
  /** Acknowledgement to appearance in the remote site's watch, every (write, remote site) pair. */
  readonly watchMs: Summary;
  /** Acknowledgement to the last remote site's appearance, per write. */
  readonly allSitesMs: Summary;
  /** Acknowledgement to the remote replica entry's `updatedAt` (the node's clock). */
  readonly updatedAtMs: Summary;
  /** Latency of the scoped create at the origin. */
  readonly ackMs: Summary;
  /**
   * Latency of an unscoped create on a remote site's own application, measured in the same run:
   * what applying a replica costs at the least, on top of the one-way delay.
   */
  readonly remoteCreateMs: Summary;
  /**
   * The remote applications alone, all at once: an unscoped create sent to every remote site at
   * the same moment → the pod in that site's watch; every (round, remote site) pair.
   */
  readonly fanOutMs: Summary;
  /** The measured one-way p50 + `fanOutMs` p99: the p99 a Cheops costing nothing would show here. */
  readonly fanOutFloorP99Ms: number;
  /** Whether that floor is within the target, i.e. whether this machine can meet it at all. */
  readonly targetWithinReach: boolean;
  readonly targetMs: number;
  readonly verdict: Verdict;
  /** Resident memory of the node processes after the writes: mean and total. */
  readonly rssMeanBytes: number;
  readonly rssTotalBytes: number;
  /** CPU of all node processes during the writes, per write, less what they use idle. */
  readonly cpuMsPerWrite: number;
  /** Share of the machine's CPU the idle sites use (heartbeats, gossip, timers). */
  readonly idleCpuShare: number;
  /** Time after each write until the sites were idle again, on average. */
  readonly settleMsPerWrite: number;
}

export interface ReplicationDelayResult {
  readonly startedAt: string;
  readonly machine: Awaited<ReturnType<typeof machine>>;
  readonly link: string;
  /** The link's one-way delay as measured through a relay in this run. */
  readonly measuredOneWayMs: Summary;
  readonly runs: readonly ReplicationDelayRun[];
}

export async function runReplicationDelayBenchmark(options: ReplicationDelayOptions = quickMode() ? quickReplicationDelayOptions : defaultReplicationDelayOptions): Promise<ReplicationDelayResult> {
  const progress = progressFor('replication-delay');
  const conditions = linkConditions({ latency: { type: 'fixed', ms: options.oneWayMs } });
  const measuredOneWayMs = await probeOneWay(conditions);
  progress(`link ${describeConditions(conditions)}: measured one-way p50 ${fixed(measuredOneWayMs.p50)} ms, p99 ${fixed(measuredOneWayMs.p99)} ms`);
  const runs: ReplicationDelayRun[] = [];
  // The target is against the one-way latency measured through a relay in this run (the physical limit).
  const targetMs = measuredOneWayMs.p50 + options.slackMs;
  for (const sites of options.siteCounts) {
    runs.push(await measureSites(sites, options, measuredOneWayMs.p50, targetMs, progress));
  }
  await closeClients();
  return { startedAt: new Date().toISOString(), machine: await machine(), link: describeConditions(conditions), measuredOneWayMs, runs };
}

async function measureSites(sites: number, options: ReplicationDelayOptions, oneWayMs: number, targetMs: number, progress: Progress): Promise<ReplicationDelayRun> {
  const conditions = linkConditions({ latency: { type: 'fixed', ms: options.oneWayMs } });
  const bench = await startBenchDeployment(sites, conditions, progress);
  const watches: PodWatch[] = [];
  try {
    const [origin, ...remotes] = bench.sites;
    const scope = `{${bench.sites.map((site) => site.name).join(' & ')}}`;
    for (const remote of remotes) watches.push(await PodWatch.start(remote.url));
    // Warm-up: the first writes load code paths and open streams; not measured.
    for (let i = 0; i < 3; i += 1) await measuredWrite(origin!.url, `warm-${i}`, scope, watches, remotes.map((site) => site.name));
    // The floor of a remote apply: the remote application's own create, unscoped, on a quiet system.
    const plain: number[] = [];
    for (let i = 0; i < 10; i += 1) plain.push((await createPod(remotes.at(-1)!.url, `plain-${i}`)).latencyMs);
    const idle = await idleCpuRate(bench.sites);
    const writes = options.writes(sites);
    const fanOut: number[] = [];
    for (let i = 0; i < writes; i += 1) {
      fanOut.push(...(await fanOutCreates(remotes, `fan-out-${i}`, watches)));
      await settle(bench.sites, idle);
    }
    const fanOutMs = summarize(fanOut);
    const fanOutFloorP99Ms = oneWayMs + fanOutMs.p99;
    progress(`${sites} sites: the remote applications alone, all at once: p50 ${fixed(fanOutMs.p50)} ms, p99 ${fixed(fanOutMs.p99)} ms`);

    const before = await sampleSites(bench.sites);
    const started = performance.now();
    const results: WriteResult[] = [];
    let settleMs = 0;
    for (let i = 0; i < writes; i += 1) {
      results.push(await measuredWrite(origin!.url, `delay-${i}`, scope, watches, remotes.map((site) => site.name)));
      if ((i + 1) % 10 === 0) progress(`${sites} sites: ${i + 1}/${writes} writes`);
      settleMs += await settle(bench.sites, idle);
    }
    const after = await sampleSites(bench.sites);
    const elapsedMs = performance.now() - started;

    const watchSummary = summarize(results.flatMap((result) => result.watchMs));
    const cpuMs = after.reduce((sum, sample, index) => sum + sample.cpuMs - before[index]!.cpuMs, 0);
    const rssTotalBytes = after.reduce((sum, sample) => sum + sample.rssBytes, 0);
    const run: ReplicationDelayRun = {
      sites, writes, watchMs: watchSummary,
      allSitesMs: summarize(results.map((result) => Math.max(...result.watchMs))),
      updatedAtMs: summarize(results.flatMap((result) => result.updatedAtMs)),
      ackMs: summarize(results.map((result) => result.ackMs)),
      remoteCreateMs: summarize(plain),
      fanOutMs, fanOutFloorP99Ms, targetWithinReach: fanOutFloorP99Ms <= targetMs,
      targetMs, verdict: verdict(watchSummary.p99 <= targetMs),
      rssMeanBytes: rssTotalBytes / sites, rssTotalBytes,
      cpuMsPerWrite: (cpuMs - idle * elapsedMs) / writes,
      idleCpuShare: idle / (await machine()).cpus,
      settleMsPerWrite: settleMs / writes,
    };
    progress(`${sites} sites: p50 ${fixed(run.watchMs.p50)} ms, p99 ${fixed(run.watchMs.p99)} ms (target ≤ ${fixed(targetMs)} ms: ${run.verdict})`);
    return run;
  } finally {
    for (const watch of watches) watch.close();
    await bench.stop();
  }
}

/**
 * One unscoped create on every remote site's application at the same moment (through each front,
 * passed through untouched), timed from the moment they are sent to each pod in its site's watch.
 */
async function fanOutCreates(remotes: readonly DeployedSite[], name: string, watches: readonly PodWatch[]): Promise<number[]> {
  const sentAtMs = wallMs();
  await Promise.all(remotes.map((remote) => createPod(remote.url, name)));
  await Promise.all(watches.map((watch) => watch.waitFor([name], 120_000)));
  return watches.map((watch) => watch.appearedAt(name)! - sentAtMs);
}

interface WriteResult {
  readonly ackMs: number;
  /** Acknowledgement → the pod in each remote site's watch. */
  readonly watchMs: number[];
  /** Acknowledgement → each remote replica entry's `updatedAt`. */
  readonly updatedAtMs: number[];
}

/**
 * One scoped create, timed to its appearance on every remote site; it returns once every remote
 * replica entry is back at the origin, so that the next write is measured on a quiet system.
 */
async function measuredWrite(originUrl: string, name: string, scope: string, watches: readonly PodWatch[], remotes: readonly string[]): Promise<WriteResult> {
  const ack = await createPod(originUrl, name, scope);
  await Promise.all(watches.map((watch) => watch.waitFor([name], 120_000)));
  const watchMs = watches.map((watch) => watch.appearedAt(name)! - ack.ackAtMs);
  let updatedAtMs: number[] = [];
  await until(async () => {
    const detail = await admin<ReplicantDetail>(originUrl, `/replicants/${ack.metaId ?? 'none'}`);
    const entries = remotes.map((site) => detail.replicas[site]);
    if (!entries.every((entry) => entry?.status === 'applied')) return false;
    updatedAtMs = entries.map((entry) => entry!.updatedAt - ack.ackAtMs);
    return true;
  }, 120_000, `replica entries of ${name} back at the origin`, 50);
  return { ackMs: ack.latencyMs, watchMs, updatedAtMs };
}

interface ReplicantDetail {
  replicas: Record<string, { status: string; updatedAt: number }>;
}

/** The printed table. */
export function formatReplicationDelayTable(result: ReplicationDelayResult): string {
  const header = ['sites', 'writes', 'samples', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'all p99', 'updatedAt p99', 'floor ms', 'fan-out floor p99', 'target', 'verdict', 'ack p50', 'RSS/site MiB', 'CPU ms/write', 'idle CPU', 'settle ms'];
  const oneWay = result.measuredOneWayMs;
  const rows = result.runs.map((run) => [
    String(run.sites), String(run.writes), String(run.watchMs.n), fixed(run.watchMs.p50), fixed(run.watchMs.p90), fixed(run.watchMs.p99), fixed(run.watchMs.max),
    fixed(run.allSitesMs.p99), fixed(run.updatedAtMs.p99), fixed(oneWay.p50 + run.remoteCreateMs.p50), fixed(run.fanOutFloorP99Ms),
    `≤ ${fixed(run.targetMs)}`, run.targetWithinReach ? run.verdict : `${run.verdict} (out of reach here)`,
    fixed(run.ackMs.p50), mebibytes(run.rssMeanBytes), fixed(run.cpuMsPerWrite, 0), `${fixed(run.idleCpuShare * 100, 0)}%`, fixed(run.settleMsPerWrite, 0),
  ]);
  return formatTable(header, rows, [
    `link: ${result.link} one way; measured through a relay in this run: p50 ${fixed(oneWay.p50)} ms, p99 ${fixed(oneWay.p99)} ms (the physical limit)`,
    'p50…max: acknowledgement at the origin → pod seen in a watch of each remote site (one clock: this process); every (write, remote site) pair',
    "all p99: → the last remote site, per write; updatedAt p99: → the remote replica entry's updatedAt (the node's clock, same machine)",
    "floor: measured one-way p50 + p50 of an unscoped create on a remote site's own application (what applying a replica costs at the least)",
    'fan-out floor p99: measured one-way p50 + p99 of unscoped creates sent to every remote application at once (what a Cheops costing nothing would show on this machine)',
    'out of reach here: the fan-out floor is above the target, so no agent can meet it on this machine (the sites share its cores)',
    `target: p99 within the measured one-way latency (p50) + 20 ms; ack: the scoped create at the origin; CPU ms/write: every node process, idle use deducted (${result.machine.cpus} cores)`,
    'idle CPU: share of the machine the idle sites use; settle: wait after each write until the sites are idle again (each write is measured alone)',
  ]);
}
