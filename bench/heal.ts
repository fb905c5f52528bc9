/**
 * Heal on the real stack: two sites (50 ms one way, 100 Mbit/s) are cut apart; each makes K
 * scoped creates `{Site1 & Site2}` during the partition; the link heals. Two convergences are
 * measured from the reconnection (the relay sees the redialled connection reach the other site),
 * side by side, each against its own target:
 *
 * - documents: both sites hold every change either side held when the link healed, durably (the
 *   metadata sync). Each site is told, before the heal, the heads of all 2K replicants (the union
 *   of what both hold) and notes when the last of those changes was written
 *   (`/cheops/v1/documents/expected-heads`), so this time does not depend on how often it is
 *   polled. Identical heads on both sites come only later: each site's reconciler adds its replica
 *   entry to every replicant it receives, and that change travels back. Target: the physical limit
 *   of a libp2p reconnection over this link (measured in this run with two bare transports: from
 *   the TCP connection to the first message on a new stream, i.e. multistream-select, the noise
 *   handshake and a stream's negotiation, which no protocol above libp2p can skip), then two
 *   round trips, then the transfer time of the bytes at the link's bandwidth; side by side, the
 *   time a raw TCP transfer of the same bytes takes through a relay with the same conditions.
 * - application: every pod the other side created exists in each site's application, as a watch
 *   of each site's pods (through its front, opened before the heal) sees it appear; timed by the
 *   watch, not polled. Its floor, measured in the same run: the time each site's application takes
 *   to make K creates with no Cheops in the path (unscoped creates through the passthrough, both
 *   sites at once, as many at a time as the reconciler runs). Target: that floor plus the
 *   documents' target. Settled, shown beside it: both sites hold all 2K replicants with every
 *   replica recorded applied (their metrics `cheops_replicants` live and
 *   `cheops_replicas_pending`, polled every 200 ms; checked against the pods listed by each
 *   application, and the heads of both sites compared, at the end).
 *
 * Bytes are compared with the changes made: after convergence Site1's store is read (the site
 * stopped), and the bytes of every Automerge change of the 2K documents are summed, each encoded
 * on its own (`getAllChanges`). Every one of those changes was made on one site and is needed on the
 * other (a create, and the other site's replica entry), so that sum is what has to cross at least
 * before compression; the documents' compressed `save()` is shown too.
 */
import { describeConditions, linkConditions, type LinkConditions } from '../simulator/relay/index.js';
import { seesUp } from '../cli/local-deployment.js';
import { probeOneWay, probeTransfer } from './link-probe.js';
import { probeLibp2pReconnect } from './libp2p-probe.js';
import { replicantDocPrefix } from '../crdt/replicant.js';
import type { ExpectedHeadsStatus } from '../node/expected-heads.js';
import { defaultReconcileConcurrency as reconcilerConcurrency } from '../node/replication/engine.js';
import { admin, closeClients, createPod, PodWatch, replicationState, wallMs } from './stack-client.js';
import { machine, progressFor, quickMode, sampleSites, startBenchDeployment, type BenchDeployment, type Progress } from './stack-deployment.js';
import { fixed, formatTable, kibibytes, sleep, until, verdict, type Summary, type Verdict } from './stack-report.js';
import { replicantChangeSizes, type ChangeSizes } from './store-reader.js';

export interface HealOptions {
  readonly writesPerSide: readonly number[];
  readonly oneWayMs: number;
  readonly bandwidthBytesPerSecond: number;
  /** Concurrent creates on each side during the partition. */
  readonly concurrency: number;
}

export const defaultHealOptions: HealOptions = { writesPerSide: [10, 100, 1000], oneWayMs: 50, bandwidthBytesPerSecond: 12_500_000, concurrency: 4 };
export const quickHealOptions: HealOptions = { ...defaultHealOptions, writesPerSide: [10, 100] };

