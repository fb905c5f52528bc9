/**
 * Heal on the real stack: two sites (50 ms one way, 100 Mbit/s) are cut apart; each makes K
 * scoped creates `{Site1 & Site2}` during the partition; the link heals. Measured: the time until
 * both sites hold all 2K replicants with every replica applied (their metrics: `cheops_replicants`
 * live and `cheops_replicas_pending`, checked against the pods listed by each application at the
 * end), and the bytes that crossed the link meanwhile (the relay's counters, both ways).
 *
 * Time is counted from the reconnection (the relay sees the redialled connection reach the other
 * site), and also from the heal itself (which adds the redialer's backoff). The target is two round
 * trips plus the transfer time of those bytes at the link's bandwidth; side by side, the time a
 * raw TCP transfer of the same bytes takes through a relay with the same conditions, in this run.
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
import { admin, closeClients, createPod, replicationState } from './stack-client.js';
import { machine, progressFor, quickMode, startBenchDeployment, type BenchDeployment, type Progress } from './stack-deployment.js';
import { fixed, formatTable, kibibytes, sleep, until, verdict, type Verdict } from './stack-report.js';
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
  /** Reconnection → every replicant on both sites, every replica applied. */
  readonly convergeMs: number;
  /** Heal → converged. */
  readonly totalMs: number;
  /** Both see the other up (the libp2p connection upgraded, a heartbeat answered) → converged. */
  readonly afterUpMs: number;
  /** Bytes through the relay from the heal to convergence, each way (Site1 → Site2, Site2 → Site1). */
  readonly bytesForward: number;
  readonly bytesBackward: number;
  readonly changes: ChangeSizes;
  /** Two round trips plus the transfer time of those bytes at the link's bandwidth. */
  readonly targetMs: number;
  /** The same bytes moved by a raw TCP transfer through a relay with the same conditions. */
  readonly rawTransferMs: number;
  readonly timeVerdict: Verdict;
  readonly bytesVerdict: Verdict;
}

export interface HealResult {
  readonly startedAt: string;
  readonly machine: Awaited<ReturnType<typeof machine>>;
  readonly link: string;
  readonly measuredRttMs: number;
  readonly runs: readonly HealRun[];
}

export async function runHealBenchmark(options: HealOptions = quickMode() ? quickHealOptions : defaultHealOptions): Promise<HealResult> {
  const progress = progressFor('heal');
  const conditions = linkConditions({ latency: { type: 'fixed', ms: options.oneWayMs }, bandwidthBytesPerSecond: options.bandwidthBytesPerSecond });
  const rtt = 2 * (await probeOneWay(conditions, 10)).p50;
  const runs: HealRun[] = [];
  for (const k of options.writesPerSide) runs.push(await measureHeal(k, conditions, rtt, options, progress));
  await closeClients();
  return { startedAt: new Date().toISOString(), machine: await machine(), link: describeConditions(conditions), measuredRttMs: rtt, runs };
}

