/**
 * A simulation: N sites in one process under one simulated clock, on one simulated network, each
 * with its own disks, from one seed. The production node runs unchanged (`startSite`, sim-node.ts);
 * the simulation only moves time, injects faults, carries HTTP between fronts and records the trace
 * and what every application did.
 *
 * Every source of nondeterminism is the seed's: latencies and losses (a stream per link), disk
 * latencies (a stream per disk), each process's randomness (a stream per incarnation: actor ids,
 * jitter, uids), and clock skews. Running the same seed twice gives the same trace hash and the
 * same document heads; the determinism test checks it.
 */
import { asPeerIdString, asSiteName, type PeerIdString, type SiteName } from '../../core/ids.js';
import type { DocumentChangedEvent } from '../../crdt/documents.js';
import type { DocumentId } from '../../core/ids.js';
import type { LatencyDistribution } from '../core/distributions.js';
import { SeededRandom, type Seed } from '../core/seeded-random.js';
import { SimClock, type RunLimit } from '../core/sim-clock.js';
import { Trace } from '../core/trace.js';
import type { LinkProfile } from '../network/link-profile.js';
import type { PartitionId, PartitionMode } from '../network/partitions.js';
import { SimHttp } from '../network/sim-http.js';
import { SimNetwork } from '../network/sim-network.js';
import type { SimDiskOptions } from '../storage/sim-disk.js';
import { AppLog } from './app-log.js';
import type { SiteHooks } from './site-hooks.js';
import { defaultNodeSettings, simHttpUrl, type SimNodeSettings } from './sim-node.js';
import { SimSite } from './sim-site.js';

export interface SimulationOptions {
  readonly seed: Seed;
  /** How many sites (named Site1…SiteN), or their names; default 3. */
  readonly sites?: number | readonly string[];
  /** The profile of every link; default `defaultLinkProfile` (5–25 ms, no faults). */
  readonly link?: Partial<LinkProfile>;
  /** See SimNetworkOptions; default 10,000 ms. */
  readonly stallTimeoutMs?: number;
  readonly disk?: Omit<SimDiskOptions, 'label'>;
  /** Each site's wall clock is off by a skew drawn in [-max, max]; default 0. */
  readonly maxClockSkewMs?: number;
  /** How long each site's application takes to answer a call; default: at once. */
  readonly appLatency?: LatencyDistribution;
  /** Whom each site dials at start: every other site (as `cheops up`), or the first site only. */
  readonly peering?: 'all' | 'first';
  readonly node?: Partial<SimNodeSettings>;
  /** Wrappers of every node's ports (broken-node tests); none by default. */
  readonly hooks?: SiteHooks;
  /** Virtual time at the start; default SimClock's. */
  readonly startMs?: number;
  /** Virtual time allowed for the sites to start; default 60,000 ms. */
  readonly bootTimeoutMs?: number;
}

/** Told of a change stored on a site (a local write, or one received from a peer). */
export type DocumentChangeListener = (site: SiteName, event: DocumentChangedEvent) => void;

const defaultLimit: RunLimit = { timeoutMs: 60_000 };

function siteNames(sites: number | readonly string[] | undefined): SiteName[] {
  if (typeof sites === 'number' || sites === undefined) {
    const count = sites ?? 3;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`sites must be a positive integer, got ${count}`);
    return Array.from({ length: count }, (_, index) => asSiteName(`Site${index + 1}`));
  }
  const names = sites.map(asSiteName);
  if (new Set(names).size !== names.length) throw new RangeError(`site names repeat: ${names.join(', ')}`);
  return names;
}

/** Builds the sites and starts them all; resolves once every site is up. */
export async function startSimulation(options: SimulationOptions): Promise<Simulation> {
  const simulation = new Simulation(options);
  await simulation.clock.runUntilSettled(Promise.all(simulation.sites.map((site) => site.boot())), {
    timeoutMs: options.bootTimeoutMs ?? defaultLimit.timeoutMs,
  });
  return simulation;
}

/** A running simulation. Build it with `startSimulation`. */
export class Simulation {
  readonly seed: Seed;
  readonly clock: SimClock;
  readonly random: SeededRandom;
  readonly network: SimNetwork;
  readonly trace: Trace;
  /** HTTP between the sites' fronts (forwarded writes). */
  readonly http: SimHttp;
  /** Every write every application answered. */
  readonly apps = new AppLog();
  readonly sites: readonly SimSite[];
  private readonly byHost = new Map<string, SimSite>();
  private readonly documentListeners = new Set<DocumentChangeListener>();
  private readonly ackListeners = new Set<(site: SiteName) => void>();
  private readonly byName = new Map<string, SimSite>();
  private readonly byPeer = new Map<PeerIdString, SimSite>();