export interface HealRun {
  readonly k: number;
  /** Heal → the redialled connection reaches the other site (TCP, through the relay). */
  readonly reconnectMs: number;
  /** Heal → both sites see the other up (libp2p connection upgraded, a heartbeat answered). */
  readonly upMs: number;
  /** Reconnection → the first missing document is held whole on either site (the connection upgraded, a summary, a round trip). */
  readonly firstDocumentMs: number;
  /** Reconnection → both sites hold every change either held at the heal (written durably). */
  readonly documentsMs: number;
  /**
   * The physical limit: a bare libp2p reconnection (TCP connection → the first message on a new
   * stream, measured in this run), then two round trips, then the bytes at the link's bandwidth.
   */
  readonly documentsTargetMs: number;
  /** The same bytes moved by a raw TCP transfer through a relay with the same conditions. */
  readonly rawTransferMs: number;
  readonly documentsVerdict: Verdict;
  /** Reconnection → every pod of the other side seen in a watch of each site's application. */
  readonly applicationMs: number;
  /** Reconnection → every replicant on both sites, every replica recorded applied (polled every 200 ms). */
  readonly settledMs: number;
  /** K creates made directly in each site's application, both sites at once. */
  readonly applicationFloorMs: number;
  /** The application floor plus the documents' target. */
  readonly applicationTargetMs: number;
  /**
   * CPU milliseconds both sites' processes used from the reconnection to the last pod seen (the
   * applications' work included: the stand-in runs in each site's process), and the same during
   * the floor's creates, when this process also spent `floorClientCpuMs` making the calls the
   * reconcilers make in a heal. Their difference, per replica, is what Cheops adds on the cores
   * the sites share; `applicationMachineShare`: the share of the machine's cores the sites and
   * this process kept busy over the application phase (1 = every core, all the time).
   */
  readonly applicationCpuMs: number;
  readonly floorCpuMs: number;
  readonly floorClientCpuMs: number;
  readonly applicationMachineShare: number;
  readonly applicationVerdict: Verdict;
  /** Heal → every replica recorded applied (polled). */
  readonly totalMs: number;
  /** Both see the other up → every replica recorded applied (polled). */
  readonly afterUpMs: number;
  /** Bytes through the relay from the heal to the application's convergence, each way (Site1 → Site2, Site2 → Site1). */
  readonly bytesForward: number;
  readonly bytesBackward: number;
  readonly changes: ChangeSizes;
  readonly bytesVerdict: Verdict;
}

export interface HealResult {
  readonly startedAt: string;
  readonly machine: Awaited<ReturnType<typeof machine>>;
  readonly link: string;
  readonly measuredRttMs: number;
  /** A bare libp2p reconnection over the same link: TCP connection → first message on a new stream (bench/libp2p-probe.ts). */
  readonly libp2pReconnectMs: Summary;
  readonly runs: readonly HealRun[];
}

export async function runHealBenchmark(options: HealOptions = quickMode() ? quickHealOptions : defaultHealOptions): Promise<HealResult> {
  const progress = progressFor('heal');
  const conditions = linkConditions({ latency: { type: 'fixed', ms: options.oneWayMs }, bandwidthBytesPerSecond: options.bandwidthBytesPerSecond });
  const rtt = 2 * (await probeOneWay(conditions, 10)).p50;
  const libp2pReconnectMs = await probeLibp2pReconnect(conditions);
  progress(`a bare libp2p reconnection over this link: ${fixed(libp2pReconnectMs.p50, 0)} ms from the TCP connection to the first message (p50 of ${libp2pReconnectMs.n})`);
  const runs: HealRun[] = [];
  for (const k of options.writesPerSide) runs.push(await measureHeal(k, conditions, { rtt, reconnect: libp2pReconnectMs.p50 }, options, progress));
  await closeClients();
  return { startedAt: new Date().toISOString(), machine: await machine(), link: describeConditions(conditions), measuredRttMs: rtt, libp2pReconnectMs, runs };
}

