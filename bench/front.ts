/**
 * Benchmark of the HTTP front: what does putting Cheops in front of an application cost per
 * request, next to HAProxy doing the same job? In one run, with the same upstream (a node:http
 * server answering a ~1 KB JSON body) and a load generator in its own process (fixed
 * concurrency, keep-alive, warm-up then interleaved slices: see front-load.ts), it measures the
 * upstream hit directly, through the Cheops front (`front`: its raw path, as createFrontServer
 * serves it), and through HAProxy (http mode, keep-alive, one thread like node), and reports the
 * *added* latency of each proxy and its CPU time per request. For scale it also measures
 * `front-node`, the same front served by node:http (the design before the raw path, and what the
 * raw path hands non-passthrough requests to), `node-floor`, the least a node:http proxy can do,
 * and `front-web`, the design where every request becomes a web Request and Response.
 *
 * These machines are shared, so besides the ratio of the pooled p50s, each round's p50s (every
 * target measured once per round, in turn) are paired and the median of the per-round ratios is
 * reported: a round disturbed by another process moves it less.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadPlan, LoadReport, LoadTarget, TargetStats } from './front-load.js';
import type { ReadyMessage } from './front-worker.js';

/** What is measured: the application directly, or through a proxy. */
export type Target = 'direct' | 'front' | 'haproxy' | 'front-node' | 'node-floor' | 'front-web';

export interface FrontBenchOptions {
  /** Requests sent to each target before the first measure, so V8 has optimised the servers. */
  readonly warmupRequests: number;
  /** Most time spent on those requests per target. */
  readonly warmupMaxMs: number;
  /** Warm-up of each target before measuring, at each concurrency. */
  readonly warmupMs: number;
  /** Length of one measured slice; each target gets one slice per round. */
  readonly sliceMs: number;
  readonly rounds: number;
  /** Concurrent connections of the load generator, one pass per value. */
  readonly connections: readonly number[];
  /**
   * Also measure `node-floor` (the least a node proxy can do) and `front-web` (the web-Request
   * design that was rejected), to put the front's numbers in scale.
   */
  readonly includeVariants: boolean;
  /** Where progress lines go. */
  readonly log: (line: string) => void;
}

/** One measured run. */
export interface FrontRun {
  readonly target: Target;
  readonly connections: number;
  readonly result: Omit<TargetStats, 'name'>;
}

/** Latency a proxy adds over the direct run at the same concurrency. */
export interface AddedLatency {
  readonly target: Target;
  readonly connections: number;
  readonly addedP50Ms: number;
  readonly addedP99Ms: number;
  /** Throughput through the proxy over the direct throughput. */
  readonly throughputRatio: number;
}

/** Front over HAProxy at one concurrency: added p50 latency, and CPU per request. */
export interface FrontHaproxyRatio {
  readonly connections: number;
  /** front-added-p50 / haproxy-added-p50; the target is ≤ `ratioTarget`. */
  readonly ratio: number;
  readonly met: boolean;
  /** front CPU per request / haproxy CPU per request (absent when CPU could not be read). */
  readonly cpuRatio?: number;
  /** The same ratio computed round by round (paired p50s), the median over rounds. */
  readonly roundMedianRatio: number;
}

export interface FrontBenchResult {
  readonly startedAt: string;
  readonly node: string;
  readonly options: Omit<FrontBenchOptions, 'log'>;
  readonly haproxy: { readonly available: boolean; readonly version?: string; readonly note?: string };
  readonly runs: readonly FrontRun[];
  readonly added: readonly AddedLatency[];
  readonly ratios: readonly FrontHaproxyRatio[];
  readonly ratioTarget: number;
}

/**
 * About a minute in all: a warm-up of 15,000 requests per target (at most 3 s each), then for
 * each of 2 concurrencies and 6 targets 0.2 s of warm-up and 10 slices of 0.25 s (short slices,
 * so that every target sees the same moments of a shared machine).
 */
export const defaultFrontBenchOptions: FrontBenchOptions = {
  warmupRequests: 15_000,
  warmupMaxMs: 3_000,
  warmupMs: 200,
  sliceMs: 250,
  rounds: 10,
  connections: [1, 16],
  includeVariants: true,
  log: (line) => console.log(line),
};

const ratioTarget = 1.5;
const workerPath = fileURLToPath(new URL('./front-worker.js', import.meta.url));