  constructor(options: SimulationOptions) {
    this.seed = options.seed;
    this.clock = new SimClock(options.startMs === undefined ? {} : { startMs: options.startMs });
    this.random = new SeededRandom(options.seed);
    this.trace = new Trace(this.clock);
    const label = (peer: PeerIdString): string => this.byPeer.get(peer)?.name ?? peer;
    this.network = new SimNetwork(
      { ...(options.link === undefined ? {} : { link: options.link }), ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }), label },
      { clock: this.clock, random: this.random.fork('network'), trace: this.trace },
    );
    this.http = new SimHttp({
      clock: this.clock, network: this.network, random: this.random.fork('http'), trace: this.trace,
      resolve: (hostname) => this.byHost.get(hostname),
    });
    const names = siteNames(options.sites);
    const maxSkewMs = options.maxClockSkewMs ?? 0;
    const settings = { ...defaultNodeSettings, ...options.node };
    this.sites = names.map((name, index) => {
      const siteRandom = this.random.fork('site').fork(name);
      const others = names.filter((other) => other !== name);
      const peers = options.peering === 'first' ? (index === 0 ? [] : [`/memory/${names[0] ?? name}`]) : others.map((other) => `/memory/${other}`);
      const skewMs = maxSkewMs === 0 ? 0 : (siteRandom.fork('skew').float() * 2 - 1) * maxSkewMs;
      const site = new SimSite(
        {
          name, peerId: asPeerIdString(`peer-${name}`), peers, settings, hooks: options.hooks ?? {}, skewMs, disk: options.disk ?? {},
          ...(options.appLatency === undefined ? {} : { appLatency: options.appLatency }),
        },
        {
          clock: this.clock, random: siteRandom, network: this.network, trace: this.trace, apps: this.apps, label,
          remoteFetch: (from) => this.http.remoteFetch(from),
          onDocumentChange: (at, event) => {
            for (const listener of this.documentListeners) listener(at, event);
          },
        },
      );
      this.byName.set(name, site);
      this.byHost.set(new URL(simHttpUrl(name)).hostname, site);
      this.byPeer.set(site.peerId, site);
      return site;
    });
    this.trace.record('sim:start', { seed: String(options.seed), sites: names });
  }

  /**
   * Calls `listener`, synchronously, with the site of each write a client hears acknowledged (a
   * 2xx answer) from now on; answers the unsubscribe function. The fault schedule crashes a site
   * at that moment: what the node does just after an answer (an answered create's or update's
   * change) is cut short.
   */
  onAcknowledged(listener: (site: SiteName) => void): () => void {
    this.ackListeners.add(listener);
    return () => {
      this.ackListeners.delete(listener);
    };
  }

  /** A client heard a write acknowledged by `site` (the workload's client). */
  acknowledged(site: SiteName): void {
    for (const listener of this.ackListeners) listener(site);
  }

  /** Calls `listener` with every change any node stores from now on; answers the unsubscribe function. */
  onDocumentChange(listener: DocumentChangeListener): () => void {
    this.documentListeners.add(listener);
    return () => {
      this.documentListeners.delete(listener);
    };
  }

  /** The site called `name`; throws a RangeError listing the sites otherwise. */
  site(name: string): SimSite {
    const site = this.byName.get(name);
    if (site === undefined) throw new RangeError(`no site ${name}; the sites are ${[...this.byName.keys()].join(', ')}`);
    return site;
  }

  /** The sites whose node is up. */
  upSites(): SimSite[] {
    return this.sites.filter((site) => site.state === 'up');
  }

  /** Runs `ms` of virtual time. */
  runFor(ms: number): Promise<void> {
    return this.clock.runFor(ms);
  }

  /** Runs until `condition` holds (answers true) or `timeoutMs` passed (answers false). */
  runUntil(condition: () => boolean, limit: RunLimit = defaultLimit): Promise<boolean> {
    return this.clock.runUntilTrue(condition, limit);
  }

  /** Starts `work` now and runs the clock until it settles; answers its outcome. */
  perform<T>(work: () => Promise<T>, limit: RunLimit = defaultLimit): Promise<T> {
    return this.clock.runUntilSettled(work(), limit);
  }

  /** Splits the named sites into groups that cannot reach one another (see SimNetwork.partition). */
  partition(groups: readonly (readonly string[])[], options: { readonly mode?: PartitionMode } = {}): PartitionId {
    return this.network.partition(groups.map((group) => group.map((name) => this.site(name).peerId)), options);
  }

  /** Blocks the direction `from → to` only (see SimNetwork.partitionOneWay). */
  partitionOneWay(from: readonly string[], to: readonly string[], options: { readonly mode?: PartitionMode } = {}): PartitionId {
    const peers = (names: readonly string[]): PeerIdString[] => names.map((name) => this.site(name).peerId);
    return this.network.partitionOneWay(peers(from), peers(to), options);
  }

  /** Changes the link between two sites (both directions unless `oneWay`); see SimNetwork.setLink. */
  setLink(a: string, b: string, overrides: Partial<LinkProfile>, options: { readonly oneWay?: boolean } = {}): void {
    this.network.setLink(this.site(a).peerId, this.site(b).peerId, overrides, options);
  }

  /** Ends one partition, or all of them. */
  heal(id?: PartitionId): void {
    this.network.heal(id);
  }

  /** Crashes a site's process (see SimSite.crash). */
  crash(name: string): void {
    this.site(name).crash();
  }

  /** Starts a crashed site again and runs the clock until it is up. */
  async restart(name: string, limit: RunLimit = defaultLimit): Promise<void> {
    const site = this.site(name);
    await this.clock.runUntilSettled(site.boot(), limit);
  }

  /** The heads of `docId` on every site that is up (undefined where it is absent). */
  heads(docId: DocumentId): Map<SiteName, readonly string[] | undefined> {
    return new Map(this.upSites().map((site) => [site.name, site.node.documents.heads(docId)]));
  }

  /** Whether every named site (default: every site) is up and holds `docId` at the same heads. */
  converged(docId: DocumentId, names: readonly string[] = this.sites.map((site) => site.name)): boolean {
    let first: string | undefined;
    for (const name of names) {
      const heads = this.site(name).nodeIfUp?.documents.heads(docId);
      if (heads === undefined) return false;
      const key = [...heads].sort().join(',');
      if (first === undefined) first = key;
      else if (key !== first) return false;
    }
    return true;
  }

  /** The hash of the trace so far. */
  traceHash(): string {
    return this.trace.hash();
  }

  /** Ends every process. The simulation cannot run afterwards. */
  stop(): void {
    this.trace.record('sim:stop', { events: this.clock.events });
    for (const site of this.sites) site.shutdown();
  }
}
