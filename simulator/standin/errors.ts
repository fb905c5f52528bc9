/**
 * Kubernetes API errors: each becomes a `Status` object with the code, reason, message and details
 * a real API server sends, so that kubectl prints its usual `Error from server (NotFound): …`.
 */
import type { JsonObject } from './json.js';

/** A `StatusCause` of an Invalid error: one field and what is wrong with it. */
export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

/** The reasons of metav1.StatusReason that the stand-in uses. */
export const StatusReason = {
  NotFound: 'NotFound',
  AlreadyExists: 'AlreadyExists',
  Conflict: 'Conflict',
  Invalid: 'Invalid',
  BadRequest: 'BadRequest',
  MethodNotAllowed: 'MethodNotAllowed',
  UnsupportedMediaType: 'UnsupportedMediaType',
  NotAcceptable: 'NotAcceptable',
  Forbidden: 'Forbidden',
  Expired: 'Expired',
  Gone: 'Gone',
  InternalError: 'InternalError',
  ServiceUnavailable: 'ServiceUnavailable',
} as const;

export type StatusReason = (typeof StatusReason)[keyof typeof StatusReason];

/** An error answered as a Kubernetes `Status`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  /** The `Status` object of this error. */
  toStatus(): JsonObject {
    const status: JsonObject = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
    };
    if (this.details !== undefined) status.details = detailsJson(this.details);
    status.code = this.code;
    return status;
  }
}

function detailsJson(details: StatusDetails): JsonObject {
  const json: JsonObject = {};
  if (details.name !== undefined) json.name = details.name;
  if (details.group !== undefined) json.group = details.group;
  if (details.kind !== undefined) json.kind = details.kind;
  if (details.causes !== undefined) json.causes = details.causes.map((cause) => ({ ...cause }));
  if (details.retryAfterSeconds !== undefined) json.retryAfterSeconds = details.retryAfterSeconds;
  return json;
}

/** What a resource is called in messages: `pods`, `deployments.apps`. */
export interface Qualified {
  readonly group: string;
  readonly plural: string;
}

function qualifiedName(resource: Qualified): string {
  return resource.group === '' ? resource.plural : `${resource.plural}.${resource.group}`;
}

/** 404 `pods "x" not found`. */
export function notFound(resource: Qualified, name: string): ApiError {
  return new ApiError(404, StatusReason.NotFound, `${qualifiedName(resource)} "${name}" not found`, {
    name,
    ...(resource.group === '' ? {} : { group: resource.group }),
    kind: resource.plural,
  });
}

/** 409 `pods "x" already exists`. */
export function alreadyExists(resource: Qualified, name: string): ApiError {
  return new ApiError(409, StatusReason.AlreadyExists, `${qualifiedName(resource)} "${name}" already exists`, {
    name,
    ...(resource.group === '' ? {} : { group: resource.group }),
    kind: resource.plural,
  });
}

/** 409 Conflict: the object changed since the client read it. */
export function conflict(resource: Qualified, name: string, why: string): ApiError {
  return new ApiError(
    409,
    StatusReason.Conflict,
    `Operation cannot be fulfilled on ${qualifiedName(resource)} "${name}": ${why}`,
    { name, ...(resource.group === '' ? {} : { group: resource.group }), kind: resource.plural },
  );
}

/** 422 `Pod "x" is invalid: spec.containers: Required value`; the kind qualified by its group as the API server's GroupKind prints it (`PatchOptions.meta.k8s.io`). */
export function invalid(group: string, kind: string, name: string, causes: readonly StatusCause[]): ApiError {
  const listed = causes.map((cause) => `${cause.field}: ${cause.message}`);
  const summary = listed.length === 1 ? (listed[0] ?? '') : `[${listed.join(', ')}]`;
  return new ApiError(422, StatusReason.Invalid, `${group === '' ? kind : `${kind}.${group}`} "${name}" is invalid: ${summary}`, {
    name,
    ...(group === '' ? {} : { group }),
    kind,
    causes,
  });
}

/** 400 BadRequest. */
export function badRequest(message: string): ApiError {
  return new ApiError(400, StatusReason.BadRequest, message);
}

/** 403 Forbidden with the wording of admission errors. */
export function forbidden(resource: Qualified, name: string, why: string): ApiError {
  const subject = name === '' ? qualifiedName(resource) : `${qualifiedName(resource)} "${name}"`;
  return new ApiError(403, StatusReason.Forbidden, `${subject} is forbidden: ${why}`, {
    ...(name === '' ? {} : { name }),
    ...(resource.group === '' ? {} : { group: resource.group }),
    kind: resource.plural,
  });
}

/** 405 for a verb the resource does not support. */
export function methodNotAllowed(resource?: Qualified): ApiError {
  const details = resource === undefined ? {} : { ...(resource.group === '' ? {} : { group: resource.group }), kind: resource.plural };
  return new ApiError(405, StatusReason.MethodNotAllowed, 'the server does not allow this method on the requested resource', details);
}

/** 415 for a body in a format the endpoint does not accept. */
export function unsupportedMediaType(accepted: readonly string[]): ApiError {
  return new ApiError(
    415,
    StatusReason.UnsupportedMediaType,
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );
}

/** 406 when no acceptable response format exists. */
export function notAcceptable(message: string): ApiError {
  return new ApiError(406, StatusReason.NotAcceptable, message);
}

/** 410 Expired: a watch or continue token that is too old. */
export function expired(message: string): ApiError {
  return new ApiError(410, StatusReason.Expired, message);
}

/** 404 for a path the server does not serve. */
export function pathNotFound(): ApiError {
  return new ApiError(404, StatusReason.NotFound, 'the server could not find the requested resource');
}

/** 500 for a failure of the server itself. */
export function internalError(message: string): ApiError {
  return new ApiError(500, StatusReason.InternalError, `Internal error occurred: ${message}`, {
    causes: [{ reason: 'UnexpectedServerResponse', message, field: '' }],
  });
}
