/**
 * Scale on the real stack: what does one replicated resource cost, at 10,000 of them? Three sites
 * on ideal links (costs, not latency): Site1 makes 10,000 scoped creates `{Site1 & Site2}` (a
 * ~1 KB pod each), Site2 applies them; Site3, in no scope, takes unscoped creates of the same pods:
 * its application alone, the baseline side by side in the same run. Per resource: resident memory
 * of each node process, bytes of its document store and of its application's store, and CPU per
 * write (the idle processes' own use deducted). As a reference for Automerge's part, the same
 * documents are built in this process with Automerge alone: one change with the desired body,
 * one with the replica entry, a save.
 */
import * as Automerge from '@automerge/automerge';
import { join } from 'node:path';
import type { DeployedSite } from '../cli/local-deployment.js';
import { idealLink } from '../simulator/relay/index.js';
import { closeClients, createPod, metricSum, podBody, replicationState } from './stack-client.js';
import { directoryBytes, machine, progressFor, quickMode, sampleSites, startBenchDeployment, type Progress } from './stack-deployment.js';
import { fixed, formatTable, kibibytes, sleep, until } from './stack-report.js';

export interface ScaleOptions {
  readonly resources: number;
  /** Unscoped creates on the baseline site (per-resource costs do not need all 10,000). */
  readonly baseline: number;
  readonly concurrency: number;
}

export const defaultScaleOptions: ScaleOptions = { resources: 10_000, baseline: 2_000, concurrency: 8 };
export const quickScaleOptions: ScaleOptions = { resources: 1_000, baseline: 500, concurrency: 8 };

/** Per-resource costs of one site in one phase. */
export interface SiteCost {
  readonly site: string;
  readonly role: 'origin' | 'replica' | 'application alone';
  readonly resources: number;
  readonly rssBytesPerResource: number;
  /** V8 heap in use (the node's `cheops_nodejs_heap_size_used_bytes`; Automerge's WASM memory is outside it). */
  readonly heapBytesPerResource: number;
  readonly storeBytesPerResource: number;
  readonly appStoreBytesPerResource: number;
  readonly cpuMsPerResource: number;
  readonly rssAfterBytes: number;
  readonly documentsLoaded: number | undefined;
}

export interface ScaleResult {
  readonly startedAt: string;
  readonly machine: Awaited<ReturnType<typeof machine>>;
  readonly options: ScaleOptions;
  readonly podJsonBytes: number;
  readonly costs: readonly SiteCost[];
  /** Replicated creates per second, from the first create to both sites converged. */
  readonly replicatedPerSecond: number;
  readonly plainPerSecond: number;
  /** Creates per second of each thousand, in order: does a write cost more as resources pile up? */
  readonly ratePerThousand: readonly number[];
  /** Automerge alone, in this process, per document: CPU ms, saved bytes. */
  readonly automergeMsPerResource: number;
  readonly automergeSavedBytesPerResource: number;
}

interface Snapshot {
  readonly rss: number[];
  readonly heap: number[];
  readonly cpu: number[];
  readonly store: number[];
  readonly app: number[];
  readonly atMs: number;
}

async function snapshot(sites: readonly DeployedSite[]): Promise<Snapshot> {
  const samples = await sampleSites(sites);
  return {
    rss: samples.map((sample) => sample.rssBytes),
    heap: await Promise.all(sites.map((site) => metricSum(site.url, 'cheops_nodejs_heap_size_used_bytes').catch(() => Number.NaN))),
    cpu: samples.map((sample) => sample.cpuMs),
    store: await Promise.all(sites.map((site) => directoryBytes(join(site.dataDir, 'store')))),
    app: await Promise.all(sites.map((site) => directoryBytes(join(site.dataDir, 'standin')))),
    atMs: performance.now(),
  };
}

