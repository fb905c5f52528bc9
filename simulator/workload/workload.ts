/**
 * A seeded workload of kubectl-equivalent calls, sent through each site's front at times drawn
 * from the seed: creates, replaces, labels, strategic patches and deletes, scoped and not, on the
 * keys of a KeySpace (replicated, remote, local, and objects of a cross namespace). Its clients behave as kubectl users do: they write what they believe exists
 * (and sometimes not, to get the 404s and 409s), send a scoped write from outside its scope now
 * and then (forwarded), and retry a write whose outcome they could not learn (the site died, the
 * request timed out), as DESIGN.md expects of users after a crash. Ops on keys that are not
 * replicated are serialised per key, so that their last acknowledged write is well defined.
 */
import type { SiteName } from '../../core/ids.js';
import type { SeededRandom } from '../core/seeded-random.js';
import type { Simulation } from '../harness/simulation.js';
import { KubectlClient } from './client.js';
import { Retries } from './retries.js';
import { WorkloadSchedule } from './schedule.js';
import { History, type OpRecord } from './history.js';
import { createCall, deleteCall, labelCall, objectBody, patchCall, replaceCall, type KubectlCall, type KubectlVerb } from './kubectl-requests.js';
import { scopeText, type KeySpace, type WorkloadKey } from './key-space.js';

export interface WorkloadOptions {
  /** Operations to send (retries come on top). */
  readonly operations: number;
  /** When the first may go, virtual ms since the start of the run. */
  readonly startMs: number;
  /** Over how long they are spread. */
  readonly durationMs: number;
  /** Share of replicated writes that ask `X-Cheops-Wait: all`; default 0.05. */
  readonly waitAllShare?: number;
  /** How long a client waits for an answer; default 30 s (kubectl's request timeout is longer). */
  readonly clientTimeoutMs?: number;
  /** Retries of a write whose outcome is unknown; default 2. */
  readonly maxRetries?: number;
}

/** Drives the workload on a simulation's clock. */
export class Workload {
  private readonly client: KubectlClient;
  private readonly believedPresent = new Map<WorkloadKey, boolean>();
  private readonly busy = new Set<WorkloadKey>();
  private readonly retries: Retries;
  private readonly schedule: WorkloadSchedule;
  private readonly options: Required<WorkloadOptions>;
  private readonly widening: SeededRandom;
  private readonly wideningCreates: SeededRandom;

  constructor(
    private readonly sim: Simulation,
    private readonly keys: KeySpace,
    private readonly random: SeededRandom,
    options: WorkloadOptions,
    /** Shared with the sharing workload's ops, when there is one. */
    readonly history = new History(),
  ) {
    this.options = { waitAllShare: 0.05, clientTimeoutMs: 30_000, maxRetries: 2, ...options };
    this.widening = random.fork('widen');
    this.wideningCreates = random.fork('widen-create');
    this.client = new KubectlClient(sim, this.history, this.options.clientTimeoutMs);
    this.schedule = new WorkloadSchedule(sim);
    this.retries = new Retries(sim, {
      after: (delayMs, run) => this.schedule.after(delayMs, run),
      blocked: (key) => key.kind !== 'replicated' && this.busy.has(key),
      resend: (retry) => this.send(retry.site, retry.key, retry.build, retry.original, retry.attempt + 1),
      stopped: () => this.schedule.stopped,
    }, this.options.maxRetries);
  }

  /** Schedules every operation on the simulation's clock. */
  start(): void {
    this.schedule.spread(this.random, this.options.operations, this.options.startMs, this.options.durationMs, () => this.tick());
  }

  /** Whether an operation is waiting for its answer or a retry is due. */
  get active(): boolean {
    return this.history.pending() > 0 || this.retries.size > 0;
  }

  /** Stops sending (retries included); answers still on their way are recorded. */
  stop(): void {
    this.schedule.stop();
    this.retries.clear();
  }

  private tick(): void {
    const key = this.pickKey();
    if (key === undefined) return;
    const site = this.pickSite(key);
    const verb = this.pickVerb(key);
    const scoped = this.scoped(key, site, verb);
    const waitAllMs = key.kind === 'replicated' && this.random.chance(this.options.waitAllShare) ? 2_000 : undefined;
    const content = { [`k${this.random.int(3)}`]: `v${this.random.int(100)}` };
    const label: [string, string] = ['tier', `t${this.random.int(10)}`];
    const options = { scope: scoped ? this.scopeOf(key, verb) : undefined, waitAllMs };
    const build = (opId: string): KubectlCall => {
      switch (verb) {
        case 'create':
          return createCall(key.ref, objectBody(key.ref, opId, content, { app: 'sim' }), options);
        case 'replace':
          return replaceCall(key.ref, objectBody(key.ref, opId, content, { app: 'sim', tier: label[1] }), options);
        case 'label':
          return labelCall(key.ref, opId, label, options);
        case 'patch':
          return patchCall(key.ref, opId, content, options);
        case 'delete':
          return deleteCall(key.ref, options);
      }
    };
    this.send(site, key, build, undefined, 0);
  }

