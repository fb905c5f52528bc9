/**
 * The load generator of the front benchmark (run in its own process by bench/front-worker.ts).
 *
 * These machines are shared: other processes come and go during a run, and measuring one target
 * after the other lets that drift land on one of them. So all targets are measured in one
 * process, interleaved: a warm-up of each (by request count, see `warmupRequests`), then `rounds`
 * rounds in which every target gets one
 * slice of `sliceMs` (the order rotating each round); a target's latencies are merged over its
 * slices. Beside latency, it reads the CPU time each proxy process spent during its slices
 * (Linux /proc), which contention barely disturbs: CPU per request is the cost of the proxy.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

/** One thing to load: the application directly, or a proxy in front of it. */
export interface LoadTarget {
  readonly name: string;
  readonly url: string;
  /** The process whose CPU time is charged to this target (the proxy; the app for `direct`). */
  readonly pid?: number;
}

export interface LoadPlan {
  readonly targets: readonly LoadTarget[];
  /** Concurrent connections, each with one request at a time. */
  readonly connections: number;
  /**
   * Requests sent to each target first, at `warmupConnections`, capped at `warmupMaxMs` per
   * target. This is what lets V8 optimise the servers: measured by time alone at one connection,
   * a node proxy still runs interpreted code and compiles in the background (4x its steady CPU).
   */
  readonly warmupRequests: number;
  readonly warmupConnections: number;
  readonly warmupMaxMs: number;
  /** Then a short warm-up of each target at `connections` (fills the pools, settles the sockets). */
  readonly warmupMs: number;
  readonly sliceMs: number;
  readonly rounds: number;
  /** The request path (the same for every target). */
  readonly path: string;
}

/** The numbers of one target at one concurrency. */
export interface TargetStats {
  readonly name: string;
  readonly requests: number;
  readonly errors: number;
  readonly measuredMs: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** CPU time of the target's process per request, in microseconds (absent when unreadable). */
  readonly cpuMicrosPerRequest?: number;
  /** The p50 of each round's slice, in round order: rounds of different targets can be paired. */
  readonly roundP50Ms: readonly number[];
}

/** What the load process reports. */
export interface LoadReport {
  readonly type: 'result';
  readonly connections: number;
  readonly targets: readonly TargetStats[];
}

class Recorder {
  latencies = new Float64Array(1 << 15);
  count = 0;
  errors = 0;
  measuredMs = 0;
  cpuNs = 0;
  cpuKnown = true;
  /** Where each slice's latencies end in `latencies`. */
  readonly sliceEnds: number[] = [];

  push(ms: number): void {
    if (this.count === this.latencies.length) {
      const bigger = new Float64Array(this.latencies.length * 2);
      bigger.set(this.latencies);
      this.latencies = bigger;
    }
    this.latencies[this.count++] = ms;
  }
}

/** CPU time of every thread of `pid`, in nanoseconds (/proc/<pid>/task/<tid>/schedstat). */
function cpuNs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    let total = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const fields = readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ');
      total += Number(fields[0]);
    }
    return total;
  } catch {
    return undefined;
  }
}

interface Drive {
  readonly connections: number;
  readonly durationMs: number;
  /** Stop after this many requests in all (no limit when absent). */
  readonly maxRequests?: number;
}

/** Runs request loops against `pool` for a while; records into `recorder` if given. */
async function drive(pool: Pool, plan: LoadPlan, how: Drive, recorder?: Recorder): Promise<void> {
  const deadline = performance.now() + how.durationMs;
  let budget = how.maxRequests ?? Number.POSITIVE_INFINITY;
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline && budget-- > 0) {
      const start = performance.now();
      let ok = false;
      try {
        const { body, statusCode } = await pool.request({ path: plan.path, method: 'GET' });
        await body.dump({ limit: Number.MAX_SAFE_INTEGER });
        ok = statusCode === 200;
      } catch {
        ok = false;
      }
      if (recorder === undefined) continue;
      if (ok) recorder.push(performance.now() - start);
      else recorder.errors++;
    }
  };
  await Promise.all(Array.from({ length: how.connections }, loop));
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** The p50 of every slice (0 when a slice had no successful request). */
function sliceP50s(recorder: Recorder): number[] {
  let start = 0;
  return recorder.sliceEnds.map((end) => {
    const slice = recorder.latencies.slice(start, end).sort();
    start = end;
    return slice.length === 0 ? 0 : percentile(slice, 0.5);
  });
}

function stats(name: string, recorder: Recorder): TargetStats {
  const roundP50Ms = sliceP50s(recorder);
  const sorted = recorder.latencies.slice(0, recorder.count).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  const base = {
    name,
    requests: recorder.count,
    errors: recorder.errors,
    measuredMs: recorder.measuredMs,
    requestsPerSecond: (recorder.count / recorder.measuredMs) * 1000,
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
    p99Ms: percentile(sorted, 0.99),
    meanMs: recorder.count === 0 ? Number.NaN : sum / recorder.count,
    roundP50Ms,
  };
  if (!recorder.cpuKnown || recorder.count === 0) return base;
  return { ...base, cpuMicrosPerRequest: recorder.cpuNs / 1000 / recorder.count };
}

/** Runs the plan and returns every target's numbers. */
export async function runLoad(plan: LoadPlan): Promise<LoadReport> {
  const poolSize = Math.max(plan.connections, plan.warmupConnections);
  const pools = plan.targets.map((target) => new Pool(target.url, { connections: poolSize, pipelining: 1 }));
  const recorders = plan.targets.map(() => new Recorder());
  const slice: Drive = { connections: plan.connections, durationMs: plan.sliceMs };
  try {
    if (plan.warmupRequests > 0) {
      const warm: Drive = { connections: plan.warmupConnections, durationMs: plan.warmupMaxMs, maxRequests: plan.warmupRequests };
      for (const pool of pools) await drive(pool, plan, warm);
    }
    for (const pool of pools) await drive(pool, plan, { connections: plan.connections, durationMs: plan.warmupMs });
    for (let round = 0; round < plan.rounds; round++) {
      for (let k = 0; k < plan.targets.length; k++) {
        const i = (k + round) % plan.targets.length;
        const recorder = recorders[i] as Recorder;
        const pid = plan.targets[i]?.pid;
        const cpuBefore = cpuNs(pid);
        const start = performance.now();
        await drive(pools[i] as Pool, plan, slice, recorder);
        recorder.measuredMs += performance.now() - start;
        recorder.sliceEnds.push(recorder.count);
        const cpuAfter = cpuNs(pid);
        if (cpuBefore === undefined || cpuAfter === undefined) recorder.cpuKnown = false;
        else recorder.cpuNs += cpuAfter - cpuBefore;
      }
    }
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
  }
  return {
    type: 'result',
    connections: plan.connections,
    targets: plan.targets.map((target, i) => stats(target.name, recorders[i] as Recorder)),
  };
}
