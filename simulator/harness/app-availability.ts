/**
 * Whether a site's application answers (`--faults app-outages`): the most common fault of an
 * edge site is not its network but its own Kubernetes API server going away for a while (an
 * upgrade, a restart, etcd losing quorum). Two kinds of outage, as clients of a real API server
 * see them:
 * - `refusing`: the server is down; every call fails to connect;
 * - `unavailable`: the server is up but cannot serve; every call is answered 503 with a `Status`.
 *
 * A call under way when an outage begins may already have been applied: its answer is lost (the
 * connection resets, or the server answers 504 Timeout), which is the case a node must handle
 * with care, since the object exists and the node was not told.
 *
 * Held by the site, not its process: the application's outage outlives a crash of the node.
 */
export type AppOutageKind = 'refusing' | 'unavailable';

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

/** What a client's connection to an application that is down fails with (as undici's fetch). */
export function refusedError(site: string): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ECONNREFUSED ${site} application`), { code: 'ECONNREFUSED' }) });
}

/** What a call whose server went away under it fails with. */
export function resetError(site: string): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(`other side closed: ${site} application`), { code: 'UND_ERR_SOCKET' }) });
}

/** The `Status` a Kubernetes API server answers while it cannot serve (503), or a call it could not finish (504). */
export function outageStatus(code: 503 | 504): Response {
  const [reason, message] =
    code === 503
      ? ['ServiceUnavailable', 'the server is currently unable to handle the request']
      : ['Timeout', 'Timeout: request did not complete within the allotted timeout'];
  return new Response(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }), {
    status: code,
    headers: { 'content-type': 'application/json' },
  });
}
