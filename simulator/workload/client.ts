/**
 * A kubectl user at a site: sends one call to the site's front, in process, waits for the answer
 * (or the site's death, or its own timeout) and records the operation and its outcome in the
 * History (history.ts says what each outcome means). The workload sends through it, and so can a
 * test that scripts its operations.
 */
import { asMetaId, type SiteName } from '../../core/ids.js';
import type { Timer } from '../../core/clock.js';
import { markerOf } from '../harness/app-log.js';
import { simHttpUrl } from '../harness/sim-node.js';
import type { Simulation } from '../harness/simulation.js';
import type { History, OpIdPrefix, OpRecord } from './history.js';
import { toRequest, type KubectlCall } from './kubectl-requests.js';
import type { WorkloadKey } from './key-space.js';

/** A front's answer, its body parsed as JSON (undefined when it is not). */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

async function answerOf(pending: Promise<Response>): Promise<Answer> {
  const response = await pending;
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body };
}

/**
 * Sends `request` to `site`'s front (which must be up) and reads the answer; rejects when the
 * site dies first or no answer comes within `timeoutMs` of virtual time.
 */
export async function callSite(sim: Simulation, site: SiteName, request: Request, timeoutMs: number): Promise<Answer> {
  let timer: Timer | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = sim.clock.setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  timedOut.catch(() => undefined);
  try {
    return await Promise.race([answerOf(sim.site(site).call(request)), timedOut]);
  } finally {
    timer?.cancel();
  }
}

/** Cheops's own code of a failure Status, and whether it names a dependency; undefined for other answers. */
function cheopsErrorOf(body: unknown): OpRecord['cheopsError'] {
  const details = (body as { details?: { cheopsCode?: unknown; dependency?: unknown } } | null | undefined)?.details;
  return typeof details?.cheopsCode === 'string' ? { code: details.cheopsCode, dependency: details.dependency !== undefined } : undefined;
}

/** Sends operations and records them. */
export class KubectlClient {
  constructor(
    private readonly sim: Simulation,
    readonly history: History,
    private readonly timeoutMs = 30_000,
    private readonly idPrefix: OpIdPrefix = 'o',
  ) {}

  /**
   * Sends `build(opId)` to `site`'s front; the promise resolves with the record once the outcome
   * is known (at once, `skipped`, when the site is down).
   */
  send(site: SiteName, key: WorkloadKey, build: (opId: string) => KubectlCall, retryOf?: string): { op: OpRecord; done: Promise<OpRecord> } {
    const id = this.history.newId(this.idPrefix);
    const call = build(id);
    const op: OpRecord = {
      id, site, key, call, issuedAtMs: this.sim.clock.elapsedMs(), retryOf, answeredAtMs: undefined, outcome: 'pending', status: undefined,
      metaId: undefined, replicas: undefined, forwardedTo: undefined, warnings: [], answeredMarker: undefined, cheopsError: undefined, error: undefined,
    };
    this.history.add(op);
    if (this.sim.site(site).state !== 'up') {
      op.outcome = 'skipped';
      return { op, done: Promise.resolve(op) };
    }
    const done = callSite(this.sim, site, toRequest(simHttpUrl(site), call), this.timeoutMs)
      .then(
        (answer) => this.answered(op, answer),
        (error: unknown) => this.failed(op, error instanceof Error ? error.message : String(error)),
      )
      .then(() => op);
    return { op, done };
  }

  private answered(op: OpRecord, answer: Answer): void {
    op.answeredAtMs = this.sim.clock.elapsedMs();
    op.status = answer.status;
    const metaId = answer.headers.get('x-cheops-meta-id');
    op.metaId = metaId === null ? undefined : asMetaId(metaId);
    op.replicas = answer.headers.get('x-cheops-replicas') ?? undefined;
    op.forwardedTo = answer.headers.get('x-cheops-forwarded-to') ?? undefined;
    const warning = answer.headers.get('warning');
    op.warnings = warning === null ? [] : [warning];
    op.answeredMarker = markerOf(answer.body);
    op.cheopsError = cheopsErrorOf(answer.body);
    // A write sent from outside its scope was forwarded: a refusal may follow an earlier member's success.
    const forwarded = !op.key.sites.includes(op.site);
    if (answer.status >= 200 && answer.status < 300) {
      op.outcome = 'acknowledged';
      this.sim.acknowledged(op.site);
    } else if (!forwarded && answer.status >= 400 && answer.status < 500) op.outcome = 'rejected';
    else op.outcome = 'unknown';
  }

  private failed(op: OpRecord, error: string): void {
    op.answeredAtMs = this.sim.clock.elapsedMs();
    op.outcome = 'unknown';
    op.error = error;
  }
}
