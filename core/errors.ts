/**
 * One error class with stable codes. Messages may change between versions; codes do not.
 * The codes are listed in docs/ERRORS.md, and one place (node/http/errors.ts) maps them to
 * HTTP answers in the application's own format.
 */
export const ErrorCode = {
  /** A scope expression does not parse. */
  ScopeSyntax: 'CHEOPS_SCOPE_SYNTAX',
  /** A scope names a site that is not known. */
  ScopeUnknownSite: 'CHEOPS_SCOPE_UNKNOWN_SITE',
  /** A scope is well formed but cannot be used (for example, a duration of zero). */
  ScopeInvalid: 'CHEOPS_SCOPE_INVALID',
  /** A configuration file or flag has a bad value. */
  ConfigInvalid: 'CHEOPS_CONFIG_INVALID',
  /** A site name is already bound to another peer id. */
  SiteNameTaken: 'CHEOPS_SITE_NAME_TAKEN',
  /** A remote site could not be reached in time. */
  SiteUnreachable: 'CHEOPS_SITE_UNREACHABLE',
  /**
   * A request forwarded to another site may have been applied there, but no answer came back (the
   * connection stalled or broke after the request was sent): retrying it on another site could
   * apply it twice.
   */
  ForwardOutcomeUnknown: 'CHEOPS_FORWARD_OUTCOME_UNKNOWN',
  /** The store failed to read or write. */
  StorageFailure: 'CHEOPS_STORAGE_FAILURE',
  /** The store has been closed. */
  StorageClosed: 'CHEOPS_STORAGE_CLOSED',
  /** A message from a peer could not be decoded or broke a rule. */
  PeerMessageInvalid: 'CHEOPS_PEER_MESSAGE_INVALID',
  /** A peer asked for a document it is not allowed to hold. */
  PeerNotAllowed: 'CHEOPS_PEER_NOT_ALLOWED',
  /** The local application could not be reached. */
  AppUnreachable: 'CHEOPS_APP_UNREACHABLE',
  /** An operation was aborted by its signal or deadline. */
  Aborted: 'CHEOPS_ABORTED',
  /** A component was used before start or after stop. */
  NotRunning: 'CHEOPS_NOT_RUNNING',
  /** An HTTP request the front cannot read (a bad URL, a bad percent-encoding). */
  HttpBadRequest: 'CHEOPS_HTTP_BAD_REQUEST',
  /** No Cheops route answers this method and path. */
  HttpNotFound: 'CHEOPS_HTTP_NOT_FOUND',
  /** A message is larger than the transport carries. */
  MessageTooLarge: 'CHEOPS_MESSAGE_TOO_LARGE',
  /** A document that must exist is not in the store. */
  DocumentNotFound: 'CHEOPS_DOCUMENT_NOT_FOUND',
  /** A document to create is already in the store. */
  DocumentExists: 'CHEOPS_DOCUMENT_EXISTS',
  /** A create under a cross scope names an object another site of the scope holds (each name lives on one site). */
  NameTakenElsewhere: 'CHEOPS_NAME_TAKEN_ELSEWHERE',
  /** A write depends on a resource its scope takes from another site, which that site does not hold. */
  DependencyMissing: 'CHEOPS_DEPENDENCY_MISSING',
  /** A delete of a resource that other resources still rely on, not forced. */
  ReliedUpon: 'CHEOPS_RELIED_UPON',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface CheopsErrorOptions {
  readonly cause?: unknown;
  /** Machine-readable facts about the failure (a column, the known sites, …). */
  readonly details?: Readonly<Record<string, unknown>>;
}

export class CheopsError extends Error {
  override readonly name = 'CheopsError';
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: CheopsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isCheopsError(error: unknown, code?: ErrorCode): error is CheopsError {
  return error instanceof CheopsError && (code === undefined || error.code === code);
}

/** The message of anything thrown, for logs and error answers. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
