/**
 * A seeded schedule of faults over a window of a run (fault-kinds.ts says what each kind is).
 * Episodes start at times drawn from the seed (exponential gaps) and each ends by itself: a
 * partition is healed, a crashed site restarts, a degraded link is restored. `end()` is the
 * final heal: every partition ends, every link is back to its profile without faults, and every
 * site that is down starts again.
 *
 * Every draw comes from the schedule's own stream (`faults`), so the same seed injects the same
 * faults at the same virtual times, whatever the nodes do.
 */
import type { Timer } from '../../core/clock.js';
import type { SeededRandom } from '../core/seeded-random.js';
import type { AppOutageKind } from '../harness/app-availability.js';
import type { AppWrite } from '../harness/app-log.js';
import type { SimSite } from '../harness/sim-site.js';
import type { Simulation } from '../harness/simulation.js';
import type { LinkProfile } from '../network/link-profile.js';
import type { FaultKind } from './fault-kinds.js';

export interface FaultScheduleOptions {
  readonly kinds: readonly FaultKind[];
  /** No episode before this, virtual ms since the start of the run. */
  readonly startMs: number;
  /** No episode starts after this. */
  readonly endMs: number;
  /** Mean time between two episodes; default 2,500 ms. */
  readonly meanGapMs?: number;
}

/** What was injected, for the summary. */
export interface FaultCounts {
  partitions: number;
  oneWayPartitions: number;
  crashes: number;
  crashesMidWrite: number;
  /** Crashes the moment a client heard a write acknowledged, before the node's work after the answer. */
  crashesAfterAck: number;
  lossEpisodes: number;
  /** Outages of a site's application (its node up): refusing connections, or answering 503. */
  appOutages: number;
  /** Episodes of a site's node store refusing writes (a full disk). */
  fullDisks: number;
  /** Episodes of a site's node store completing no write for a while (a stalled disk). */
  slowDisks: number;
  /** Restarts that failed: a node that cannot start from its own store is a bug. */
  failedRestarts: number;
}

const appOutageKinds: readonly AppOutageKind[] = ['refusing', 'unavailable', 'stalled'];

/** The kinds that come as episodes (reordering is on for the whole run). */
type EpisodicKind = Exclude<FaultKind, 'reorder'>;

/** Small background loss and gossip disorder for the whole run, when those faults are on. */
const backgroundLoss = 0.01;
const reorderShare = 0.2;
const duplicateShare = 0.05;

/** The fault schedule of one run. */
export class FaultSchedule {
  readonly counts: FaultCounts = { partitions: 0, oneWayPartitions: 0, crashes: 0, crashesMidWrite: 0, crashesAfterAck: 0, lossEpisodes: 0, appOutages: 0, fullDisks: 0, slowDisks: 0, failedRestarts: 0 };
  /** Messages of restarts that failed (the checkers report them). */
  readonly restartFailures: string[] = [];
  private readonly timers = new Set<Timer>();
  private readonly degraded = new Set<string>();
  private readonly booting = new Set<Promise<unknown>>();
  private readonly base: LinkProfile;
  private disarm: (() => void) | undefined;

  constructor(
    private readonly sim: Simulation,
    private readonly random: SeededRandom,
    private readonly options: FaultScheduleOptions,
  ) {
    this.base = sim.network.defaultLink();
  }

  /** Applies the run-long faults and schedules the episodes. */
  start(): void {
    const { kinds } = this.options;
    const background: Partial<LinkProfile> = {
      ...(kinds.includes('loss') ? { loss: backgroundLoss } : {}),
      ...(kinds.includes('reorder') ? { reorder: reorderShare, duplicate: duplicateShare } : {}),
    };
    if (Object.keys(background).length > 0) {
      this.sim.network.setDefaultLink(background);
      this.sim.trace.record('fault:links', { loss: background.loss ?? 0, reorder: background.reorder ?? 0, duplicate: background.duplicate ?? 0 });
    }
    const episodic = kinds.filter((kind): kind is EpisodicKind => kind !== 'reorder');
    if (episodic.length === 0) return;
    const meanGapMs = this.options.meanGapMs ?? 2_500;
    let at = this.options.startMs + this.gap(meanGapMs);
    while (at < this.options.endMs) {
      const kind = this.random.pick(episodic);
      this.at(at, () => this.episode(kind));
      at += this.gap(meanGapMs);
    }
  }