async function measureHeal(k: number, conditions: LinkConditions, rtt: number, options: HealOptions, progress: Progress): Promise<HealRun> {
  const bench = await startBenchDeployment(2, conditions, progress);
  try {
    const [site1, site2] = bench.sites;
    const relay = bench.deployment.mesh.relay('Site1', 'Site2');
    bench.deployment.mesh.partition([['Site1']], 'reset');
    await until(async () => !(await seesUp(site1!.url, ['Site2'])) && !(await seesUp(site2!.url, ['Site1'])), 10_000, 'both sides see the other down');
    const writing = performance.now();
    await Promise.all([writeMany(site1!.url, 's1', k, options.concurrency), writeMany(site2!.url, 's2', k, options.concurrency)]);
    progress(`K=${k}: ${k} writes on each side during the partition in ${((performance.now() - writing) / 1000).toFixed(1)} s`);
    await sleep(500);

    const before = relay.stats();
    const healAt = performance.timeOrigin + performance.now();
    bench.deployment.mesh.heal();
    const seenUp = until(async () => (await seesUp(site1!.url, ['Site2'])) && (await seesUp(site2!.url, ['Site1'])), 60_000, 'both sides see the other up', 25);
    const reconnectMs = await until(() => Promise.resolve((relay.stats().lastConnectedAtMs ?? 0) > healAt), 60_000, 'reconnection', 5);
    const totalMs = reconnectMs + (await until(() => converged(bench, k), 600_000, `K=${k} convergence`, 50));
    const upMs = await seenUp;
    const after = relay.stats();
    await checkApplications(bench, 2 * k);

    // Stopped before reading its store: LevelDB locks it while the site runs.
    await bench.deployment.stop();
    const changes = await replicantChangeSizes(site1!.dataDir);
    const bytesForward = after.forward.bytesOut - before.forward.bytesOut;
    const bytesBackward = after.backward.bytesOut - before.backward.bytesOut;
    const targetMs = 2 * rtt + ((bytesForward + bytesBackward) / options.bandwidthBytesPerSecond) * 1000;
    const rawTransferMs = await probeTransfer(conditions, bytesForward, bytesBackward);
    const convergeMs = totalMs - reconnectMs;
    const run: HealRun = {
      k, reconnectMs, upMs, convergeMs, totalMs, afterUpMs: totalMs - upMs, bytesForward, bytesBackward, changes, targetMs, rawTransferMs,
      timeVerdict: verdict(convergeMs <= targetMs), bytesVerdict: verdict(bytesForward + bytesBackward <= 2 * changes.changeBytes),
    };
    progress(
      `K=${k}: converged ${fixed(convergeMs, 0)} ms after reconnecting (target ${fixed(targetMs, 0)} ms: ${run.timeVerdict}), ` +
        `${kibibytes(bytesForward + bytesBackward)} KiB for ${kibibytes(changes.changeBytes)} KiB of changes (${run.bytesVerdict})`,
    );
    return run;
  } finally {
    await bench.stop();
  }
}

/** K scoped creates named `<prefix>-<i>` on one site, `concurrency` at a time. */
async function writeMany(url: string, prefix: string, k: number, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < k) {
      const i = next;
      next += 1;
      await createPod(url, `${prefix}-${i}`, '{Site1 & Site2}');
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Both sites hold all 2K replicants, and neither has a replica not applied. */
async function converged(bench: BenchDeployment, k: number): Promise<boolean> {
  const states = await Promise.all(bench.sites.map((site) => replicationState(site.url)));
  return states.every((state) => state.live === 2 * k && state.pending === 0);
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
  const header = ['K/side', 'reconnect ms', 'up ms', 'converge ms', 'after up ms', 'target ms', 'raw TCP ms', 'time', 'KiB →', 'KiB ←', 'changes KiB', 'saved KiB', 'bytes/changes', 'bytes'];
  const rows = result.runs.map((run) => [
    String(run.k), fixed(run.reconnectMs, 0), fixed(run.upMs, 0), fixed(run.convergeMs, 0), fixed(run.afterUpMs, 0), fixed(run.targetMs, 0), fixed(run.rawTransferMs, 0), run.timeVerdict,
    kibibytes(run.bytesForward), kibibytes(run.bytesBackward), kibibytes(run.changes.changeBytes), kibibytes(run.changes.savedBytes),
    fixed((run.bytesForward + run.bytesBackward) / run.changes.changeBytes, 2), run.bytesVerdict,
  ]);
  return formatTable(header, rows, [
    `2 sites, ${result.link} each way; round trip measured through a relay in this run: ${fixed(result.measuredRttMs)} ms`,
    'reconnect: heal → the redialled TCP connection reaches the other site (the redialer backoff); up: heal → both see the other up (libp2p upgrade, a heartbeat)',
    'converge: reconnect → every replicant on both sites, every replica applied (cheops_replicants, cheops_replicas_pending; then checked in both applications)',
    'after up: both see the other up → converged (what is left once the libp2p connection is upgraded: the sync itself, the applies, the replica entries back)',
    'target: 2 round trips + (bytes both ways) / bandwidth; raw TCP: the same bytes through a relay with the same conditions, from connect to the last acknowledgement',
    'KiB →/←: through the relay (Site1→Site2, Site2→Site1) from the heal to convergence, noise and yamux framing and heartbeats included',
    'changes: every Automerge change of the 2K documents, each encoded alone (getAllChanges, from the stopped Site1 store); saved: their compressed save(); bytes target ≤ 2× changes',
  ]);
}
