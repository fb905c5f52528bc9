/**
 * What the real-stack benchmarks do to a site, as kubectl would: create a pod through the site's
 * front, scoped (`X-Cheops-Scope`) or not, and watch a site's pods as they appear; and what they
 * read of a site: its Prometheus metrics and its admin API.
 *
 * Clocks. Every time here is `wallMs()`: `performance.timeOrigin + performance.now()`, the same
 * formula as the nodes' clock (core/system.ts). All processes run on one machine, so they read one
 * system clock; each process's origin is sampled from it at start (sub-millisecond error), and
 * the monotonic clock it then follows drifts from it by parts per million at most. Times taken in
 * this process (an acknowledgement, a watch event) share one clock exactly; times a node writes
 * (a replica's `updatedAt`) differ from it by well under a millisecond.
 */
import { request } from 'node:http';
import { Agent, fetch } from 'undici';

/** Milliseconds since the epoch, on the clock the nodes use too. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Keep-alive connections to the fronts, as kubectl keeps them. */
let agent = new Agent({ keepAliveTimeout: 30_000, connections: 64 });

/**
 * A pod of about 1 KB of JSON, the size DESIGN.md's measurements assume: an image, a command,
 * a few environment variables, labels and resources.
 */
export function podBody(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'bench', tier: 'edge', owner: 'cheops-bench' }, annotations: { 'bench.cheops.io/purpose': 'replication benchmark payload' } },
    spec: {
      containers: [{
        name: 'main',
        image: 'registry.example.com/edge/collector:1.27.3',
        command: ['/bin/collector', '--listen=:8080', '--upstream=https://aggregator.example.com', '--interval=15s'],
        env: Array.from({ length: 6 }, (_, index) => ({ name: `COLLECTOR_OPTION_${index}`, value: `value-${index}-of-the-collector-configuration` })),
        resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
        ports: [{ containerPort: 8080, name: 'http' }],
      }],
      restartPolicy: 'Always',
    },
  };
}

/** The outcome of one create. */
export interface CreateResult {
  readonly status: number;
  /** When the answer came back (wallMs). */
  readonly ackAtMs: number;
  readonly latencyMs: number;
  readonly metaId: string | undefined;
}

/** POST a pod to `siteUrl`'s front; with a scope, as a scoped create. */
export async function createPod(siteUrl: string, name: string, scope?: string): Promise<CreateResult> {
  const body = JSON.stringify(podBody(name));
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (scope !== undefined) headers['x-cheops-scope'] = scope;
  const start = performance.now();
  const response = await fetch(`${siteUrl}/api/v1/namespaces/default/pods`, { method: 'POST', headers, body, dispatcher: agent });
  const ackAtMs = wallMs();
  const latencyMs = performance.now() - start;
  await response.arrayBuffer();
  if (response.status !== 201 && response.status !== 200) throw new Error(`create ${name} on ${siteUrl}: HTTP ${response.status}`);
  return { status: response.status, ackAtMs, latencyMs, metaId: response.headers.get('x-cheops-meta-id') ?? undefined };
}

/** Sets the label `seq` of the pod `name` on a site (a merge patch, scoped when `scope` is given); answers the latency at the client. */
export async function labelPod(siteUrl: string, name: string, seq: string, scope?: string): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/merge-patch+json', accept: 'application/json' };
  if (scope !== undefined) headers['x-cheops-scope'] = scope;
  const body = JSON.stringify({ metadata: { labels: { seq } } });
  const start = performance.now();
  const response = await fetch(`${siteUrl}/api/v1/namespaces/default/pods/${name}`, { method: 'PATCH', headers, body, dispatcher: agent });
  const latencyMs = performance.now() - start;
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`label ${name} on ${siteUrl}: HTTP ${response.status}`);
  return latencyMs;
}

/** Reads one Prometheus metric's samples from a site (`name{labels} value`), summed. */
export async function metricSum(siteUrl: string, name: string, labelFilter = ''): Promise<number> {
  return sumOf(await scrape(siteUrl), name, labelFilter);
}

/**
 * A site's replication state in two numbers: live replicants held, and replicas not applied yet.
 * One scrape for both: a scrape costs the site a few milliseconds (every metric collected), and
 * the heal benchmark polls while the site works.
 */
export async function replicationState(siteUrl: string): Promise<{ live: number; pending: number }> {
  const text = await scrape(siteUrl);
  return { live: sumOf(text, 'cheops_replicants', 'state="live"'), pending: sumOf(text, 'cheops_replicas_pending') };
}

async function scrape(siteUrl: string): Promise<string> {
  return (await fetch(`${siteUrl}/metrics`, { dispatcher: agent })).text();
}

function sumOf(text: string, name: string, labelFilter = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    if (labelFilter !== '' && !line.includes(labelFilter)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** `GET /cheops/v1/<path>` on a site. */
export async function admin<T>(siteUrl: string, path: string): Promise<T> {
  const response = await fetch(`${siteUrl}/cheops/v1${path}`, { dispatcher: agent });
  if (!response.ok) throw new Error(`GET ${path} on ${siteUrl}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

/**
 * A watch of the pods of one site, through its front (passthrough: `kubectl get pods -w`), that
 * notes when each pod first appears there: the moment the replica exists on that site.
 */
export class PodWatch {
  private readonly seen = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private closeRequest: (() => void) | undefined;

  private constructor(readonly siteUrl: string) {}

  /** Starts watching; resolves once the watch answered (events that follow are timed). */
  static start(siteUrl: string): Promise<PodWatch> {
    const watch = new PodWatch(siteUrl);
    return new Promise((resolve, reject) => {
      const req = request(`${siteUrl}/api/v1/namespaces/default/pods?watch=true`, { headers: { accept: 'application/json' } }, (response) => {
        let buffered = '';
        response.setEncoding('utf8');
        response.on('data', (text: string) => {
          const now = wallMs();
          buffered += text;
          let newline = buffered.indexOf('\n');
          while (newline !== -1) {
            watch.event(buffered.slice(0, newline), now);
            buffered = buffered.slice(newline + 1);
            newline = buffered.indexOf('\n');
          }
        });
        response.on('error', () => undefined);
        resolve(watch);
      });
      req.on('error', reject);
      req.end();
      watch.closeRequest = () => req.destroy();
    });
  }

  /** When pod `name` appeared here (wallMs), or undefined. */
  appearedAt(name: string): number | undefined {
    return this.seen.get(name);
  }

  /** Resolves when every pod of `names` has appeared, or rejects after `timeoutMs`. */
  waitFor(names: readonly string[], timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (names.every((name) => this.seen.has(name))) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const missing = names.filter((name) => !this.seen.has(name));
        reject(new Error(`${this.siteUrl}: ${missing.length} pod(s) never appeared (${missing.slice(0, 3).join(', ')} …)`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    this.closeRequest?.();
  }

  private event(line: string, atMs: number): void {
    if (line.trim() === '') return;
    try {
      const event = JSON.parse(line) as { type?: string; object?: { metadata?: { name?: string } } };
      const name = event.object?.metadata?.name;
      if (event.type === 'ADDED' && name !== undefined && !this.seen.has(name)) this.seen.set(name, atMs);
    } catch {
      return;
    }
    for (const wake of [...this.waiters]) wake();
  }
}

/** Closes the keep-alive connections (so the process can exit); later calls open new ones. */
export async function closeClients(): Promise<void> {
  const closing = agent;
  agent = new Agent({ keepAliveTimeout: 30_000, connections: 64 });
  await closing.close();
}
