/**
 * Whether a site's application answers (`--faults app-outages`): the most common fault of an
 * edge site is not its network but its own Kubernetes API server going away for a while (an
 * upgrade, a restart, etcd losing quorum). Three kinds of outage, as clients of a real API
 * server see them:
 * - `refusing`: the server is down; every call fails to connect;
 * - `unavailable`: the server is up but cannot serve; every call is answered 503 with a `Status`;
 * - `stalled`: the server takes calls and sits on them (etcd slow to elect a leader); each is
 *   handled, and answered, when the outage ends.
 *
 * A call under way when an outage begins may already have been applied: its answer is lost (the
 * connection resets, or the server answers 504 Timeout), which is the case a node must handle
 * with care, since the object exists and the node was not told.
 *
 * Held by the site, not its process: the application's outage outlives a crash of the node.
 */
import { sleep, type Clock } from '../../core/clock.js';

export type AppOutageKind = 'refusing' | 'unavailable' | 'stalled';

/** One outage: virtual ms since the start of the run; `untilMs` undefined while it lasts. */
export interface AppOutage {
  readonly kind: AppOutageKind;
  readonly fromMs: number;
  untilMs: number | undefined;
}

/** How one site's application is answering; changed by the fault schedule. */
export class AppAvailability {
  private current: AppOutageKind | undefined;
  private begun = 0;
  private readonly history: AppOutage[] = [];

  /** The outage under way, or undefined when the application answers. */
  get outage(): AppOutageKind | undefined {
    return this.current;
  }

  /** How many outages have begun: a call that sees it change while under way has lost its answer. */
  get epoch(): number {
    return this.begun;
  }

  /** Every outage so far, in order. */
  get outages(): readonly AppOutage[] {
    return this.history;
  }

  /** Whether the application was out at any moment of [fromMs, toMs]: a call then may have failed for it. */
  wasOut(fromMs: number, toMs: number): boolean {
    return this.history.some((outage) => outage.fromMs <= toMs && (outage.untilMs ?? Number.POSITIVE_INFINITY) >= fromMs);
  }

  begin(kind: AppOutageKind, atMs: number): void {
    this.current = kind;
    this.begun += 1;
    this.history.push({ kind, fromMs: atMs, untilMs: undefined });
  }

  end(atMs: number): void {
    this.current = undefined;
    const last = this.history.at(-1);
    if (last !== undefined && last.untilMs === undefined) last.untilMs = atMs;
  }
}

/** How often a stalled call looks whether its server is serving again. */
const stallPollMs = 20;

/**
 * What one process's calls meet of its application's outages: `arrive` as a call reaches the
 * server, `leave` as its answer goes back. Waits are on the process's clock: a crash ends them.
 */
export class OutageGate {
  constructor(
    private readonly availability: AppAvailability,
    private readonly clock: Clock,
    private readonly site: string,
  ) {}

  /**
   * A call reaches the server: the outage epoch when it is handled (after any stall), a 503 to
   * answer when the server cannot serve; throws when it refuses connections.
   */
  async arrive(): Promise<{ readonly refusal: Response } | { readonly epoch: number }> {
    await this.stallOver();
    const outage = this.availability.outage;
    if (outage === 'refusing') throw refusedError(this.site);
    if (outage === 'unavailable') return { refusal: outageStatus(503) };
    return { epoch: this.availability.epoch };
  }

  /** The answer to a call handled at `epoch` goes back: as it is, unless an outage began since (see the file comment). */
  async leave(epoch: number, response: Response): Promise<Response> {
    if (this.availability.epoch === epoch) return response;
    if (this.availability.outages.at(-1)?.kind === 'stalled') {
      await this.stallOver();
      return response;
    }
    await response.body?.cancel().catch(() => undefined);
    if (this.availability.outage === 'unavailable') return outageStatus(504);
    throw resetError(this.site);
  }

  private async stallOver(): Promise<void> {
    while (this.availability.outage === 'stalled') await sleep(this.clock, stallPollMs);
  }
}

/** What a client's connection to an application that is down fails with (as undici's fetch). */
function refusedError(site: string): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ECONNREFUSED ${site} application`), { code: 'ECONNREFUSED' }) });
}

/** What a call whose server went away under it fails with. */
function resetError(site: string): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(`other side closed: ${site} application`), { code: 'UND_ERR_SOCKET' }) });
}

/** The `Status` a Kubernetes API server answers while it cannot serve (503), or a call it could not finish (504). */
function outageStatus(code: 503 | 504): Response {
  const [reason, message] =
    code === 503
      ? ['ServiceUnavailable', 'the server is currently unable to handle the request']
      : ['Timeout', 'Timeout: request did not complete within the allotted timeout'];
  return new Response(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }), {
    status: code,
    headers: { 'content-type': 'application/json' },
  });
}
