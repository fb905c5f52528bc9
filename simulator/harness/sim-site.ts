/**
 * One simulated site across its lifetime: two disks that outlive its processes (the node's store
 * and the stand-in's), a fixed peer id and address, and at most one running process at a time.
 *
 * A process is a clock scope (its timers), a MemoryTransport, storages opened on the disks, and
 * the node built on them. `crash()` kills all of it at once, as the OS does with a dead process:
 * its timers never fire again, its in-flight writes are lost and its storage promises never
 * settle, and its connections close (the peers see the resets at once). `boot()` starts the next
 * incarnation from what the disks kept, with the same peer id, as a restarted `cheops node` on
 * the same `--data` directory.
 */
import type { PeerIdString, SiteName } from '../../core/ids.js';
import type { DocumentChangedEvent } from '../../crdt/documents.js';
import type { RemoteFetch } from '../../node/replication/index.js';
import { createMemoryTransport, type MemoryTransport } from '../../p2p/memory-transport.js';
import type { LatencyDistribution } from '../core/distributions.js';
import type { SeededRandom } from '../core/seeded-random.js';
import type { ClockScope, SimClock } from '../core/sim-clock.js';
import { SimLogger } from '../core/sim-logger.js';
import type { Trace } from '../core/trace.js';
import type { SimNetwork } from '../network/sim-network.js';
import { SimDisk, type SimDiskOptions } from '../storage/sim-disk.js';
import { AppAvailability } from './app-availability.js';
import type { AppLog } from './app-log.js';
import type { SiteHooks } from './site-hooks.js';
import { startSimNode, type SimNode, type SimNodeSettings } from './sim-node.js';

export interface SimSiteInit {
  readonly name: SiteName;
  readonly peerId: PeerIdString;
  /** Addresses the node dials at start and keeps connected (`--peer`). */
  readonly peers: readonly string[];
  readonly settings: SimNodeSettings;
  readonly hooks: SiteHooks;
  /** How far this site's wall clock is off the simulation's. */
  readonly skewMs: number;
  /** How long the application takes to answer a call; absent: at once. */
  readonly appLatency?: LatencyDistribution;
  readonly disk: Omit<SimDiskOptions, 'label'>;
}

export interface SimSiteDeps {
  readonly clock: SimClock;
  /** The site's own stream: disks and each incarnation fork from it. */
  readonly random: SeededRandom;
  readonly network: SimNetwork;
  readonly trace: Trace;
  readonly apps: AppLog;
  readonly onDocumentChange: (site: SiteName, event: DocumentChangedEvent) => void;
  readonly label: (peer: PeerIdString) => string;
  /** How a process of this site reaches other fronts (the simulated HTTP). */
  readonly remoteFetch: (from: SimSite) => RemoteFetch;
}

/** `starting` from boot until the node is registered and its mesh runs. */
export type SiteState = 'down' | 'starting' | 'up';

interface Process {
  readonly incarnation: number;
  readonly scope: ClockScope;
  readonly transport: MemoryTransport;
  /** Rejects when the process dies: what waits on it hears a reset, not silence. */
  readonly died: Promise<never>;
  readonly die: (error: SiteDownError) => void;
  node: SimNode | undefined;
}

/** A request to a site that is down, or that died before it answered (a connection reset). */
export class SiteDownError extends Error {
  constructor(
    readonly site: SiteName,
    readonly when: 'before' | 'during',
  ) {
    super(when === 'before' ? `${site} is down: connection refused` : `${site} died before it answered: connection reset`);
    this.name = 'SiteDownError';
  }
}

/** One site: its disks, its identity, and its current process (see the file's comment). */
export class SimSite {
  readonly name: SiteName;
  readonly peerId: PeerIdString;
  /** The address peers dial (`/memory/<name>`). */
  readonly address: string;
  readonly nodeDisk: SimDisk;
  readonly appDisk: SimDisk;
  /** Whether the application answers: outages (`--faults app-outages`) outlive the node's crashes. */
  readonly app = new AppAvailability();
  private readonly init: SimSiteInit;
  private readonly deps: SimSiteDeps;
  private process: Process | undefined;
  private incarnations = 0;

