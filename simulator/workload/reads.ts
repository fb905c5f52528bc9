/**
 * Reads beside the writes: `kubectl get <object> -o json`, scoped and not, sent to any site at
 * times drawn from a stream of their own (so the writes' draws stay as they were). A read whose
 * scope leaves the site out must be answered by a site of the scope (forwarded); one sent to a
 * member, by that member itself, never waiting on another site. The `reads` checker holds every
 * answer to that, and to naming only what some write of the object made.
 */
import type { SiteName } from '../../core/ids.js';
import type { Timer } from '../../core/clock.js';
import type { SeededRandom } from '../core/seeded-random.js';
import { markerOf } from '../harness/app-log.js';
import { simHttpUrl } from '../harness/sim-node.js';
import type { Simulation } from '../harness/simulation.js';
import { callSite, type Answer } from './client.js';
import type { History } from './history.js';
import { getCall, toReadRequest, type ReadCall } from './kubectl-requests.js';
import type { KeySpace, WorkloadKey } from './key-space.js';

/**
 * `answered`: an HTTP answer came (any status); `failed`: none came (the site died, the client
 * gave up); `skipped`: the site was down when the client wanted to read.
 */
export type ReadOutcome = 'pending' | 'answered' | 'failed' | 'skipped';

/** One read and its answer. */
export interface ReadRecord {
  /** `r17` */
  readonly id: string;
  readonly site: SiteName;
  readonly key: WorkloadKey;
  readonly call: ReadCall;
  readonly issuedAtMs: number;
  answeredAtMs: number | undefined;
  outcome: ReadOutcome;
  status: number | undefined;
  /** `X-Cheops-Forwarded-To`: the site that answered for this one. */
  forwardedTo: string | undefined;
  /** The object answered: its name, namespace and op marker (200 only). */
  object: { readonly name: unknown; readonly namespace: unknown; readonly marker: string | undefined } | undefined;
  error: string | undefined;
}

/** Sends reads and records them in the history. */
export class ReadClient {
  constructor(
    private readonly sim: Simulation,
    private readonly history: History,
    private readonly timeoutMs = 30_000,
  ) {}

  /** Reads `key` at `site`, with the key's scope when `scoped`; resolves once the outcome is known. */
  read(site: SiteName, key: WorkloadKey, scoped: boolean): Promise<ReadRecord> {
    const record: ReadRecord = {
      id: this.history.newReadId(), site, key, call: getCall(key.ref, scoped ? key.scope : undefined), issuedAtMs: this.sim.clock.elapsedMs(),
      answeredAtMs: undefined, outcome: 'pending', status: undefined, forwardedTo: undefined, object: undefined, error: undefined,
    };
    this.history.addRead(record);
    if (this.sim.site(site).state !== 'up') {
      record.outcome = 'skipped';
      return Promise.resolve(record);
    }
    return callSite(this.sim, site, toReadRequest(simHttpUrl(site), record.call), this.timeoutMs).then(
      (answer) => answered(record, answer, this.sim.clock.elapsedMs()),
      (error: unknown) => {
        record.answeredAtMs = this.sim.clock.elapsedMs();
        record.outcome = 'failed';
        record.error = error instanceof Error ? error.message : String(error);
        return record;
      },
    );
  }
}

function answered(record: ReadRecord, answer: Answer, atMs: number): ReadRecord {
  record.answeredAtMs = atMs;
  record.outcome = 'answered';
  record.status = answer.status;
  record.forwardedTo = answer.headers.get('x-cheops-forwarded-to') ?? undefined;
  if (answer.status === 200) {
    const metadata = (answer.body as { metadata?: { name?: unknown; namespace?: unknown } } | undefined)?.metadata;
    record.object = { name: metadata?.name, namespace: metadata?.namespace, marker: markerOf(answer.body) };
  }
  return record;
}

export interface ReadWorkloadOptions {
  readonly reads: number;
  /** When the first may go, virtual ms since the start of the run. */
  readonly startMs: number;
  /** Over how long they are spread. */
  readonly durationMs: number;
  /**
   * The keys read; default every key but the sharing ones, which a second ReadWorkload reads from
   * a random stream of its own (the others' draws stay as they were before sharing existed).
   */
  readonly among?: readonly WorkloadKey[];
}

/** Drives the reads on a simulation's clock. */
export class ReadWorkload {
  private readonly client: ReadClient;
  private readonly timers = new Set<Timer>();
  private pending = 0;
  private stopped = false;

  constructor(
    private readonly sim: Simulation,
    private readonly keys: KeySpace,
    private readonly random: SeededRandom,
    history: History,
    private readonly options: ReadWorkloadOptions,
  ) {
    this.client = new ReadClient(sim, history);
  }

  start(): void {
    const times = Array.from({ length: this.options.reads }, () => this.random.float() * this.options.durationMs).sort((a, b) => a - b);
    const now = this.sim.clock.elapsedMs();
    for (const at of times) {
      const timer = this.sim.clock.setTimeout(() => {
        this.timers.delete(timer);
        if (!this.stopped) this.tick();
      }, this.options.startMs + at - now);
      this.timers.add(timer);
    }
  }

  /** Whether a read is waiting for its answer. */
  get active(): boolean {
    return this.pending > 0;
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
  }

  private tick(): void {
    const pool = this.options.among ?? this.keys.keysWithoutSharing;
    if (pool.length === 0) return;
    const key = this.random.pick(pool);
    const site = this.random.pick(this.sim.sites.map((candidate) => candidate.name));
    // From outside its scope a read must carry it (or it reads this site's application); inside, either.
    const scoped = key.scope !== undefined && (!key.sites.includes(site) || this.random.chance(0.5));
    this.pending += 1;
    void this.client.read(site, key, scoped).finally(() => {
      this.pending -= 1;
    });
  }
}
