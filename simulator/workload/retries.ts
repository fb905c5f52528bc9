/**
 * Retries as a kubectl user makes them (DESIGN.md expects it after a crash): a write whose outcome
 * the client could not learn (no answer, or a 5xx) is sent again, to the same site, a second
 * later and again until it goes, it has been retried `maxRetries` times, or 30 s have passed. A
 * site that is down, or a key with a write still under way that must not be overtaken, makes it
 * wait. The node counts on it: a crash between the application's write and the replicant's leaves
 * an object the retried create adopts (docs/REPLICATION.md §2).
 */
import type { SiteName } from '../../core/ids.js';
import type { Simulation } from '../harness/simulation.js';
import type { OpRecord } from './history.js';
import type { KubectlCall } from './kubectl-requests.js';
import type { WorkloadKey } from './key-space.js';

/** A write waiting to be retried. */
export interface Retry {
  readonly site: SiteName;
  readonly key: WorkloadKey;
  readonly build: (opId: string) => KubectlCall;
  /** The id of the first attempt. */
  readonly original: string;
  readonly attempt: number;
  readonly giveUpAtMs: number;
}

const retryDelayMs = 1_000;
const retryPatienceMs = 30_000;

/** Whether a user would send `op` again: its outcome is unknown, and not for a refusal. */
export function wantsRetry(op: OpRecord): boolean {
  return op.outcome === 'unknown' && (op.status === undefined || op.status >= 500);
}

/** What retrying needs of its workload. */
export interface RetryHost {
  /** Runs `run` after `delayMs` on the simulation's clock, unless the workload stopped. */
  after(delayMs: number, run: () => void): void;
  /** Whether the key has a write under way that the retry must not overtake. */
  blocked(key: WorkloadKey): boolean;
  /** Sends the retry (`retryOf`: the first attempt's id). */
  resend(retry: Retry): void;
  /** Whether the workload has stopped: answers then bring no retry. */
  stopped(): boolean;
}

/** The retries a workload has waiting. */
export class Retries {
  private readonly waiting = new Set<Retry>();

  constructor(
    private readonly sim: Simulation,
    private readonly host: RetryHost,
    private readonly maxRetries: number,
  ) {}

  get size(): number {
    return this.waiting.size;
  }

  clear(): void {
    this.waiting.clear();
  }

  /**
   * Follows a write just sent as attempt `attempt`: once answered, `answered` learns the outcome,
   * then the write is retried when a user would retry it (unless the workload has stopped).
   */
  follow(sent: { readonly op: OpRecord; readonly done: Promise<OpRecord> }, site: SiteName, build: (opId: string) => KubectlCall, attempt: number, answered: (op: OpRecord) => void): void {
    sent.done
      .then(() => {
        answered(sent.op);
        if (!this.host.stopped()) this.afterAnswer(sent.op, site, build, attempt);
      })
      .catch(() => undefined);
  }

  /** Retries `op` when a user would (wantsRetry), as attempt `attempt + 1`. */
  afterAnswer(op: OpRecord, site: SiteName, build: (opId: string) => KubectlCall, attempt: number): void {
    if (!wantsRetry(op) || attempt >= this.maxRetries) return;
    const retry: Retry = { site, key: op.key, build, original: op.retryOf ?? op.id, attempt, giveUpAtMs: this.sim.clock.elapsedMs() + retryPatienceMs };
    this.waiting.add(retry);
    const attemptNow = (): void => {
      if (!this.waiting.has(retry)) return;
      if (this.sim.site(retry.site).state === 'up' && !this.host.blocked(retry.key)) {
        this.waiting.delete(retry);
        this.host.resend(retry);
      } else if (this.sim.clock.elapsedMs() < retry.giveUpAtMs) {
        this.host.after(retryDelayMs, attemptNow);
      } else {
        this.waiting.delete(retry);
      }
    };
    this.host.after(retryDelayMs, attemptNow);
  }
}
