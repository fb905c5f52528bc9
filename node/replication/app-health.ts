/**
 * Whether the local application answers, as the engine's own calls find it. An edge site's
 * Kubernetes API server goes away now and then (an upgrade, a restart, etcd without quorum), and
 * every pass that calls it meanwhile fails and backs off; without this, the last of them would
 * run again up to `retryMaxMs` after the application came back. So:
 *
 * - a call that fails to connect, or is answered 502, 503 or 504, or has waited `stallAfterMs`
 *   for its answer, makes the application *suspect*, and its readiness endpoint
 *   (`ReplicationGlue.readinessPath`) is asked at once;
 * - answered there within `probeTimeoutMs`, the failure was the call's own (a slow webhook, one
 *   timeout): nothing more;
 * - not answered in time, the application is *down*: asked again every `probeEveryMs` until it
 *   answers, or any other call gets an answer, and then every listener of `onBack` is told (the
 *   reconciler runs its waiting retries, the create intents left by the outage are settled).
 *
 * A stalled application (an API server holding its calls while etcd has no leader) fails nothing:
 * its calls wait, up to the call timeout (60 s over HTTP). Only their age tells, and a probe that
 * is not answered either; so the metric says it is down while it holds them.
 *
 * Nothing here is on a request's path: the probes run beside it.
 */
import { errorMessage, type Clock, type Logger, type Timer } from '../../core/index.js';
import type { LocalAnswer, LocalApp, LocalExchange } from '../local-app.js';

export interface AppHealthDeps {
  /** The application itself (not the watched one: a probe is no call of the engine's). */
  readonly app: LocalApp;
  /** Path of the application's readiness endpoint (Kubernetes: `/readyz`). */
  readonly readinessPath: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Between two probes of an application found down; default 1 s. */
  readonly probeEveryMs?: number;
  /** How long a readiness probe may wait for its answer before it counts as unanswered; default 2 s. */
  readonly probeTimeoutMs?: number;
  /** How long a call may wait for its answer before the application is suspect; default 5 s. */
  readonly stallAfterMs?: number;
  /** Told each time the application is found down (false) and answers again (true): the metric. */
  readonly changed?: (answering: boolean) => void;
}

type HealthState = 'answering' | 'suspect' | 'down';

/** Statuses with which a server, or the proxy before it, says it is not serving (rather than refusing the request). */
const notServing = new Set([502, 503, 504]);

/** See the file comment. */
export class AppHealth {
  private state: HealthState = 'answering';
  private probeTimer: Timer | undefined;
  private probeInFlight = false;
  private probeTimeout: Timer | undefined;
  /** Each unanswered call's start, oldest first (a Map keeps insertion order). */
  private readonly waiting = new Map<number, number>();
  private nextCall = 0;
  /** Armed while calls wait; never cancelled by an answer (one timer per stall period, not one per call). */
  private stallTimer: Timer | undefined;
  private downSince: number | undefined;
  private stopped = false;
  private readonly backListeners = new Set<() => void>();

  constructor(private readonly deps: AppHealthDeps) {}

  /** False while the application is known down (a probe went unanswered and nothing has answered since). */
  get answering(): boolean {
    return this.state !== 'down';
  }

  /** Calls `listener` each time the application answers again after it was found down; answers the unsubscribe. */
  onBack(listener: () => void): () => void {
    this.backListeners.add(listener);
    return () => {
      this.backListeners.delete(listener);
    };
  }

  /** `app` with every call's outcome watched: what the engine calls. */
  watch(app: LocalApp): LocalApp {
    return {
      url: app.url,
      fetch: (request, signal) => this.observe(app.fetch(request, signal)),
      exchange: (call: LocalExchange): Promise<LocalAnswer> => this.observe(app.exchange(call)),
      close: () => app.close(),
    };
  }

  /** Stops probing. */
  stop(): void {
    this.stopped = true;
    this.probeTimer?.cancel();
    this.probeTimer = undefined;
    this.stallTimer?.cancel();
    this.stallTimer = undefined;
    this.probeTimeout?.cancel();
    this.probeTimeout = undefined;
  }

