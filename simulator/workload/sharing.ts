/**
 * Sharing in the workload (DESIGN.md §7–§8), beside the other writes, from a random stream and an
 * id prefix of its own (`s17`), so that a seed's other writes and reads keep their draws and ids:
 *
 * - pods relying on a shared secret are created, with their scope (`{pods: Site1, secrets:
 *   Site2}`), at one of their sites mostly and now and then from another site (forwarded), and
 *   deleted (at their site without a scope, from outside with it): a create shares the secret from
 *   its owner, or is refused when the owner lacks it (409) or cannot be reached (503);
 * - the secret is changed at its owner without a scope (patch, label, replace) and, now and then,
 *   patched at a dependent's site without one (replicated from there if that site holds a shared
 *   copy, else a 404); and its owner tries to delete it now and then (refused, 409, while a pod
 *   relies on it), and makes it again once it is gone.
 *
 * Ops are serialised per key, as for the keys that are not replicated: a secret's writes before it
 * is shared are its owner's alone. The workload never forces a delete.
 */
import type { SiteName } from '../../core/ids.js';
import type { SeededRandom } from '../core/seeded-random.js';
import type { Simulation } from '../harness/simulation.js';
import { KubectlClient } from './client.js';
import { Retries } from './retries.js';
import { WorkloadSchedule } from './schedule.js';
import type { History, OpRecord } from './history.js';
import { createCall, deleteCall, labelCall, objectBody, patchCall, podUsingSecretBody, replaceCall, type KubectlCall } from './kubectl-requests.js';
import type { KeySpace, WorkloadKey } from './key-space.js';

export interface SharingWorkloadOptions {
  /** Operations to send. */
  readonly operations: number;
  /** When the first may go, virtual ms since the start of the run. */
  readonly startMs: number;
  /** Over how long they are spread. */
  readonly durationMs: number;
  /** How long a client waits for an answer; default 30 s. */
  readonly clientTimeoutMs?: number;
  /** Retries of a write whose outcome is unknown; default 2, as the other writes'. */
  readonly maxRetries?: number;
}

/** What a secret holds when it is first made. */
const firstContent = { k0: 'v0' };

/**
 * Creates every shared secret at its owner, without a scope (a plain secret of that site), before
 * the run, through the history (`s1`, …) so that its object's marker is a write the checkers
 * know; answers those made. One that fails is recorded in the trace (`sim:setup-failed`) and the
 * run goes on: the workload makes it later.
 *
 * Made before the run rather than by the workload: sharing takes what the owner holds already
 * (DESIGN.md §7, the secret exists on Site2 before a pod asks for it), and a short run whose
 * secrets came at random times would refuse most early pods for want of them and share little.
 * Refusals still happen: the owner deletes its secret once no pod relies on it, and makes it again.
 */
export async function setUpSharedSecrets(sim: Simulation, keys: KeySpace, history: History): Promise<WorkloadKey[]> {
  const client = new KubectlClient(sim, history, 30_000, 's');
  const made: WorkloadKey[] = [];
  for (const secret of keys.ofKind('shared')) {
    const [owner] = secret.sites;
    if (owner === undefined) continue;
    const op = await sim.perform(() => client.send(owner, secret, (id) => createCall(secret.ref, objectBody(secret.ref, id, firstContent, { app: 'sim' }))).done);
    if (op.outcome === 'acknowledged') made.push(secret);
    else sim.trace.record('sim:setup-failed', { secret: secret.ref.name, status: op.status ?? op.error ?? op.outcome });
  }
  return made;
}

/** Drives the sharing operations on a simulation's clock. */
export class SharingWorkload {
  private readonly client: KubectlClient;
  private readonly secrets: readonly WorkloadKey[];
  private readonly dependents: readonly WorkloadKey[];
  private readonly believedPresent = new Map<WorkloadKey, boolean>();
  private readonly busy = new Set<WorkloadKey>();
  private readonly schedule: WorkloadSchedule;
  private readonly retries: Retries;

  constructor(
    private readonly sim: Simulation,
    keys: KeySpace,
    private readonly random: SeededRandom,
    history: History,
    private readonly options: SharingWorkloadOptions,
    /** The secrets set up before the run. */
    present: readonly WorkloadKey[],
  ) {
    this.client = new KubectlClient(sim, history, options.clientTimeoutMs ?? 30_000, 's');
    this.secrets = keys.ofKind('shared');
    this.dependents = keys.ofKind('dependent');
    for (const secret of present) this.believedPresent.set(secret, true);
    this.schedule = new WorkloadSchedule(sim);
    this.retries = new Retries(sim, {
      after: (delayMs, run) => this.schedule.after(delayMs, run),
      blocked: (key) => this.busy.has(key),
      resend: (retry) => this.send(retry.site, retry.key, retry.build, retry.original, retry.attempt + 1),
      stopped: () => this.schedule.stopped,
    }, options.maxRetries ?? 2);
  }