async function measureHeal(k: number, conditions: LinkConditions, limits: { rtt: number; reconnect: number }, options: HealOptions, progress: Progress): Promise<HealRun> {
  const { rtt } = limits;
  const bench = await startBenchDeployment(2, conditions, progress);
  try {
    const [site1, site2] = bench.sites;
    const relay = bench.deployment.mesh.relay('Site1', 'Site2');
    bench.deployment.mesh.partition([['Site1']], 'reset');
    await until(async () => !(await seesUp(site1!.url, ['Site2'])) && !(await seesUp(site2!.url, ['Site1'])), 10_000, 'both sides see the other down');
    const writing = performance.now();
    await Promise.all([writeMany(site1!.url, 's1', k, options.concurrency, healScope), writeMany(site2!.url, 's2', k, options.concurrency, healScope)]);
    progress(`K=${k}: ${k} writes on each side during the partition in ${((performance.now() - writing) / 1000).toFixed(1)} s`);
    await sleep(500);
    await expectEveryChange(bench, 2 * k);

    // Opened before the heal: each lists what its site holds, then notes when each new pod appears.
    const watches = await Promise.all(bench.sites.map((site) => PodWatch.start(site.url)));
    const before = relay.stats();
    const healAt = wallMs();
    bench.deployment.mesh.heal();
    const seenUp = until(async () => (await seesUp(site1!.url, ['Site2'])) && (await seesUp(site2!.url, ['Site1'])), 60_000, 'both sides see the other up', 100);
    const reconnectMs = await until(() => Promise.resolve((relay.stats().lastConnectedAtMs ?? 0) > healAt), 60_000, 'reconnection', 5);
    const reconnectedAt = relay.stats().lastConnectedAtMs ?? healAt + reconnectMs;
    const cpuAtReconnect = await cpuNow(bench);
    const documentsAt = documentsConverged(bench);
    const fromOtherSide = [podNames('s2', k), podNames('s1', k)];
    // Settling (every replica entry recorded) comes after the pods, and is polled only from then:
    // each poll scrapes both sites' /metrics, a few milliseconds of their CPU, which the
    // application phase would otherwise pay five times a second.
    await Promise.all(watches.map((watch, index) => watch.waitFor(fromOtherSide[index]!, 600_000)));
    const cpuAtPods = await cpuNow(bench);
    const settleFrom = wallMs();
    const totalMs = settleFrom - healAt + (await until(() => applicationConverged(bench, k), 600_000, `K=${k} application convergence`, 200));
    const podsAt = Math.max(...watches.flatMap((watch, index) => fromOtherSide[index]!.map((name) => watch.appearedAt(name) ?? Number.NaN)));
    watches.forEach((watch) => watch.close());
    const documentsTimes = await documentsAt;
    const documentsMs = documentsTimes.lastAt - reconnectedAt;
    const firstDocumentMs = documentsTimes.firstAt - reconnectedAt;
    const upMs = await seenUp;
    const after = relay.stats();
    await checkApplications(bench, 2 * k);
    await until(() => sameHeads(bench), 60_000, 'identical heads on both sites', 200);
    const floor = await directCreates(bench, k);
    const applicationFloorMs = floor.elapsedMs;

    // Stopped before reading its store: LevelDB locks it while the site runs.
    await bench.deployment.stop();
    const changes = await replicantChangeSizes(site1!.dataDir);
    const bytesForward = after.forward.bytesOut - before.forward.bytesOut;
    const bytesBackward = after.backward.bytesOut - before.backward.bytesOut;
    const documentsTargetMs = limits.reconnect + 2 * rtt + ((bytesForward + bytesBackward) / options.bandwidthBytesPerSecond) * 1000;
    const rawTransferMs = await probeTransfer(conditions, bytesForward, bytesBackward);
    const applicationMs = podsAt - reconnectedAt;
    const settledMs = totalMs - reconnectMs;
    const applicationTargetMs = applicationFloorMs + documentsTargetMs;
    const applicationCpuMs = cpuAtPods.sitesMs - cpuAtReconnect.sitesMs;
    const run: HealRun = {
      k, reconnectMs, upMs, firstDocumentMs, documentsMs, documentsTargetMs, rawTransferMs, documentsVerdict: verdict(documentsMs <= documentsTargetMs),
      applicationMs, settledMs, applicationFloorMs, applicationTargetMs, applicationVerdict: verdict(applicationMs <= applicationTargetMs),
      applicationCpuMs, floorCpuMs: floor.sitesCpuMs, floorClientCpuMs: floor.clientCpuMs,
      applicationMachineShare: (applicationCpuMs + cpuAtPods.benchMs - cpuAtReconnect.benchMs) / ((cpuAtPods.at - cpuAtReconnect.at) * (await machine()).cpus),
      totalMs, afterUpMs: totalMs - upMs, bytesForward, bytesBackward, changes,
      bytesVerdict: verdict(bytesForward + bytesBackward <= 2 * changes.changeBytes),
    };
    progress(
      `K=${k}: documents ${fixed(documentsMs, 0)} ms after reconnecting (target ${fixed(documentsTargetMs, 0)} ms: ${run.documentsVerdict}), ` +
        `application ${fixed(applicationMs, 0)} ms (floor ${fixed(applicationFloorMs, 0)}, target ${fixed(applicationTargetMs, 0)} ms: ${run.applicationVerdict}; settled ${fixed(settledMs, 0)} ms; ` +
        `sites' CPU ${fixed(applicationCpuMs / (2 * k), 2)} ms per replica against ${fixed(floor.sitesCpuMs / (2 * k), 2)} per create in the floor, ${fixed(run.applicationMachineShare * 100, 0)}% of the cores busy), ` +
        `${kibibytes(bytesForward + bytesBackward)} KiB for ${kibibytes(changes.changeBytes)} KiB of changes (${run.bytesVerdict})`,
    );
    return run;
  } finally {
    await bench.stop();
  }
}