  constructor(init: SimSiteInit, deps: SimSiteDeps) {
    this.init = init;
    this.deps = deps;
    this.name = init.name;
    this.peerId = init.peerId;
    this.address = `/memory/${init.name}`;
    const diskDeps = (label: string): { random: SeededRandom; trace: Trace } => ({ random: deps.random.fork(`disk ${label}`), trace: deps.trace });
    this.nodeDisk = new SimDisk({ ...init.disk, label: `${init.name}/node` }, diskDeps('node'));
    this.appDisk = new SimDisk({ ...init.disk, label: `${init.name}/app` }, diskDeps('app'));
  }

  get state(): SiteState {
    if (this.process === undefined) return 'down';
    return this.process.node === undefined ? 'starting' : 'up';
  }

  /** How many processes this site has started. */
  get incarnation(): number {
    return this.incarnations;
  }

  /** The running node; throws unless the site is up. */
  get node(): SimNode {
    const node = this.process?.node;
    if (node === undefined) throw new Error(`site ${this.name} is ${this.state}`);
    return node;
  }

  /** The running node, or undefined. */
  get nodeIfUp(): SimNode | undefined {
    return this.process?.node;
  }

  /** Starts a new process from what the disks hold; run the clock until it resolves. */
  async boot(): Promise<SimNode> {
    if (this.process !== undefined) throw new Error(`site ${this.name} is already ${this.state}`);
    this.incarnations += 1;
    const incarnation = this.incarnations;
    const { clock, network, trace, label } = this.deps;
    const random = this.deps.random.fork(`process ${incarnation}`);
    const scope = clock.scope({ skewMs: this.init.skewMs });
    const logger = new SimLogger({ trace, site: this.name, alive: () => scope.alive });
    const transport = createMemoryTransport({ peerId: this.peerId, name: this.name }, { network, random, logger });
    let die: (error: SiteDownError) => void = () => undefined;
    const died = new Promise<never>((_, reject) => {
      die = reject;
    });
    // Observed here: nobody may be waiting when a process dies.
    died.catch(() => undefined);
    const process: Process = { incarnation, scope, transport, died, die, node: undefined };
    this.process = process;
    trace.record('site:boot', { incarnation }, this.name);
    const node = await startSimNode(
      {
        site: this.name, incarnation, peers: this.init.peers, settings: this.init.settings, hooks: this.init.hooks,
        ...(this.init.appLatency === undefined ? {} : { appLatency: this.init.appLatency }),
      },
      {
        clock: scope, random, logger, storage: this.nodeDisk.open(scope), stagingLog: this.nodeDisk.openStagingLog(), appStorage: this.appDisk.open(scope), appAvailability: this.app, transport,
        remoteFetch: this.deps.remoteFetch(this), trace, apps: this.deps.apps, onDocumentChange: this.deps.onDocumentChange, label, elapsedMs: () => clock.elapsedMs(),
      },
    );
    if (this.process === process) {
      process.node = node;
      trace.record('site:up', { incarnation, documents: node.documents.ids().length }, this.name);
    }
    return node;
  }

  /** The running process's clock scope, or undefined when down. */
  get clockScope(): ClockScope | undefined {
    return this.process?.scope;
  }

  /**
   * Sends a request to this site's front, in process, as a client on the site's own network would:
   * refused when the site is not up, rejected with a reset when the process dies before answering.
   */
  async call(request: Request): Promise<Response> {
    const process = this.process;
    const node = process?.node;
    if (process === undefined || node === undefined) throw new SiteDownError(this.name, 'before');
    return Promise.race([node.fetch(request), process.died]);
  }

  /** Rejects when the current process dies; undefined when down. */
  get died(): Promise<never> | undefined {
    return this.process?.died;
  }

  /** Kills the running process (see the file's comment). Harmless when down. */
  crash(): void {
    const process = this.process;
    if (process === undefined) return;
    this.process = undefined;
    this.deps.trace.record('site:crash', { incarnation: process.incarnation }, this.name);
    this.kill(process);
  }

  /**
   * Ends the running process at the end of a simulation: its timers stop and it leaves the
   * network. Its disks are left as they are (nothing will run to use them), with no trace entry.
   */
  shutdown(): void {
    const process = this.process;
    this.process = undefined;
    if (process === undefined) return;
    process.die(new SiteDownError(this.name, 'during'));
    process.scope.kill();
    this.deps.network.detach(this.peerId);
  }

  private kill(process: Process): void {
    process.die(new SiteDownError(this.name, 'during'));
    process.scope.kill();
    this.nodeDisk.crash();
    this.appDisk.crash();
    this.deps.network.detach(this.peerId);
  }
}