export async function runScaleBenchmark(options: ScaleOptions = quickMode() ? quickScaleOptions : defaultScaleOptions): Promise<ScaleResult> {
  const progress = progressFor('scale');
  const automerge = automergeReference(Math.min(1_000, options.resources));
  progress(`Automerge alone: ${fixed(automerge.msPerResource, 2)} ms and ${fixed(automerge.savedBytesPerResource, 0)} saved bytes per replicant`);
  const bench = await startBenchDeployment(3, idealLink, progress);
  try {
    const [site1, , site3] = bench.sites as [DeployedSite, DeployedSite, DeployedSite];
    await createMany(site1.url, 'warm', 20, options.concurrency, '{Site1 & Site2}');
    await createMany(site3.url, 'warm', 20, options.concurrency);
    await until(() => convergedAt(bench.sites, 20), 60_000, 'warm-up replicated');
    const idle = await idleRates(bench.sites);

    const beforePlain = await snapshot(bench.sites);
    await createMany(site3.url, 'plain', options.baseline, options.concurrency, undefined, progress);
    await sleep(1_000);
    const afterPlain = await snapshot(bench.sites);
    const plainSeconds = (afterPlain.atMs - beforePlain.atMs - 1_000) / 1000;

    const beforeReplicated = await snapshot(bench.sites);
    const rates = await createMany(site1.url, 'res', options.resources, options.concurrency, '{Site1 & Site2}', progress);
    await until(() => convergedAt(bench.sites, 20 + options.resources), 600_000, 'Site2 applied every resource', 250);
    const replicatedSeconds = (performance.now() - beforeReplicated.atMs) / 1000;
    progress(`${options.resources} replicated in ${replicatedSeconds.toFixed(1)} s, both sites converged`);
    await sleep(1_000);
    const afterReplicated = await snapshot(bench.sites);

    const cost = (index: number, role: SiteCost['role'], resources: number, before: Snapshot, after: Snapshot, loaded: number | undefined): SiteCost => ({
      site: bench.sites[index]!.name, role, resources,
      rssBytesPerResource: (after.rss[index]! - before.rss[index]!) / resources,
      heapBytesPerResource: (after.heap[index]! - before.heap[index]!) / resources,
      storeBytesPerResource: (after.store[index]! - before.store[index]!) / resources,
      appStoreBytesPerResource: (after.app[index]! - before.app[index]!) / resources,
      cpuMsPerResource: (after.cpu[index]! - before.cpu[index]! - idle[index]! * (after.atMs - before.atMs)) / resources,
      rssAfterBytes: after.rss[index]!, documentsLoaded: loaded,
    });
    const loaded = await Promise.all(bench.sites.map((site) => metricSum(site.url, 'cheops_documents_loaded').catch(() => Number.NaN)));
    await closeClients();
    return {
      startedAt: new Date().toISOString(), machine: await machine(), options, podJsonBytes: JSON.stringify(podBody('res-0000')).length,
      costs: [
        cost(0, 'origin', options.resources, beforeReplicated, afterReplicated, loaded[0]),
        cost(1, 'replica', options.resources, beforeReplicated, afterReplicated, loaded[1]),
        cost(2, 'application alone', options.baseline, beforePlain, afterPlain, loaded[2]),
      ],
      replicatedPerSecond: options.resources / replicatedSeconds, plainPerSecond: options.baseline / plainSeconds, ratePerThousand: rates,
      automergeMsPerResource: automerge.msPerResource, automergeSavedBytesPerResource: automerge.savedBytesPerResource,
    };
  } finally {
    await bench.stop();
  }
}