type HeadsByDocument = Record<string, readonly string[]>;

const replicantHeads = async (url: string): Promise<HeadsByDocument> =>
  (await admin<{ docs: HeadsByDocument }>(url, `/documents/heads?prefix=${encodeURIComponent(replicantDocPrefix)}`)).docs;

/** Tells both sites to watch for every change either holds now: the union of their replicants' heads. */
async function expectEveryChange(bench: BenchDeployment, documents: number): Promise<void> {
  const union = new Map<string, Set<string>>();
  for (const docs of await Promise.all(bench.sites.map((site) => replicantHeads(site.url)))) {
    for (const [doc, heads] of Object.entries(docs)) {
      const set = union.get(doc) ?? new Set<string>();
      heads.forEach((hash) => set.add(hash));
      union.set(doc, set);
    }
  }
  if (union.size !== documents) throw new Error(`${union.size} replicants before the heal, expected ${documents}`);
  const body = JSON.stringify({ docs: Object.fromEntries([...union].map(([doc, heads]) => [doc, [...heads]])) });
  for (const site of bench.sites) {
    const response = await fetch(`${site.url}/cheops/v1/documents/expected-heads`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
    if (!response.ok) throw new Error(`${site.name}: PUT expected-heads: HTTP ${response.status}`);
  }
}

/**
 * When (wallMs) the first site received its first missing document, and when the later of the two
 * wrote the last expected change; polled, but the sites note the times.
 */
async function documentsConverged(bench: BenchDeployment): Promise<{ firstAt: number; lastAt: number }> {
  let statuses: ExpectedHeadsStatus[] = [];
  await until(async () => {
    statuses = await Promise.all(bench.sites.map((site) => admin<ExpectedHeadsStatus>(site.url, '/documents/expected-heads')));
    return statuses.every((status) => status.completedAtMs !== null);
  }, 600_000, 'documents convergence', 100);
  const firsts = statuses.flatMap((status) => (status.firstHeldAtMs === null ? [] : [status.firstHeldAtMs]));
  return { firstAt: Math.min(...firsts), lastAt: Math.max(...statuses.map((status) => status.completedAtMs ?? Number.NaN)) };
}

/** Both sites hold all 2K replicants, and neither has a replica not applied. */
async function applicationConverged(bench: BenchDeployment, k: number): Promise<boolean> {
  const states = await Promise.all(bench.sites.map((site) => replicationState(site.url)));
  return states.every((state) => state.live === 2 * k && state.pending === 0);
}

/** Both sites hold the same heads for every replicant. */
async function sameHeads(bench: BenchDeployment): Promise<boolean> {
  const [first, ...others] = await Promise.all(bench.sites.map((site) => replicantHeads(site.url)));
  const canonical = (docs: HeadsByDocument | undefined): string =>
    JSON.stringify(Object.entries(docs ?? {}).map(([doc, heads]) => [doc, [...heads].sort()]).sort(([a], [b]) => (String(a) < String(b) ? -1 : 1)));
  return others.every((docs) => canonical(docs) === canonical(first));
}

/** CPU used so far by the sites' processes and by this one (the client, the relays), in ms, and when. */
async function cpuNow(bench: BenchDeployment): Promise<{ sitesMs: number; benchMs: number; at: number }> {
  const samples = await sampleSites(bench.sites);
  const own = process.cpuUsage();
  return { sitesMs: samples.reduce((sum, sample) => sum + sample.cpuMs, 0), benchMs: (own.user + own.system) / 1000, at: performance.now() };
}

/**
 * The application's own floor: K unscoped creates on each site at once, straight through the
 * passthrough to the stand-in, `reconcilerConcurrency` at a time (as the reconciler runs them),
 * with the CPU the sites and this process (the client) used meanwhile.
 */
async function directCreates(bench: BenchDeployment, k: number): Promise<{ elapsedMs: number; sitesCpuMs: number; clientCpuMs: number }> {
  const before = await cpuNow(bench);
  await Promise.all(bench.sites.map((site) => writeMany(site.url, `floor-${site.name.toLowerCase()}`, k, reconcilerConcurrency, null)));
  const after = await cpuNow(bench);
  return { elapsedMs: after.at - before.at, sitesCpuMs: after.sitesMs - before.sitesMs, clientCpuMs: after.benchMs - before.benchMs };
}

const healScope = '{Site1 & Site2}';

/** The names `writeMany(…, prefix, k, …)` gives its pods. */
const podNames = (prefix: string, k: number): string[] => Array.from({ length: k }, (_, i) => `${prefix}-${i}`);

/** K creates named `<prefix>-<i>` on one site, `concurrency` at a time: scoped, or with `null` straight to the application. */
async function writeMany(url: string, prefix: string, k: number, concurrency: number, scope: string | null): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < k) {
      const i = next;
      next += 1;
      await createPod(url, `${prefix}-${i}`, scope ?? undefined);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Every pod is in every site's application, and the admin API agrees. */
async function checkApplications(bench: BenchDeployment, expected: number): Promise<void> {
  for (const site of bench.sites) {
    const list = (await (await fetch(`${site.url}/api/v1/namespaces/default/pods`)).json()) as { items: unknown[] };
    const { items } = await admin<{ items: Array<{ replicas: Record<string, { status: string }> }> }>(site.url, '/replicants');
    const applied = items.filter((item) => Object.values(item.replicas).every((replica) => replica.status === 'applied')).length;
    if (list.items.length !== expected || applied !== expected) {
      throw new Error(`${site.name}: ${list.items.length} pods and ${applied} replicants applied everywhere, expected ${expected}`);
    }
  }
}

export function formatHealTable(result: HealResult): string {
  const header = [
    'K/side', 'reconnect ms', 'up ms', 'first doc ms', 'documents ms', 'target ms', 'raw TCP ms', 'documents', 'application ms', 'app floor ms', 'target ms', 'application', 'settled ms',
    'CPU ms/replica', 'floor CPU ms/create', 'cores busy',
    'KiB →', 'KiB ←', 'changes KiB', 'saved KiB', 'bytes/changes', 'bytes',
  ];
  const rows = result.runs.map((run) => [
    String(run.k), fixed(run.reconnectMs, 0), fixed(run.upMs, 0),
    fixed(run.firstDocumentMs, 0), fixed(run.documentsMs, 0), fixed(run.documentsTargetMs, 0), fixed(run.rawTransferMs, 0), run.documentsVerdict,
    fixed(run.applicationMs, 0), fixed(run.applicationFloorMs, 0), fixed(run.applicationTargetMs, 0), run.applicationVerdict, fixed(run.settledMs, 0),
    fixed(run.applicationCpuMs / (2 * run.k), 2), `${fixed(run.floorCpuMs / (2 * run.k), 2)} + ${fixed(run.floorClientCpuMs / (2 * run.k), 2)}`, `${fixed(run.applicationMachineShare * 100, 0)}%`,
    kibibytes(run.bytesForward), kibibytes(run.bytesBackward), kibibytes(run.changes.changeBytes), kibibytes(run.changes.savedBytes),
    fixed((run.bytesForward + run.bytesBackward) / run.changes.changeBytes, 2), run.bytesVerdict,
  ]);
  return formatTable(header, rows, [
    `2 sites, ${result.link} each way; round trip measured through a relay in this run: ${fixed(result.measuredRttMs)} ms; ` +
      `a bare libp2p reconnection (TCP connection → first message on a new stream: multistream-select and noise, yamux, the stream's protocol name sent with its first message): ${fixed(result.libp2pReconnectMs.p50, 0)} ms`,
    'reconnect: heal → the redialled TCP connection reaches the other site (the redialer backoff); up: heal → both see the other up (libp2p upgrade, a heartbeat)',
    'first doc: reconnect → either site holds the first document it lacked (libp2p upgrade, heads summary, a round trip); documents: reconnect → both sites hold,',
    '  written durably, every change of the 2K replicants that either held at the heal (the times each site noted, not polled)',
    'documents target: the bare libp2p reconnection + 2 round trips + (bytes both ways) / bandwidth; raw TCP: the same bytes through a relay with the same conditions, from connect to the last acknowledgement',
    'application: reconnect → every pod the other side created exists in each site\'s application (seen in a watch of its pods, opened before the heal)',
    'settled: reconnect → every replicant on both sites, every replica recorded applied (cheops_replicants, cheops_replicas_pending, polled every 200 ms; then checked in both applications, and identical heads on both sites)',
    `app floor: K unscoped creates on each site at once, straight to its application (${reconcilerConcurrency} at a time, as the reconciler), in this run; application target: app floor + documents target`,
    'CPU ms/replica: both sites\' processes (Cheops and the stand-in in each), reconnection → last pod seen, / 2K; floor CPU ms/create: the same during the floor\'s 2K creates, + this process (the client making the calls a reconciler makes in a heal)',
    'cores busy: the sites\' and this process\'s CPU over the application phase / (its wall time × the machine\'s cores): near 100%, the phase is bound by CPU, and what Cheops adds per replica adds to it',
    'KiB →/←: through the relay (Site1→Site2, Site2→Site1) from the heal to the application\'s convergence, noise and yamux framing and heartbeats included',
    'changes: every Automerge change of the 2K documents, each encoded alone (getAllChanges, from the stopped Site1 store); saved: their compressed save(); bytes target ≤ 2× changes',
  ]);
}
