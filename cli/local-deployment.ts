/**
 * A local deployment of N real sites: one `cheops node` process per site with the embedded
 * stand-in Kubernetes API, and the network between them played by link relays in this process
 * (simulator/relay/ RelayMesh), so that latency, loss and partitions apply to every libp2p
 * connection between two sites. What `cheops up` runs, and what the real-stack benchmarks run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheopsError, ErrorCode } from '../core/index.js';
import type { LogLevelSetting } from '../node/config.js';
import { idealLink, RelayMesh, type LinkConditions } from '../simulator/relay/index.js';

/** Where one site of the deployment lives. */
export interface PlannedSite {
  readonly name: string;
  readonly httpPort: number;
  readonly p2pPort: number;
  readonly dataDir: string;
  readonly logFile: string;
}

export interface PlanOptions {
  readonly sites: number;
  readonly basePort: number;
  readonly data: string;
}

/** Site k (1-based): front on base+k, peer-to-peer on base+100+k. */
export function planSites(options: PlanOptions): PlannedSite[] {
  return Array.from({ length: options.sites }, (_, index) => {
    const k = index + 1;
    const dataDir = resolve(options.data, `site${k}`);
    return {
      name: `Site${k}`,
      httpPort: options.basePort + k,
      p2pPort: options.basePort + 100 + k,
      dataDir,
      logFile: join(dataDir, 'cheops.log'),
    };
  });
}

/**
 * How long `count` sites started at once may take to be ready: every site spends 2–3 s of one core
 * at start (crdt/warm-up.ts), and on a small machine the sites take turns.
 */
export function defaultReadyTimeoutMs(count: number): number {
  return 30_000 + 5_000 * count;
}

export interface DeploymentOptions extends PlanOptions {
  /** Conditions of every link between two sites at start; default an ideal link (a relay all the same). */
  readonly conditions?: LinkConditions;
  /** The nodes' log level (their logs go to `<data>/siteK/cheops.log`); default `info`. */
  readonly logLevel?: LogLevelSetting;
  /** Whether each node compiles its document paths before listening (NodeConfig.warmUp); default true. */
  readonly warmUp?: boolean;
  /** Where progress lines go; default nowhere. */
  readonly progress?: (line: string) => void;
  /** How long a site may take to answer /readyz; default `defaultReadyTimeoutMs(sites)`. */
  readonly readyTimeoutMs?: number;
  /**
   * The relays, already started for `planSites(options)` (`cheops up` serves its control API on
   * them before any site starts); the deployment owns them from then on. Default: started here.
   */
  readonly mesh?: RelayMesh;
}

/** A running site. */
export interface DeployedSite extends PlannedSite {
  readonly url: string;
  readonly process: ChildProcess;
}

const launcher = fileURLToPath(new URL('../../bin/cheops.js', import.meta.url));

/** Sites and relays, started together and stopped together. */
export class LocalDeployment {
  private constructor(
    readonly sites: readonly DeployedSite[],
    readonly mesh: RelayMesh,
    private readonly unhook: () => void,
  ) {}

  /** Starts the relays, then every site; on failure whatever started is stopped again. */
  static async start(options: DeploymentOptions): Promise<LocalDeployment> {
    const planned = planSites(options);
    const progress = options.progress ?? ((): void => undefined);
    const mesh = options.mesh ?? (await RelayMesh.start({ sites: planned, conditions: options.conditions ?? idealLink }));
    const children: ChildProcess[] = [];
    // A deployment whose owner dies must not leave its sites running: kill them on the way out.
    const onExit = (): void => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    process.on('exit', onExit);
    const unhook = (): void => void process.off('exit', onExit);
    try {
      const sites: DeployedSite[] = [];
      for (const site of planned) {
        progress(`starting ${site.name} …`);
        const child = await startSiteProcess(site, mesh, options.logLevel ?? 'info', options.warmUp ?? true);
        children.push(child);
        sites.push({ ...site, url: `http://127.0.0.1:${site.httpPort}`, process: child });
      }
      const readyTimeoutMs = options.readyTimeoutMs ?? defaultReadyTimeoutMs(sites.length);
      await Promise.all(sites.map((site) => waitReady(site, readyTimeoutMs)));
      return new LocalDeployment(sites, mesh, unhook);
    } catch (error) {
      await Promise.all(children.map((child) => stopChild(child)));
      await mesh.close();
      unhook();
      throw error;
    }
  }