  /** Schedules every operation (none when the run has no sharing keys). */
  start(): void {
    if (this.secrets.length === 0) return;
    this.schedule.spread(this.random, this.options.operations, this.options.startMs, this.options.durationMs, () => this.tick());
  }

  /** Whether an operation is waiting for its answer or a retry is due. */
  get active(): boolean {
    return this.busy.size > 0 || this.retries.size > 0;
  }

  stop(): void {
    this.schedule.stop();
    this.retries.clear();
  }

  private tick(): void {
    const onPods = this.random.float() < 0.55;
    const pool = (onPods ? this.dependents : this.secrets).filter((key) => !this.busy.has(key));
    if (pool.length === 0) return;
    const key = this.random.pick(pool);
    if (key.kind === 'dependent') this.podOperation(key);
    else this.secretOperation(key);
  }

  /** A create (with its scope: that is what shares) or a delete of a dependent pod. */
  private podOperation(key: WorkloadKey): void {
    const relies = key.relies;
    if (relies === undefined) return;
    const present = this.believedPresent.get(key) ?? false;
    const create = present ? this.random.chance(0.15) : this.random.chance(0.9);
    const outside = this.sim.sites.map((site) => site.name).filter((site) => !key.sites.includes(site));
    const fromOutside = outside.length > 0 && this.random.chance(0.2);
    const site = fromOutside ? this.random.pick(outside) : this.random.pick(key.sites);
    const build = create
      ? (opId: string): KubectlCall => createCall(key.ref, podUsingSecretBody(key.ref, opId, relies.secret.ref.name, relies.via), { scope: key.scope })
      : (): KubectlCall => deleteCall(key.ref, { scope: fromOutside ? key.scope : undefined });
    this.send(site, key, build);
  }

  /** A change of the secret at its owner (now and then at a dependent's site), its delete, or its create once gone. */
  private secretOperation(key: WorkloadKey): void {
    const [owner] = key.sites;
    if (owner === undefined) return;
    const present = this.believedPresent.get(key) ?? false;
    const roll = this.random.float();
    const content = { [`k${this.random.int(3)}`]: `v${this.random.int(100)}` };
    const label: [string, string] = ['tier', `t${this.random.int(10)}`];
    const { ref } = key;
    if (!present) {
      this.send(owner, key, roll < 0.85 ? (opId) => createCall(ref, objectBody(ref, opId, content, { app: 'sim' })) : (opId) => patchCall(ref, opId, content));
      return;
    }
    const consumers = key.sites.slice(1);
    if (roll < 0.25) this.send(owner, key, (opId) => patchCall(ref, opId, content));
    else if (roll < 0.45) this.send(owner, key, (opId) => labelCall(ref, opId, label));
    else if (roll < 0.6) this.send(owner, key, (opId) => replaceCall(ref, objectBody(ref, opId, content, { app: 'sim', tier: label[1] })));
    else if (roll < 0.8 && consumers.length > 0) this.send(this.random.pick(consumers), key, (opId) => patchCall(ref, opId, content));
    else this.send(owner, key, () => deleteCall(ref));
  }

  private send(site: SiteName, key: WorkloadKey, build: (opId: string) => KubectlCall, retryOf?: string, attempt = 0): void {
    const sent = this.client.send(site, key, build, retryOf);
    if (sent.op.outcome === 'skipped') return;
    this.busy.add(key);
    this.retries.follow(sent, site, build, attempt, (op) => {
      this.busy.delete(key);
      this.learn(op);
    });
  }

  /**
   * What the client believes after an answer. A create refused by the share (it names the
   * dependency) made nothing; another 409 to a create means the object is there. A 404 says the
   * object is gone, but to a patch at a dependent's site only that the site holds no shared copy.
   */
  private learn(op: OpRecord): void {
    const { verb } = op.call;
    const atOwner = op.key.kind !== 'shared' || op.site === op.key.sites[0];
    if (op.outcome === 'acknowledged') this.believedPresent.set(op.key, verb !== 'delete');
    else if (op.status === 409 && verb === 'create' && op.cheopsError?.dependency !== true) this.believedPresent.set(op.key, true);
    else if (op.status === 404 && atOwner) this.believedPresent.set(op.key, false);
  }
}
