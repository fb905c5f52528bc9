/**
 * HTTP plumbing of the replication engine: the Cheops headers, requests built from an intercepted
 * call, and answers relayed back to the client. Everything here is buffered (replication reads
 * the bodies it acts on, so there is nothing left to stream), but another site's answer to a read
 * (`relayStream`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { CheopsError, ErrorCode } from '../../core/index.js';
import type { ResourceKey, SiteName } from '../../core/ids.js';
import { wholeResponse } from '../http/index.js';
import type { LocalAnswer } from '../local-app.js';
import { ReplicaStatus, replicaSettled, type Replicant } from '../../crdt/replicant.js';

/** Headers Cheops reads or writes (lower case, as node parses them). */
export const CheopsHeader = {
  Scope: 'x-cheops-scope',
  MetaId: 'x-cheops-meta-id',
  Replicas: 'x-cheops-replicas',
  Wait: 'x-cheops-wait',
  WaitTimeout: 'x-cheops-wait-timeout',
  ForwardedTo: 'x-cheops-forwarded-to',
  ForwardedFrom: 'x-cheops-forwarded-from',
  /** On the answer to a write forwarded here: the replicant's heads after it (sent-on.ts). */
  Heads: 'x-cheops-heads',
  /** `dependent`: a reliance check looking for an object (creating.ts). */
  Probe: 'x-cheops-probe',
} as const;

/** Hop-by-hop headers (RFC 9110 §7.6.1), plus those the HTTP client sets itself. */
const hopByHop = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'expect', 'host', 'content-length',
]);

/**
 * Response headers never relayed: hop-by-hop ones, and `content-encoding` / `content-length`
 * because the body we hold is the decoded one (undici's fetch decompresses).
 */
const droppedResponseHeaders = new Set([...hopByHop, 'content-encoding']);

/** The headers of an intercepted request, for a new request: hop-by-hop ones and Cheops' own left out. */
export function requestHeaders(incoming: IncomingHttpHeaders, keepCheops: readonly string[] = []): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || hopByHop.has(name)) continue;
    if (name.startsWith('x-cheops-') && !keepCheops.includes(name)) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}

/** An application's answer, read whole. */
export type BufferedAnswer = LocalAnswer;

/** The answer's body as JSON when it says it is JSON, else undefined. */
export function answerJson(answer: BufferedAnswer): unknown {
  const type = answer.headers.get('content-type') ?? '';
  if (!/^application\/(.+\+)?json\b/i.test(type.trim())) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(answer.body));
  } catch {
    return undefined;
  }
}

/** The headers of an answer to relay, with `extra` appended. */
function relayedHeaders(answer: Headers, extra: ReadonlyArray<readonly [string, string]>): Headers {
  const headers = new Headers();
  answer.forEach((value, name) => {
    if (!droppedResponseHeaders.has(name) && name !== 'set-cookie') headers.append(name, value);
  });
  for (const cookie of answer.getSetCookie()) headers.append('set-cookie', cookie);
  for (const [name, value] of extra) headers.append(name, value);
  return headers;
}

/** `answer` as a web Response for the client, with `extra` headers appended. */
export function relay(answer: BufferedAnswer, extra: ReadonlyArray<readonly [string, string]> = []): Response {
  const headers = relayedHeaders(answer.headers, extra);
  const empty = answer.status === 204 || answer.status === 304 || answer.body.length === 0;
  // Its length known, the front sends the answer in one piece rather than chunked.
  if (!empty) headers.set('content-length', String(answer.body.length));
  return wholeResponse(empty ? null : answer.body, { status: answer.status, statusText: answer.statusText, headers });
}

/**
 * Another site's answer as a web Response for the client, its body streamed as it comes (a watch
 * never ends), with `extra` headers appended. The exception to "everything here is buffered".
 */
export function relayStream(answer: Response, extra: ReadonlyArray<readonly [string, string]> = []): Response {
  const headers = relayedHeaders(answer.headers, extra);
  const bodiless = answer.status === 204 || answer.status === 205 || answer.status === 304;
  if (bodiless) void answer.body?.cancel().catch(() => undefined);
  return new Response(bodiless ? null : answer.body, { status: answer.status, statusText: answer.statusText, headers });
}

/** A resource as messages name it: `pods default/purple`. */
export function describeKey(key: ResourceKey): string {
  return `${key.service} ${key.namespace === undefined ? '' : `${key.namespace}/`}${key.name}`;
}