/** `count` creates `<prefix>-<i>` on one site, `concurrency` at a time; the rate of each thousand. */
async function createMany(url: string, prefix: string, count: number, concurrency: number, scope?: string, progress?: Progress): Promise<number[]> {
  let next = 0;
  const rates: number[] = [];
  let sliceStart = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next;
      next += 1;
      await createPod(url, `${prefix}-${String(i).padStart(5, '0')}`, scope);
      if ((i + 1) % 1000 === 0) {
        const now = performance.now();
        rates.push(1000 / ((now - sliceStart) / 1000));
        sliceStart = now;
        progress?.(`${prefix}: ${i + 1}/${count} created (${fixed(rates.at(-1), 0)}/s)`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return rates;
}

/** Site1 and Site2 hold `count` live replicants each and have no replica pending. */
async function convergedAt(sites: readonly DeployedSite[], count: number): Promise<boolean> {
  const states = await Promise.all(sites.slice(0, 2).map((site) => replicationState(site.url)));
  return states.every((state) => state.live === count && state.pending === 0);
}

/** CPU ms per wall ms each idle process uses. */
async function idleRates(sites: readonly DeployedSite[]): Promise<number[]> {
  const before = await sampleSites(sites);
  const start = performance.now();
  await sleep(3_000);
  const after = await sampleSites(sites);
  const elapsed = performance.now() - start;
  return after.map((sample, index) => (sample.cpuMs - before[index]!.cpuMs) / elapsed);
}

/** Automerge alone: a replicant as node/replication writes it (immutable strings), its replica entry, a save. */
function automergeReference(count: number): { msPerResource: number; savedBytesPerResource: number } {
  const start = process.cpuUsage();
  let saved = 0;
  for (let i = 0; i < count; i += 1) {
    const body = JSON.stringify(podBody(`ref-${i}`));
    let doc = Automerge.from<Record<string, unknown>>({
      v: 1,
      meta: new Automerge.ImmutableString(JSON.stringify({ key: { app: 'kubernetes', service: 'pods', namespace: 'default', name: `ref-${i}` }, scope: '{Site1 & Site2}', sites: ['Site1', 'Site2'], origin: 'Site1', incarnation: 0 })),
      desired: new Automerge.ImmutableString(JSON.stringify({ revision: `1-Site1-${i.toString(16).padStart(8, '0')}`, generation: 1, site: 'Site1', at: 0, body: JSON.parse(body) as unknown })),
      'replica:Site1': new Automerge.ImmutableString(JSON.stringify({ status: 'applied', observedGeneration: 1, updatedAt: 0 })),
    });
    doc = Automerge.change(doc, (draft) => {
      draft['replica:Site2'] = new Automerge.ImmutableString(JSON.stringify({ status: 'applied', observedGeneration: 1, updatedAt: 1 }));
    });
    saved += Automerge.save(doc).length;
  }
  const used = process.cpuUsage(start);
  return { msPerResource: (used.user + used.system) / 1000 / count, savedBytesPerResource: saved / count };
}

export function formatScaleTable(result: ScaleResult): string {
  const header = ['site', 'role', 'resources', 'RSS KiB/res', 'heap KiB/res', 'store B/res', 'app store B/res', 'CPU ms/res', 'RSS after MiB', 'docs loaded'];
  const rows = result.costs.map((cost) => [
    cost.site, cost.role, String(cost.resources), kibibytes(cost.rssBytesPerResource), kibibytes(cost.heapBytesPerResource), fixed(cost.storeBytesPerResource, 0),
    fixed(cost.appStoreBytesPerResource, 0), fixed(cost.cpuMsPerResource, 2), fixed(cost.rssAfterBytes / 2 ** 20, 0), fixed(cost.documentsLoaded, 0),
  ]);
  return formatTable(header, rows, [
    `pod JSON: ${result.podJsonBytes} bytes; Automerge alone (this process): ${fixed(result.automergeMsPerResource, 2)} ms CPU and ${fixed(result.automergeSavedBytesPerResource, 0)} saved bytes per replicant`,
    `replicated: ${fixed(result.replicatedPerSecond, 0)} resources/s end to end (${result.options.concurrency} concurrent creates on Site1); application alone: ${fixed(result.plainPerSecond, 0)}/s`,
    `rate of each thousand replicated creates: ${result.ratePerThousand.map((rate) => fixed(rate, 0)).join(', ')} /s`,
    `store: the node's document store (level, on disk, before compaction); app store: the stand-in's own; CPU: the process's, idle use deducted; ${result.machine.cpus} cores`,
  ]);
}