  site(name: string): DeployedSite {
    const site = this.sites.find((candidate) => candidate.name === name);
    if (site === undefined) throw new RangeError(`no site ${name}`);
    return site;
  }

  /** Resolves once every site sees every other site up; rejects after `timeoutMs`. */
  async waitAllUp(timeoutMs = 60_000): Promise<number> {
    const start = performance.now();
    const names = this.sites.map((site) => site.name);
    for (const site of this.sites) {
      for (;;) {
        if (await seesUp(site.url, names)) break;
        if (performance.now() - start > timeoutMs) {
          throw new CheopsError(ErrorCode.SiteUnreachable, `${site.name} does not see every site up after ${timeoutMs} ms (log ${site.logFile})`);
        }
        await new Promise((wake) => setTimeout(wake, 200));
      }
    }
    return performance.now() - start;
  }

  /** Stops every site (SIGTERM, then SIGKILL after 10 s) and the relays. */
  async stop(): Promise<void> {
    await Promise.all(this.sites.map((site) => stopChild(site.process)));
    // The sites are gone; a relay connection that lingers must not keep `cheops up` from exiting.
    await Promise.race([this.mesh.close(), new Promise<void>((resolve) => setTimeout(resolve, relayCloseGraceMs).unref())]);
    this.unhook();
  }
}

/** How long a stop waits for the relays to close once the sites are stopped. */
const relayCloseGraceMs = 3_000;

/** Whether the site at `url` sees every one of `names` up (or as itself). */
export async function seesUp(url: string, names: readonly string[]): Promise<boolean> {
  try {
    const response = await fetch(`${url}/cheops/v1/sites`);
    const { items } = (await response.json()) as { items: Array<{ name: string; state: string }> };
    return names.every((name) => items.some((row) => row.name === name && (row.state === 'up' || row.state === 'self')));
  } catch {
    return false;
  }
}

async function startSiteProcess(site: PlannedSite, mesh: RelayMesh, logLevel: LogLevelSetting, warmUp: boolean): Promise<ChildProcess> {
  await mkdir(site.dataDir, { recursive: true });
  const log = createWriteStream(site.logFile, { flags: 'a' });
  await new Promise((resolveOpen) => log.once('open', resolveOpen));
  // Every connection between two sites crosses their pair's relay: dial the relays, announce a dead address.
  const peers = mesh.dialAddresses(site.name).flatMap((address) => ['--peer', address]);
  const child = spawn(
    process.execPath,
    [
      launcher, 'node', '--site', site.name, '--data', site.dataDir, '--http', `127.0.0.1:${site.httpPort}`,
      '--p2p', `/ip4/127.0.0.1/tcp/${site.p2pPort}`, '--announce', mesh.deadAddress(site.name), '--app', 'standin',
      '--log-level', logLevel, ...(warmUp ? [] : ['--no-warm-up']), ...peers,
    ],
    // Its own process group: Ctrl-C in the terminal reaches `cheops up`, which stops the sites in order.
    { stdio: ['ignore', log, log], detached: true },
  );
  child.once('exit', () => log.close());
  return child;
}

async function waitReady(site: DeployedSite, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (site.process.exitCode !== null || site.process.signalCode !== null) {
      const tail = (await readFile(site.logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
      throw new CheopsError(ErrorCode.ConfigInvalid, `${site.name} exited during start (log ${site.logFile}):\n${tail}`);
    }
    try {
      if ((await fetch(`${site.url}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((wake) => setTimeout(wake, 100));
  }
  throw new CheopsError(ErrorCode.SiteUnreachable, `${site.name} did not become ready within ${timeoutMs / 1000} s (log ${site.logFile})`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolveStop();
    });
    child.kill('SIGTERM');
  });
}