/** A `Warning` header value (RFC 7234 §5.5, code 299: a persistent warning), as kubectl prints it. */
export function warning(text: string): readonly [string, string] {
  return ['warning', `299 cheops "${headerText(text, 500)}"`];
}

/** `text` made safe inside a quoted header value: printable ASCII, no quotes or backslashes, bounded. */
export function headerText(text: string, maxLength: number): string {
   
  const clean = text.replace(/[^\x20-\x7e]/g, ' ').replace(/["\\]/g, "'");
  return clean.length > maxLength ? `${clean.slice(0, maxLength - 3)}...` : clean;
}

/** What `X-Cheops-Wait` asks. */
export interface WaitRequest {
  /** True for `X-Cheops-Wait: all`. */
  readonly all: boolean;
  readonly timeoutMs: number;
}

/** Parses `X-Cheops-Wait` and `X-Cheops-Wait-Timeout`; a value it does not understand is a 400. */
export function parseWait(headers: IncomingHttpHeaders, defaultMs: number, maxMs: number): WaitRequest {
  const wait = firstValue(headers[CheopsHeader.Wait]);
  const timeout = firstValue(headers[CheopsHeader.WaitTimeout]);
  if (wait === undefined) return { all: false, timeoutMs: defaultMs };
  if (wait.trim().toLowerCase() !== 'all') {
    throw new CheopsError(ErrorCode.HttpBadRequest, `X-Cheops-Wait must be 'all', got ${JSON.stringify(wait)}`);
  }
  if (timeout === undefined) return { all: true, timeoutMs: defaultMs };
  const ms = parseDurationMs(timeout);
  if (ms === undefined || ms <= 0 || ms > maxMs) {
    throw new CheopsError(
      ErrorCode.HttpBadRequest,
      `X-Cheops-Wait-Timeout must be a duration such as 10s or 500ms, at most ${maxMs / 1000}s; got ${JSON.stringify(timeout)}`,
    );
  }
  return { all: true, timeoutMs: ms };
}

/** A header's first value, as node:http hands it (a string, or an array when repeated). */
export function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The site that forwarded `call` here (`X-Cheops-Forwarded-From`), if one did. */
export function forwardedFrom(call: { readonly headers: Readonly<Record<string, string | string[] | undefined>> }): string | undefined {
  return firstValue(call.headers[CheopsHeader.ForwardedFrom]);
}

/** `500ms`, `10s`, `2m`, or a bare number of seconds, in milliseconds. */
export function parseDurationMs(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text);
  if (match === null) return undefined;
  const amount = Number(match[1]);
  const unit = match[2] ?? 's';
  return unit === 'ms' ? amount : unit === 's' ? amount * 1000 : amount * 60_000;
}

/** Each site's outcome of one revision, for `X-Cheops-Replicas`. */
export function replicaOutcome(replicant: Replicant, site: SiteName, revision: string, generation: number): ReplicaStatus {
  if (!replicaSettled(replicant, site, revision, generation)) return ReplicaStatus.Pending;
  return replicant.replicas[site]?.status ?? ReplicaStatus.Pending;
}

/**
 * `X-Cheops-Replicas`: `Site1=applied, Site2=pending`; a failed site carries its error as a quoted
 * parameter, `Site2=failed;error="namespaces \"x\" not found"` (quotes turned to apostrophes).
 */
export function replicasHeader(replicant: Replicant, revision: string, generation: number): string {
  return replicant.meta.sites
    .map((site) => {
      const outcome = replicaOutcome(replicant, site, revision, generation);
      const error = replicant.replicas[site]?.error;
      return outcome === ReplicaStatus.Failed && error !== undefined ? `${site}=failed;error="${headerText(error, 300)}"` : `${site}=${outcome}`;
    })
    .join(', ');
}

/** `X-Cheops-Replicas` of a write applied here and not stored yet (answered first): `self` applied, the other sites pending. */
export function appliedHereHeader(sites: readonly SiteName[], self: SiteName): string {
  return sites.map((site) => `${site}=${site === self ? ReplicaStatus.Applied : ReplicaStatus.Pending}`).join(', ');
}

/** A `Warning` per site whose replica failed the revision. */
export function failureWarnings(replicant: Replicant, revision: string, generation: number): Array<readonly [string, string]> {
  return replicant.meta.sites
    .filter((site) => replicaOutcome(replicant, site, revision, generation) === ReplicaStatus.Failed)
    .map((site) => warning(`the replica on ${site} failed: ${replicant.replicas[site]?.error ?? 'unknown error'}`));
}
