/**
 * What each site's application really did: every write that reached a stand-in and its answer,
 * recorded as it happens. The node talks to its application only through the LocalApp port, so
 * wrapping the stand-in there sees everything: the front's passthrough, the write path and the
 * reconciler alike. Checkers read it (scope safety, resurrection) and the benchmarks time
 * replication with it: a write's marker (an annotation the workload puts on every body it sends)
 * says which operation an object came from.
 */
import { sleep, type Clock } from '../../core/clock.js';
import type { SiteName } from '../../core/ids.js';
import { inProcessLocalApp, type LocalApp } from '../../node/local-app.js';
import type { Standin } from '../standin/index.js';
import type { OutageGate } from './app-availability.js';

/** The annotation every workload write carries: the operation's id. */
export const opMarkerAnnotation = 'sim.cheops.io/op';

/** The resource a request is about, as the application's path names it. */
export interface AppObjectKey {
  /** The resource plural (`configmaps`). */
  readonly service: string;
  readonly namespace: string | undefined;
  readonly name: string;
}

/** One write an application answered. */
export interface AppWrite {
  /** Virtual milliseconds since the start of the run, when the application answered (its answer then takes the rest of any `--app-latency` to come back). */
  readonly atMs: number;
  /** When the node sent the request (it reaches the application after part of any `--app-latency`; the stand-in's disk makes a write take time too). */
  readonly issuedAtMs: number;
  readonly site: SiteName;
  readonly incarnation: number;
  readonly method: string;
  readonly path: string;
  readonly key: AppObjectKey | undefined;
  /** Set for writes on a subresource (`status`, `scale`): not the object's desired state. */
  readonly subresource: string | undefined;
  readonly status: number;
  /** The op marker of the object in the answer (the object written, or the object deleted). */
  readonly marker: string | undefined;
  /** `client` when it carries the user's headers (passthrough, write path), `node` for the reconciler. */
  readonly source: 'client' | 'node';
}

export type AppWriteListener = (write: AppWrite) => void;

/** Every application write of a run, in order. */
export class AppLog {
  private readonly kept: AppWrite[] = [];
  private readonly listeners = new Set<AppWriteListener>();

  record(write: AppWrite): void {
    this.kept.push(write);
    for (const listener of this.listeners) listener(write);
  }

  get writes(): readonly AppWrite[] {
    return this.kept;
  }

  /** Calls `listener` with each write from now on, synchronously; answers the unsubscribe function. */
  subscribe(listener: AppWriteListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}

const objectPath = /^\/(?:api\/v1|apis\/[^/]+\/[^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/;

/** The resource a path names, and its subresource; undefined for anything else (discovery). */
export function appKeyOfPath(path: string, answered: unknown): { key: AppObjectKey; subresource: string | undefined } | undefined {
  const match = objectPath.exec(path);
  if (match === null) return undefined;
  const [, namespace, service, pathName, subresource] = match;
  if (service === undefined) return undefined;
  // A cluster-scoped collection path `/api/v1/namespaces` parses as service "namespaces".
  const name = pathName ?? nameOf(answered);
  if (name === undefined) return undefined;
  return { key: { service, namespace, name }, subresource };
}

function nameOf(object: unknown): string | undefined {
  const metadata = (object as { metadata?: { name?: unknown } } | null)?.metadata;
  return typeof metadata?.name === 'string' ? metadata.name : undefined;
}

/** The op marker of an answered object. */
export function markerOf(object: unknown): string | undefined {
  const annotations = (object as { metadata?: { annotations?: Record<string, unknown> } } | null)?.metadata?.annotations;
  const marker = annotations?.[opMarkerAnnotation];
  return typeof marker === 'string' ? marker : undefined;
}

const writeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface ObservedAppDeps {
  readonly site: SiteName;
  readonly incarnation: number;
  /** Virtual milliseconds since the start of the run. */
  readonly elapsedMs: () => number;
  readonly log: AppLog;
  /** How long each call takes on its way to the stand-in and back (`--app-latency`); none: at once. */
  readonly latency?: AppLatency;
  /** Whether the application answers (`--faults app-outages`); absent: always. */
  readonly outages?: OutageGate;
}

/** Delays drawn for each call, waited on the process's clock. */
export interface AppLatency {
  readonly clock: Clock;
  readonly draw: () => { readonly beforeMs: number; readonly afterMs: number };
}

/** The stand-in as a LocalApp whose every write is recorded in the AppLog, when the stand-in answered it. */
export function observedApp(standin: Pick<Standin, 'fetch'>, deps: ObservedAppDeps): LocalApp {
  const { latency, outages } = deps;
  return inProcessLocalApp(async (request: Request): Promise<Response> => {
    const issuedAtMs = deps.elapsedMs();
    const delay = latency?.draw();
    if (latency !== undefined && delay !== undefined) await sleep(latency.clock, delay.beforeMs);
    const arrived = await outages?.arrive();
    if (arrived !== undefined && 'refusal' in arrived) return arrived.refusal;
    const response = await standin.fetch(request);
    if (writeMethods.has(request.method) && !isDryRun(request)) await record(request, response, issuedAtMs, deps);
    if (latency !== undefined && delay !== undefined) await sleep(latency.clock, delay.afterMs);
    return arrived === undefined || outages === undefined ? response : outages.leave(arrived.epoch, response);
  });
}

/** A write the application checks and keeps nothing of (`dryRun=All`, Cheops's check before sharing). */
function isDryRun(request: Request): boolean {
  return new URL(request.url).searchParams.getAll('dryRun').some((value) => value !== '');
}

async function record(request: Request, response: Response, issuedAtMs: number, deps: ObservedAppDeps): Promise<void> {
  const { pathname } = new URL(request.url);
  const answered = await response
    .clone()
    .json()
    .catch(() => undefined);
  const parsed = appKeyOfPath(pathname, answered);
  deps.log.record({
    atMs: deps.elapsedMs(),
    issuedAtMs,
    site: deps.site,
    incarnation: deps.incarnation,
    method: request.method,
    path: pathname,
    key: parsed?.key,
    subresource: parsed?.subresource,
    status: response.status,
    marker: response.status < 300 ? markerOf(answered) : undefined,
    source: request.headers.has('user-agent') ? 'client' : 'node',
  });
}
