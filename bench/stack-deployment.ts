/**
 * The real stack for benchmarks: N `cheops node` processes with the stand-in Kubernetes API,
 * linked through relays (cli/local-deployment.ts, as `cheops up` runs them), in a temporary
 * directory and on ports found free; and what the benchmarks read about each process from Linux
 * (/proc): resident memory and CPU time, and the bytes of a data directory.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDeployment, type DeployedSite } from '../cli/local-deployment.js';
import type { LinkConditions } from '../simulator/relay/index.js';

/** Whether the benchmarks run in their short form (smoke tests): `BENCH_QUICK=1` or `--quick`. */
export function quickMode(): boolean {
  return process.env.BENCH_QUICK === '1' || process.argv.includes('--quick');
}

/** A progress line, prefixed with the benchmark's name. */
export type Progress = (line: string) => void;

export function progressFor(name: string): Progress {
  return (line) => console.log(`[${name}] ${line}`);
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const ephemeralPortsFrom = 32_768;

/** A base port such that base+1..base+n and base+101..base+100+n are free now. */
async function freeBase(sites: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    // Below Linux's ephemeral range (32768 and up): a port found free there can be taken, before
    // the site binds it, by the local end of some outgoing connection (a relay's, another site's).
    const base = 10_000 + Math.floor(Math.random() * (ephemeralPortsFrom - 10_000 - 100 - sites - 1));
    const ports = Array.from({ length: sites }, (_, index) => [base + 1 + index, base + 101 + index]).flat();
    if ((await Promise.all(ports.map(isPortFree))).every(Boolean)) return base;
  }
  throw new Error('no free port range for the benchmark sites');
}

/** A deployment that removes its data directory when stopped. */
export interface BenchDeployment {
  readonly deployment: LocalDeployment;
  readonly sites: readonly DeployedSite[];
  readonly dataRoot: string;
  stop(): Promise<void>;
}

/** Starts `sites` sites linked by `conditions`, and waits until every site sees every other up. */
export async function startBenchDeployment(sites: number, conditions: LinkConditions, progress: Progress): Promise<BenchDeployment> {
  const dataRoot = await mkdtemp(join(tmpdir(), 'cheops-bench-'));
  const started = performance.now();
  let deployment: LocalDeployment;
  try {
    // Logs at `warn`: an `info` line per replicated write and per reconcile would be part of the cost measured.
    deployment = await LocalDeployment.start({ sites, basePort: await freeBase(sites), data: dataRoot, conditions, logLevel: 'warn' });
  } catch (error) {
    await rm(dataRoot, { recursive: true, force: true });
    throw error;
  }
  const upMs = await deployment.waitAllUp(120_000).catch(async (error: unknown) => {
    await deployment.stop();
    await rm(dataRoot, { recursive: true, force: true });
    throw error;
  });
  progress(`${sites} sites ready in ${((performance.now() - started) / 1000).toFixed(1)} s (all links up after ${(upMs / 1000).toFixed(1)} s more)`);
  return {
    deployment,
    sites: deployment.sites,
    dataRoot,
    stop: async () => {
      await deployment.stop();
      await rm(dataRoot, { recursive: true, force: true });
    },
  };
}

/** What Linux says of a process: resident memory and CPU time (user + system). */
export interface ProcessSample {
  readonly rssBytes: number;
  readonly cpuMs: number;
}

/** Clock ticks per second of /proc/<pid>/stat: 100 on every Linux configuration in use. */
const ticksPerSecond = 100;

export async function sampleProcess(pid: number): Promise<ProcessSample> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN);
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (in parentheses, which may hold spaces): utime and stime are 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssBytes: rssKb * 1024, cpuMs: (ticks * 1000) / ticksPerSecond };
}

/** Samples every site's process. */
export async function sampleSites(sites: readonly DeployedSite[]): Promise<ProcessSample[]> {
  return Promise.all(sites.map((site) => sampleProcess(site.process.pid ?? -1)));
}

/**
 * Waits until the sites use no more CPU than idle (over 400 ms windows), so that the next write is
 * measured alone: with many sites, a write's replica entries keep every site busy after the
 * origin has them all. Gives up after 30 s. Returns the time waited.
 */
export async function settle(sites: readonly DeployedSite[], idleRate: number): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < 30_000) {
    const before = await sampleSites(sites);
    const windowStart = performance.now();
    await sleep(400);
    const after = await sampleSites(sites);
    const windowMs = performance.now() - windowStart;
    const rate = after.reduce((sum, sample, index) => sum + sample.cpuMs - before[index]!.cpuMs, 0) / windowMs;
    // /proc counts CPU in 10 ms ticks: each process's count may be a tick off either way.
    if (rate <= idleRate * 1.3 + (sites.length * 5) / windowMs) break;
  }
  return performance.now() - start;
}

/** CPU milliseconds per wall millisecond that the idle sites use (heartbeats, gossip, timers). */
export async function idleCpuRate(sites: readonly DeployedSite[]): Promise<number> {
  const before = await sampleSites(sites);
  const start = performance.now();
  await sleep(3_000);
  const after = await sampleSites(sites);
  const cpu = after.reduce((sum, sample, index) => sum + sample.cpuMs - before[index]!.cpuMs, 0);
  return cpu / (performance.now() - start);
}

/** Bytes of every file under `path` (their sizes, not the blocks they take). */
export async function directoryBytes(path: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true }).catch(() => [])) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) total += await directoryBytes(child);
    else if (entry.isFile()) total += (await stat(child).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

/** The machine, for the saved results: numbers from a 2-core sandbox mean little without it. */
export async function machine(): Promise<{ cpus: number; model: string; memoryGb: number; node: string }> {
  const { cpus, totalmem } = await import('node:os');
  return { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
