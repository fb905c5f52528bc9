/**
 * Three real `cheops node` processes with the stand-in Kubernetes API, for the replication
 * integration tests, and the real kubectl pointed at each. Peer-to-peer traffic between each pair
 * goes through the pair's link relay (simulator/relay/ RelayMesh) that the test can cut (a
 * partition without iptables): each node announces a dead address, so the only way between two
 * sites is the pair's relay, dialled through `--peer`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectlFor, type Kubectl, type KubectlResult } from '../standin/kubectl-harness.js';
import { allocateSites, NodeProcess, waitFor, type SiteRow } from './cheops-process.js';
import { RelayMesh } from '../../simulator/relay/index.js';

export const siteNames = ['Site1', 'Site2', 'Site3'] as const;
export type SiteName = (typeof siteNames)[number];

export interface ClusterSite {
  readonly name: SiteName;
  readonly node: NodeProcess;
  readonly kubectl: Kubectl;
}

export class ReplicationCluster {
  private constructor(
    readonly dataRoot: string,
    readonly sites: readonly ClusterSite[],
    /** One relay per pair of sites. */
    readonly mesh: RelayMesh,
  ) {}

  /**
   * Starts the cluster, again on other ports when a site found one of its ports taken: they are
   * drawn free at random, and another test file running meanwhile may bind one first (seen once:
   * EADDRINUSE on a site's HTTP port).
   */
  static async start(): Promise<ReplicationCluster> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await ReplicationCluster.startOnce();
      } catch (error) {
        if (attempt >= 3 || !String(error).includes('EADDRINUSE')) throw error;
      }
    }
  }

  private static async startOnce(): Promise<ReplicationCluster> {
    const dataRoot = await mkdtemp(join(tmpdir(), 'cheops-replication-'));
    const ports = await allocateSites(siteNames.length);
    // Site i dials each later site j through relay i-j; the connection then carries both ways.
    const mesh = await RelayMesh.start({ sites: siteNames.map((name, index) => ({ name, p2pPort: ports[index]!.p2pPort })) });
    const sites: ClusterSite[] = [];
    for (const [index, name] of siteNames.entries()) {
      const peers = mesh.dialAddresses(name).flatMap((address) => ['--peer', address]);
      const node = new NodeProcess({
        site: name,
        dataDir: join(dataRoot, name),
        httpPort: ports[index]!.httpPort,
        p2pPort: ports[index]!.p2pPort,
        app: 'standin',
        extraArgs: [...peers, '--announce', mesh.deadAddress(name), '--log-level', 'info'],
      });
      node.start();
      sites.push({ name, node, kubectl: await kubectlFor(node.url) });
    }
    const cluster = new ReplicationCluster(dataRoot, sites, mesh);
    try {
      await Promise.all(sites.map((site) => site.node.ready()));
      for (const site of sites) await cluster.waitUp(site.name, siteNames);
    } catch (error) {
      // The sites that did start would outlive the test run (and load the machine for the next).
      await cluster.stop().catch(() => undefined);
      throw error;
    }
    return cluster;
  }

  site(name: SiteName): ClusterSite {
    const site = this.sites.find((candidate) => candidate.name === name);
    if (site === undefined) throw new Error(`no ${name}`);
    return site;
  }

  /** Runs kubectl against `name`'s front; with a scope, through the `/scope/` server prefix. */
  kubectl(name: SiteName, args: readonly string[], options: { scope?: string; input?: string } = {}): Promise<KubectlResult> {
    const site = this.site(name);
    const server = options.scope === undefined ? [] : [`--server=${site.node.url}/scope/${encodeURIComponent(options.scope)}`];
    return site.kubectl.run([...server, ...args], options.input === undefined ? {} : { input: options.input });
  }

  /** kubectl that must succeed; its standard output. */
  async ok(name: SiteName, args: readonly string[], options: { scope?: string; input?: string } = {}): Promise<string> {
    const result = await this.kubectl(name, args, options);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} on ${name} failed (${result.code}):\n${result.stderr}`);
    return result.stdout;
  }

  /** A JSON request to a site's front. */
  async request(name: SiteName, method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (init.body !== undefined) headers['content-type'] ??= 'application/json';
    return fetch(`${this.site(name).node.url}${path}`, { method, headers, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) });
  }

  /** `GET /cheops/v1/…` on a site. */
  async admin<T>(name: SiteName, path: string): Promise<T> {
    const response = await fetch(`${this.site(name).node.url}/cheops/v1${path}`);
    if (!response.ok) throw new Error(`GET ${path} on ${name}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  /** The uid of pod `name` in `default` on a site's application, or undefined when absent. */
  async podUid(site: SiteName, pod: string): Promise<string | undefined> {
    const result = await this.kubectl(site, ['get', 'pod', pod, '-o', 'jsonpath={.metadata.uid}']);
    return result.code === 0 && result.stdout !== '' ? result.stdout : undefined;
  }

  /** Waits until `name` sees every site of `names` up (or itself). */
  async waitUp(name: SiteName, names: readonly SiteName[], timeoutMs = 20_000): Promise<void> {
    await waitFor(async () => {
      const rows = await this.site(name).node.sites();
      return names.every((other) => rows.some((row: SiteRow) => row.name === other && (row.state === 'self' || row.state === 'up')));
    }, timeoutMs, () => `${name} does not see ${names.join(', ')} up:\n${this.site(name).node.log.slice(-4000)}`);
  }

  /** Waits until `name` sees `other` down. */
  async waitDown(name: SiteName, other: SiteName, timeoutMs = 10_000): Promise<void> {
    await waitFor(async () => (await this.site(name).node.sites()).some((row) => row.name === other && row.state === 'down'), timeoutMs, () => `${name} never saw ${other} down`);
  }

  /** Cuts every relay of `name`: its peer-to-peer traffic stops both ways (connections reset). */
  cut(name: SiteName): void {
    this.mesh.partition([[name]], 'reset');
  }

  heal(name: SiteName): void {
    this.mesh.heal([name]);
  }

  async stop(): Promise<void> {
    await Promise.all(this.sites.map((site) => site.node.stop()));
    await this.mesh.close();
    await Promise.all(this.sites.map((site) => site.kubectl.dispose()));
    await rm(this.dataRoot, { recursive: true, force: true });
  }

  /** The last lines of every site's log, for a failure message. */
  logs(): string {
    return this.sites.map((site) => `--- ${site.name}\n${site.node.log.slice(-3000)}`).join('\n');
  }
}

/** Polls until `check` stops throwing; rethrows its last error after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const start = performance.now();
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (performance.now() - start > timeoutMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }
}
