/**
 * The one place that maps Cheops errors to HTTP answers. Answers use the Kubernetes `Status`
 * format because kubectl only shows an error's message when it gets one; other applications'
 * clients still see a JSON body with a message and the status code.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import { CheopsError, ErrorCode, errorMessage, isCheopsError } from '../../core/index.js';

/** A Kubernetes `Status` object describing a failure (meta/v1 Status). */
export interface KubernetesStatus {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Readonly<Record<string, never>>;
  readonly status: 'Failure';
  readonly message: string;
  /** A Kubernetes `StatusReason` (`BadRequest`, `ServiceUnavailable`, …). */
  readonly reason: string;
  readonly code: number;
  /** Extra facts; Cheops puts its stable error code in `details.cheopsCode`. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** What an error becomes on the wire: a status code and a `Status` body. */
export interface HttpError {
  readonly status: number;
  readonly body: KubernetesStatus;
}

interface Mapping {
  readonly status: number;
  readonly reason: string;
}

/**
 * Code → answer. `Partial` on purpose: other modules append codes to core/errors.ts, and a new
 * code must not break their build before it gets a row here; it answers 500 meanwhile, and
 * errors.test.ts fails until the row exists.
 */
export const errorMappings: Readonly<Partial<Record<ErrorCode, Mapping>>> = {
  [ErrorCode.ScopeSyntax]: { status: 400, reason: 'BadRequest' },
  [ErrorCode.ScopeUnknownSite]: { status: 400, reason: 'BadRequest' },
  [ErrorCode.ScopeInvalid]: { status: 400, reason: 'BadRequest' },
  [ErrorCode.ConfigInvalid]: { status: 500, reason: 'InternalError' },
  [ErrorCode.SiteNameTaken]: { status: 409, reason: 'AlreadyExists' },
  [ErrorCode.SiteUnreachable]: { status: 503, reason: 'ServiceUnavailable' },
  // Kubernetes' own answer when a write may still be under way: kubectl prints that it may still be processed.
  [ErrorCode.ForwardOutcomeUnknown]: { status: 504, reason: 'Timeout' },
  [ErrorCode.StorageFailure]: { status: 500, reason: 'InternalError' },
  [ErrorCode.StorageClosed]: { status: 503, reason: 'ServiceUnavailable' },
  [ErrorCode.PeerMessageInvalid]: { status: 400, reason: 'BadRequest' },
  [ErrorCode.PeerNotAllowed]: { status: 403, reason: 'Forbidden' },
  [ErrorCode.AppUnreachable]: { status: 503, reason: 'ServiceUnavailable' },
  [ErrorCode.Aborted]: { status: 504, reason: 'Timeout' },
  [ErrorCode.NotRunning]: { status: 503, reason: 'ServiceUnavailable' },
  [ErrorCode.HttpBadRequest]: { status: 400, reason: 'BadRequest' },
  [ErrorCode.HttpNotFound]: { status: 404, reason: 'NotFound' },
  // Peer-to-peer and store failures reach HTTP only through the admin API or an engine answer.
  [ErrorCode.MessageTooLarge]: { status: 500, reason: 'InternalError' },
  [ErrorCode.DocumentNotFound]: { status: 404, reason: 'NotFound' },
  [ErrorCode.DocumentExists]: { status: 409, reason: 'AlreadyExists' },
  [ErrorCode.NameTakenElsewhere]: { status: 409, reason: 'AlreadyExists' },
  [ErrorCode.DependencyMissing]: { status: 409, reason: 'Conflict' },
  [ErrorCode.ReliedUpon]: { status: 409, reason: 'Conflict' },
};

const internalError: Mapping = { status: 500, reason: 'InternalError' };

/** Builds a `Status` failure body. */
export function kubernetesStatus(
  code: number,
  reason: string,
  message: string,
  details?: Readonly<Record<string, unknown>>,
): KubernetesStatus {
  const base = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code } as const;
  return details === undefined ? base : { ...base, details };
}

/**
 * Maps anything thrown to its HTTP answer. A CheopsError keeps its message and exposes its code
 * and details; anything else is an internal error whose message is still shown, because the
 * operator reading kubectl's output has nothing else to go on.
 */
export function toHttpError(error: unknown): HttpError {
  if (!isCheopsError(error)) {
    return {
      status: internalError.status,
      body: kubernetesStatus(internalError.status, internalError.reason, `internal error: ${errorMessage(error)}`),
    };
  }
  const mapping = errorMappings[error.code] ?? internalError;
  const details = { cheopsCode: error.code, ...error.details };
  return { status: mapping.status, body: kubernetesStatus(mapping.status, mapping.reason, error.message, details) };
}

/**
 * How loudly to log a request that failed with `error`: a known condition a client is told about
 * (a site out of reach under partition, a bad request: 4xx, 503, 504) is a warning; an internal
 * error (500) is an error.
 */
export function failureLogLevel(error: unknown): 'warn' | 'error' {
  return toHttpError(error).status === 500 ? 'error' : 'warn';
}

/** The answer for `error` as a web Response (Hono routes, the interceptor). */
export function errorResponse(error: unknown): Response {
  const { status, body } = toHttpError(error);
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/**
 * Writes the answer for `error` on a node response. Once headers are out, a status can no longer
 * be sent: the response is cut instead, so the client sees a truncated answer, not a wrong one.
 */
export function writeError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy(error instanceof Error ? error : new Error(errorMessage(error)));
    return;
  }
  // Headers of a failed answer may have been set already (an application answer whose headers
  // node refused): none of them describes this one.
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  const { status, body } = toHttpError(error);
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** Shorthand for the front's own 400s (a bad request line, a scope given twice). */
export function badRequest(message: string, details?: Readonly<Record<string, unknown>>): CheopsError {
  return new CheopsError(ErrorCode.HttpBadRequest, message, details === undefined ? {} : { details });
}

/**
 * A refusal at the protocol level (431 for an oversized head, 501 for an unknown transfer
 * coding, 505 for an HTTP version…), for the raw path that answers before any routing.
 */
export function protocolError(status: number, message: string): HttpError {
  const reason = status === 408 ? 'Timeout' : status >= 500 ? 'InternalError' : 'BadRequest';
  return { status, body: kubernetesStatus(status, reason, message) };
}

/**
 * `error` as a whole HTTP/1.1 response, bytes ready for a socket (the raw path has no
 * ServerResponse). `close` adds `Connection: close`: the connection ends after it.
 */
export function httpErrorBytes(error: HttpError, close: boolean): Buffer {
  const text = JSON.stringify(error.body);
  const head =
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n` +
    `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\ncache-control: no-store\r\n` +
    (close ? 'connection: close\r\n\r\n' : '\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(text, 'utf8')]);
}