  /** The final heal: no partition, links without faults, every site started. Run the clock until it resolves. */
  async end(): Promise<void> {
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
    this.disarm?.();
    this.sim.heal();
    this.sim.network.setDefaultLink(this.base);
    for (const site of this.sim.sites) {
      this.appBack(site);
      site.nodeDisk.free();
      site.nodeDisk.resume();
    }
    for (const pair of this.degraded) {
      const [a, b] = pair.split(' ') as [string, string];
      this.sim.setLink(a, b, this.base);
    }
    this.degraded.clear();
    this.sim.trace.record('fault:end', {});
    await Promise.all([...this.booting]);
    for (const site of this.sim.sites) if (site.state === 'down') this.restart(site);
    await Promise.all([...this.booting]);
  }

  private gap(meanMs: number): number {
    return -Math.log(1 - this.random.float()) * meanMs;
  }

  /** Runs `action` at virtual time `atMs` (since the start of the run). */
  private at(atMs: number, action: () => void): void {
    this.after(atMs - this.sim.clock.elapsedMs(), action);
  }

  private after(delayMs: number, action: () => void): void {
    const timer = this.sim.clock.setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, delayMs);
    this.timers.add(timer);
  }

  private episode(kind: EpisodicKind): void {
    if (kind === 'partitions') this.partition();
    else if (kind === 'crashes') this.crash();
    else if (kind === 'loss') this.degradeLink();
    else if (kind === 'app-outages') this.appOutage();
    else if (kind === 'disk-full') this.fillDisk();
    else this.stallDisk();
  }

  /** One site's node store completes nothing for 0.3 to 4 s, up or down (the machine's disk). */
  private stallDisk(): void {
    const site = this.random.pick(this.sim.sites);
    if (site.nodeDisk.stalled) return;
    this.counts.slowDisks += 1;
    site.nodeDisk.stall();
    this.after(300 + this.random.float() * 3_700, () => site.nodeDisk.resume());
  }

  /** One site's node store refuses every write for 0.5 to 6 s, up or down (a full disk is the machine's). */
  private fillDisk(): void {
    const site = this.random.pick(this.sim.sites);
    if (site.nodeDisk.full) return;
    this.counts.fullDisks += 1;
    site.nodeDisk.fill();
    this.after(500 + this.random.float() * 5_500, () => site.nodeDisk.free());
  }

  /** One site's application stops answering for 0.5 to 8 s (harness/app-availability.ts). */
  private appOutage(): void {
    const answering = this.sim.sites.filter((site) => site.app.outage === undefined);
    if (answering.length === 0) return;
    const site = this.random.pick(answering);
    const kind = this.random.pick(appOutageKinds);
    this.counts.appOutages += 1;
    site.app.begin(kind, this.sim.clock.elapsedMs());
    this.sim.trace.record('fault:app-down', { kind }, site.name);
    this.after(500 + this.random.float() * 7_500, () => this.appBack(site));
  }

  private appBack(site: SimSite): void {
    if (site.app.outage === undefined) return;
    site.app.end(this.sim.clock.elapsedMs());
    this.sim.trace.record('fault:app-up', {}, site.name);
  }

  private partition(): void {
    const names = this.random.shuffle(this.sim.sites.map((site) => site.name));
    if (names.length < 2) return;
    const size = 1 + this.random.int(names.length - 1);
    const [left, right] = [names.slice(0, size), names.slice(size)];
    let id: number;
    if (this.random.chance(0.3)) {
      id = this.sim.partitionOneWay(left, right);
      this.counts.oneWayPartitions += 1;
    } else {
      id = this.sim.partition([left, right], { mode: this.random.chance(0.6) ? 'cut' : 'stall' });
      this.counts.partitions += 1;
    }
    this.after(1_000 + this.random.float() * 7_000, () => this.sim.heal(id));
  }

  private crash(): void {
    const up = this.sim.sites.filter((site) => site.state === 'up');
    const down = this.sim.sites.length - up.length;
    const maxDown = Math.max(1, Math.floor((this.sim.sites.length - 1) / 2));
    if (up.length === 0 || down >= maxDown || this.disarm !== undefined) return;
    const site = this.random.pick(up);
    const downForMs = 300 + this.random.float() * 4_700;
    if (!this.random.chance(0.3)) {
      this.crashNow(site, downForMs);
      return;
    }
    // Buggify: die right after the application applied a client's write, before the node
    // records it; or the moment the client hears the write acknowledged, before what the node
    // does after its answer (an answered create's or update's change). Within 3 s, or plainly then.
    this.sim.trace.record('fault:crash-armed', {}, site.name);
    const unsubscribe = this.random.chance(0.5)
      ? this.sim.apps.subscribe((write: AppWrite) => {
          if (write.site !== site.name || write.source !== 'client' || write.status >= 300 || write.incarnation !== site.incarnation) return;
          this.disarm?.();
          this.counts.crashesMidWrite += 1;
          this.sim.trace.record('fault:crash-mid-write', { method: write.method, path: write.path }, site.name);
          this.crashNow(site, downForMs);
        })
      : this.sim.onAcknowledged((acknowledging) => {
          if (acknowledging !== site.name || site.state !== 'up') return;
          this.disarm?.();
          this.counts.crashesAfterAck += 1;
          this.sim.trace.record('fault:crash-after-ack', {}, site.name);
          this.crashNow(site, downForMs);
        });
    const deadline = this.sim.clock.setTimeout(() => {
      this.disarm?.();
      if (site.state === 'up') this.crashNow(site, downForMs);
    }, 3_000);
    this.disarm = () => {
      unsubscribe();
      deadline.cancel();
      this.disarm = undefined;
    };
  }

  private crashNow(site: SimSite, downForMs: number): void {
    this.counts.crashes += 1;
    site.crash();
    this.after(downForMs, () => this.restart(site));
  }

  private restart(site: SimSite): void {
    if (site.state !== 'down') return;
    // Full when the boot began counts too: the final heal may free the disk while that boot fails
    // on it, which is no failure to restart (swarm seed 7400145).
    const fullAtStart = site.nodeDisk.full;
    const booting = site.boot().catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (site.nodeDisk.full || fullAtStart) {
        // A node cannot start on a full disk; its supervisor tries again, as systemd would.
        site.crash();
        this.sim.trace.record('fault:restart-deferred', { error: message }, site.name);
        this.after(1_000, () => this.restart(site));
        return;
      }
      this.counts.failedRestarts += 1;
      this.restartFailures.push(`${site.name}: ${message}`);
      this.sim.trace.record('fault:restart-failed', { error: message }, site.name);
    });
    this.booting.add(booting);
    void booting.finally(() => this.booting.delete(booting));
  }

  private degradeLink(): void {
    const [a, b] = this.random.shuffle(this.sim.sites).slice(0, 2);
    if (a === undefined || b === undefined) return;
    const pair = [a.name, b.name].sort().join(' ');
    if (this.degraded.has(pair)) return;
    this.degraded.add(pair);
    const loss = 0.1 + this.random.float() * 0.25;
    this.counts.lossEpisodes += 1;
    this.sim.setLink(a.name, b.name, { loss, reset: 0.01 });
    this.sim.trace.record('fault:link', { peer: b.name, loss: Math.round(loss * 100) / 100, reset: 0.01 }, a.name);
    this.after(2_000 + this.random.float() * 4_000, () => {
      if (!this.degraded.delete(pair)) return;
      this.sim.setLink(a.name, b.name, this.sim.network.defaultLink());
      this.sim.trace.record('fault:link-restored', { peer: b.name }, a.name);
    });
  }
}