/** Starts a worker process in `role`; resolves with the child and the first message it sends. */
function startWorker<M>(role: string, args: readonly string[]): Promise<{ child: ChildProcess; message: M }> {
  const child = fork(workerPath, [...args], {
    env: { ...process.env, CHEOPS_BENCH_ROLE: role },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ child, message: message as M }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench worker ${role} exited with code ${String(code)}`)));
  });
}

interface Started {
  readonly url: string;
  readonly pid?: number;
}

async function startServer(role: string, args: readonly string[], children: ChildProcess[]): Promise<Started> {
  const { child, message } = await startWorker<ReadyMessage>(role, args);
  children.push(child);
  return child.pid === undefined ? { url: message.url } : { url: message.url, pid: child.pid };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function haproxyVersion(): string | undefined {
  const probe = spawnSync('haproxy', ['-v'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return undefined;
  return /version (\S+)/i.exec(probe.stdout)?.[1] ?? 'unknown';
}

/**
 * HAProxy as a plain keep-alive reverse proxy: one thread (node's front is one thread too),
 * `http-reuse always` to keep upstream connections, `forwardfor` since the front adds
 * X-Forwarded-For as well.
 */
function haproxyConfig(port: number, upstream: URL): string {
  return [
    'global',
    '  nbthread 1',
    // Well under the FD limit of these sandboxes (haproxy refuses to start if it cannot raise it).
    '  maxconn 1000',
    'defaults',
    '  mode http',
    '  option http-keep-alive',
    '  option forwardfor',
    '  http-reuse always',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    'frontend cheops_bench',
    `  bind 127.0.0.1:${port}`,
    '  default_backend app',
    'backend app',
    `  server app ${upstream.hostname}:${upstream.port}`,
    '',
  ].join('\n');
}

async function startHaproxy(upstream: string, children: ChildProcess[], directory: string): Promise<Started> {
  const port = await freePort();
  const config = join(directory, 'haproxy.cfg');
  await writeFile(config, haproxyConfig(port, new URL(upstream)));
  const child = spawn('haproxy', ['-f', config, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<never>((_resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`haproxy exited with code ${String(code)}: ${stderr.trim()}`)));
  });
  await Promise.race([waitForPort(port, 5_000), exited]);
  const url = `http://127.0.0.1:${port}`;
  return child.pid === undefined ? { url } : { url, pid: child.pid };
}

/** Starts HAProxy if it is installed and adds it to `targets`; says why not otherwise. */
async function addHaproxy(
  upstream: string,
  targets: LoadTarget[],
  children: ChildProcess[],
  directory: string,
): Promise<FrontBenchResult['haproxy']> {
  const version = haproxyVersion();
  if (version === undefined) {
    return { available: false, note: 'haproxy is not installed (apt-get install -y haproxy): skipped' };
  }
  try {
    targets.push({ name: 'haproxy', ...(await startHaproxy(upstream, children, directory)) });
    return { available: true, version };
  } catch (error) {
    return { available: false, version, note: `haproxy did not start, skipped: ${String(error)}` };
  }
}

async function measure(
  targets: readonly LoadTarget[],
  connections: number,
  options: FrontBenchOptions,
  first: boolean,
): Promise<LoadReport> {
  const plan: LoadPlan = {
    targets,
    connections,
    // The servers stay up between passes: only the first pass needs the long warm-up.
    warmupRequests: first ? options.warmupRequests : 0,
    warmupConnections: 16,
    warmupMaxMs: options.warmupMaxMs,
    warmupMs: options.warmupMs,
    sliceMs: options.sliceMs,
    rounds: options.rounds,
    path: '/api/v1/namespaces/default/pods/purple',
  };
  const { child, message } = await startWorker<LoadReport>('load', [JSON.stringify(plan)]);
  await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
  return message;
}

const ms = (value: number): string => (Number.isFinite(value) ? value.toFixed(3) : '—');

function addedLatencies(runs: readonly FrontRun[]): AddedLatency[] {
  const added: AddedLatency[] = [];
  for (const run of runs) {
    if (run.target === 'direct') continue;
    const direct = runs.find((r) => r.target === 'direct' && r.connections === run.connections);
    if (direct === undefined) continue;
    added.push({
      target: run.target,
      connections: run.connections,
      addedP50Ms: run.result.p50Ms - direct.result.p50Ms,
      addedP99Ms: run.result.p99Ms - direct.result.p99Ms,
      throughputRatio: run.result.requestsPerSecond / direct.result.requestsPerSecond,
    });
  }
  return added;
}

function ratios(runs: readonly FrontRun[], added: readonly AddedLatency[]): FrontHaproxyRatio[] {
  const out: FrontHaproxyRatio[] = [];
  for (const front of added.filter((a) => a.target === 'front')) {
    const haproxy = added.find((a) => a.target === 'haproxy' && a.connections === front.connections);
    if (haproxy === undefined) continue;
    // A proxy that adds (within noise) nothing would make the ratio explode: floor it at 1 µs.
    const ratio = front.addedP50Ms / Math.max(haproxy.addedP50Ms, 0.001);
    const cpu = (target: Target): number | undefined =>
      runs.find((r) => r.target === target && r.connections === front.connections)?.result.cpuMicrosPerRequest;
    const frontCpu = cpu('front');
    const haproxyCpu = cpu('haproxy');
    const base = { connections: front.connections, ratio, met: ratio <= ratioTarget, roundMedianRatio: roundMedianRatio(runs, front.connections) };
    out.push(frontCpu === undefined || haproxyCpu === undefined ? base : { ...base, cpuRatio: frontCpu / haproxyCpu });
  }
  return out;
}

/** front-added / haproxy-added p50, round by round (each against the same round's direct p50), the median. */
function roundMedianRatio(runs: readonly FrontRun[], connections: number): number {
  const rounds = (target: Target): readonly number[] =>
    runs.find((r) => r.target === target && r.connections === connections)?.result.roundP50Ms ?? [];
  const direct = rounds('direct');
  const front = rounds('front');
  const haproxy = rounds('haproxy');
  const ratios: number[] = [];
  for (let i = 0; i < direct.length && i < front.length && i < haproxy.length; i++) {
    const d = direct[i] as number;
    ratios.push(((front[i] as number) - d) / Math.max((haproxy[i] as number) - d, 0.001));
  }
  ratios.sort((a, b) => a - b);
  if (ratios.length === 0) return Number.NaN;
  const middle = Math.floor(ratios.length / 2);
  return ratios.length % 2 === 1 ? (ratios[middle] as number) : ((ratios[middle - 1] as number) + (ratios[middle] as number)) / 2;
}

/** The results as a table, one line per run, then the ratios against HAProxy. */
export function formatFrontTable(result: FrontBenchResult): string {
  const header = ['target', 'conns', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', '+p50 ms', '+p99 ms', 'cpu µs/req', 'errors'];
  const rows = result.runs.map((run) => {
    const added = result.added.find((a) => a.target === run.target && a.connections === run.connections);
    const cpu = run.result.cpuMicrosPerRequest;
    return [
      run.target,
      String(run.connections),
      run.result.requestsPerSecond.toFixed(0),
      ms(run.result.p50Ms),
      ms(run.result.p90Ms),
      ms(run.result.p99Ms),
      added === undefined ? '' : ms(added.addedP50Ms),
      added === undefined ? '' : ms(added.addedP99Ms),
      cpu === undefined ? '—' : cpu.toFixed(1),
      String(run.result.errors),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const lines = [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  lines.push('(cpu µs/req: CPU time of the proxy process per request; for direct, of the application itself)');
  for (const r of result.ratios) {
    const cpu = r.cpuRatio === undefined ? '' : `; CPU per request front/haproxy: ${r.cpuRatio.toFixed(2)}`;
    lines.push(
      `${r.connections} connection(s): front-added-p50 / haproxy-added-p50 = ${r.ratio.toFixed(2)} (target ≤ ${result.ratioTarget}: ${r.met ? 'met' : 'NOT met'}); ` +
        `median of the ${result.options.rounds} per-round ratios: ${r.roundMedianRatio.toFixed(2)}${cpu}`,
    );
  }
  if (!result.haproxy.available) lines.push(`HAProxy: ${result.haproxy.note ?? 'not measured'}`);
  return lines.join('\n');
}

/** Runs the whole front benchmark; every process it starts is stopped before it returns. */
export async function runFrontBenchmark(options: FrontBenchOptions = defaultFrontBenchOptions): Promise<FrontBenchResult> {
  const children: ChildProcess[] = [];
  const directory = await mkdtemp(join(tmpdir(), 'cheops-bench-'));
  const startedAt = new Date().toISOString();
  try {
    const upstream = await startServer('upstream', [], children);
    const targets: LoadTarget[] = [
      { name: 'direct', ...upstream },
      { name: 'front', ...(await startServer('front', [upstream.url], children)) },
    ];
    const haproxy = await addHaproxy(upstream.url, targets, children, directory);
    if (!haproxy.available) options.log(`  HAProxy: ${haproxy.note ?? ''}`);
    if (options.includeVariants) {
      targets.push({ name: 'front-node', ...(await startServer('front-node', [upstream.url], children)) });
      targets.push({ name: 'node-floor', ...(await startServer('node-floor', [upstream.url], children)) });
      targets.push({ name: 'front-web', ...(await startServer('front-web', [upstream.url], children)) });
    }
    const runs: FrontRun[] = [];
    for (const [pass, connections] of options.connections.entries()) {
      if (pass === 0) options.log(`  warming up: ${options.warmupRequests} requests per target (at most ${options.warmupMaxMs} ms each)…`);
      const seconds = (targets.length * (options.warmupMs + options.rounds * options.sliceMs)) / 1000;
      options.log(`  ${connections} connection(s): ${targets.map((t) => t.name).join(', ')}, interleaved, ~${seconds.toFixed(0)} s…`);
      const report = await measure(targets, connections, options, pass === 0);
      for (const { name, ...result } of report.targets) {
        const cpu = result.cpuMicrosPerRequest === undefined ? '' : `, ${result.cpuMicrosPerRequest.toFixed(1)} µs CPU/req`;
        options.log(`    ${name.padEnd(10)} ${result.requestsPerSecond.toFixed(0).padStart(6)} req/s, p50 ${ms(result.p50Ms)} ms, p99 ${ms(result.p99Ms)} ms${cpu}`);
        runs.push({ target: name as Target, connections, result });
      }
    }
    const added = addedLatencies(runs);
    const { log: _log, ...kept } = options;
    return { startedAt, node: process.version, options: kept, haproxy, runs, added, ratios: ratios(runs, added), ratioTarget };
  } finally {
    for (const child of children) child.kill();
    await rm(directory, { recursive: true, force: true });
  }
}