  private observe<T extends { readonly status: number }>(call: Promise<T>): Promise<T> {
    const id = this.nextCall;
    this.nextCall += 1;
    this.waiting.set(id, this.deps.clock.now());
    this.watchForStall();
    return call.then(
      (answer) => {
        this.waiting.delete(id);
        if (notServing.has(answer.status)) this.failed(`answered HTTP ${answer.status}`);
        else this.answered();
        return answer;
      },
      (error: unknown) => {
        this.waiting.delete(id);
        this.failed(errorMessage(error));
        throw error;
      },
    );
  }

  private get stallAfterMs(): number {
    return this.deps.stallAfterMs ?? 5_000;
  }

  private watchForStall(): void {
    if (this.stallTimer !== undefined || this.stopped) return;
    const oldest = this.waiting.values().next();
    if (oldest.done === true) return;
    const dueIn = Math.max(0, oldest.value + this.stallAfterMs - this.deps.clock.now());
    this.stallTimer = this.deps.clock.setTimeout(() => {
      this.stallTimer = undefined;
      const now = this.deps.clock.now();
      let stalled = 0;
      // Each call is told of once: one that waits on after it was reported needs no second probe.
      for (const [id, started] of this.waiting) {
        if (now - started < this.stallAfterMs) break;
        this.waiting.delete(id);
        stalled += 1;
      }
      if (stalled > 0) this.failed(`${stalled} call(s) unanswered after ${this.stallAfterMs} ms`);
      this.watchForStall();
    }, dueIn);
  }

  private failed(why: string): void {
    if (this.state !== 'answering' || this.stopped) return;
    this.state = 'suspect';
    this.deps.logger.debug({ why }, 'a call to the local application failed; asking its readiness');
    this.probe();
  }

  private answered(): void {
    if (this.state === 'answering') return;
    const wasDown = this.state === 'down';
    const downForMs = this.downSince === undefined ? 0 : this.deps.clock.now() - this.downSince;
    this.state = 'answering';
    this.downSince = undefined;
    this.probeTimer?.cancel();
    this.probeTimer = undefined;
    if (!wasDown) return;
    this.deps.changed?.(true);
    this.deps.logger.info({ downForMs }, 'the local application answers again; retrying what waited for it');
    for (const listener of [...this.backListeners]) listener();
  }

  /**
   * Asks the readiness endpoint, at most one probe at a time: on a stalled application they would
   * pile up, each held as long as the calls.
   */
  private probe(): void {
    if (this.stopped) return;
    if (!this.probeInFlight) {
      this.probeInFlight = true;
      this.deps.app.exchange({ method: 'GET', path: this.deps.readinessPath, headers: new Headers({ accept: 'text/plain' }) }).then(
        (answer) => answer.status === 200,
        () => false,
      ).then((ready) => {
        this.probeInFlight = false;
        this.probeTimeout?.cancel();
        this.probeTimeout = undefined;
        if (ready) this.answered();
        else this.unanswered();
      }, () => undefined);
    }
    // Also when an earlier probe is still held: it has not answered within this probe's time either.
    this.probeTimeout ??= this.deps.clock.setTimeout(() => {
      this.probeTimeout = undefined;
      if (this.probeInFlight) this.unanswered();
    }, this.deps.probeTimeoutMs ?? 2_000);
  }

  private unanswered(): void {
    if (this.stopped || this.state === 'answering') return;
    if (this.state === 'suspect') {
      this.state = 'down';
      this.downSince = this.deps.clock.now();
      this.deps.changed?.(false);
      this.deps.logger.warn({ readiness: this.deps.readinessPath }, 'the local application is not answering; probing it until it does');
    }
    this.probeAgainLater();
  }

  private probeAgainLater(): void {
    if (this.probeTimer !== undefined || this.stopped) return;
    this.probeTimer = this.deps.clock.setTimeout(() => {
      this.probeTimer = undefined;
      this.probe();
    }, this.deps.probeEveryMs ?? 1_000);
  }
}