  private pickKey(): WorkloadKey | undefined {
    const roll = this.random.float();
    const kind = roll < 0.55 ? 'replicated' : roll < 0.67 ? 'cross' : roll < 0.82 ? 'remote' : 'local';
    const candidates = this.keys.ofKind(kind).filter((key) => !this.busy.has(key));
    const fallback = this.keys.keysWithoutSharing.filter((key) => !this.busy.has(key));
    const pool = candidates.length > 0 ? candidates : fallback;
    return pool.length === 0 ? undefined : this.random.pick(pool);
  }

  private pickSite(key: WorkloadKey): SiteName {
    const all = this.sim.sites.map((site) => site.name);
    if (key.kind === 'local') return key.sites[0] ?? this.random.pick(all);
    const outside = all.filter((site) => !key.sites.includes(site));
    if (key.kind === 'remote') return this.random.chance(0.5) || outside.length === 0 ? (key.sites[0] ?? this.random.pick(all)) : this.random.pick(outside);
    // Replicated and cross keys: a member mostly, now and then a site outside the scope (forwarded).
    return outside.length > 0 && this.random.chance(0.2) ? this.random.pick(outside) : this.random.pick(key.sites);
  }

  private pickVerb(key: WorkloadKey): KubectlVerb {
    const present = this.believedPresent.get(key) ?? false;
    const roll = this.random.float();
    if (!present) return roll < 0.9 ? 'create' : this.random.pick<KubectlVerb>(['replace', 'label', 'delete']);
    const verb: KubectlVerb = roll < 0.05 ? 'create' : roll < 0.3 ? 'replace' : roll < 0.55 ? 'label' : roll < 0.8 ? 'patch' : 'delete';
    // A pod's spec cannot be replaced with another image: label it instead.
    return verb === 'replace' && key.ref.resource === 'pods' ? 'label' : verb;
  }

  /**
   * Creates carry their scope; a write from outside the scope must (it is forwarded); others half
   * the time. In the cross namespace a member's writes need none (the namespace's applies).
   */
  private scoped(key: WorkloadKey, site: SiteName, verb: KubectlVerb): boolean {
    if (key.kind === 'local') return false;
    if (!key.sites.includes(site)) return true;
    if (key.kind === 'cross') return this.random.chance(0.3);
    return verb === 'create' || this.random.chance(0.5);
  }

  /**
   * The scope a write carries: its key's, or now and then (a create or an update of a key with a
   * site to widen to) that scope and the site too, as a user adding a site to a replicated object
   * does. Drawn from streams of their own, so that the other draws stay as they were.
   */
  private scopeOf(key: WorkloadKey, verb: KubectlVerb): string | undefined {
    if (key.widenTo === undefined || verb === 'delete') return key.scope;
    // A create too, from a stream of its own (added at stop 26: the updates' draws stay as they
    // were): sent to the site it adds, it makes a copy there that the holders take in
    // (node/replication/membership-claims.ts).
    const widen = verb === 'create' ? this.wideningCreates.chance(0.3) : this.widening.chance(0.3);
    return widen ? scopeText([...key.sites, key.widenTo]) : key.scope;
  }

  private send(site: SiteName, key: WorkloadKey, build: (opId: string) => KubectlCall, retryOf: string | undefined, attempt: number): void {
    const sent = this.client.send(site, key, build, retryOf);
    if (sent.op.outcome === 'skipped') return;
    if (key.kind !== 'replicated') this.busy.add(key);
    this.retries.follow(sent, site, build, attempt, (op) => {
      this.busy.delete(key);
      this.learn(op);
    });
  }

  /** What the client believes after an answer: created or replaced means there, deleted or 404 means gone. */
  private learn(op: OpRecord): void {
    const { verb } = op.call;
    if (op.outcome === 'acknowledged') this.believedPresent.set(op.key, verb !== 'delete');
    else if (op.status === 409 && verb === 'create') this.believedPresent.set(op.key, true);
    else if (op.status === 404) this.believedPresent.set(op.key, false);
  }

}

