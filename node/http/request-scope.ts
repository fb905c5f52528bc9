/**
 * A request's scope, found (scope-carrier.ts), removed from its target and parsed (scope/),
 * with the front's log lines about it. Shared by the node:http router and `Front.fetch`, so that
 * both answer a bad scope with the same 400 and log it the same way.
 */
import { CheopsError, type Logger } from '../../core/index.js';
import { parseScope } from '../../scope/index.js';
import type { RequestScope } from './interceptor.js';
import { readScopeCarrier, type ScopeSource } from './scope-carrier.js';

/** The target to forward (carrier removed) and its parsed scope, or why the request is refused. */
export type ScopeOutcome =
  | { readonly ok: true; readonly url: string; readonly scope: RequestScope | undefined }
  | { readonly ok: false; readonly error: CheopsError };

/**
 * Requests a scope cannot change (an application's discovery, its version): a malformed scope on
 * them is logged and ignored instead of refused. kubectl sends discovery requests through the same
 * `/scope/…/` server URL as the call itself, and prints a refused discovery only as "the server
 * rejected our request for an unknown reason": letting discovery through makes kubectl show the
 * 400, column and all, on the call that carries the scope.
 */
export type ScopeFreeFilter = (method: string, path: string) => boolean;

/** Reads the scope of a request for `target` whose `X-Cheops-Scope` header is `header`. */
export function resolveScope(
  method: string,
  target: string,
  header: string | string[] | undefined,
  logger: Logger,
  scopeFree?: ScopeFreeFilter,
): ScopeOutcome {
  const carried = readScopeCarrier(target, header);
  if (!carried.ok) {
    logger.info({ method, url: target, error: carried.error.message }, 'bad scope carrier');
    return carried;
  }
  const { url, source } = carried.value;
  if (source === undefined) return { ok: true, url, scope: undefined };
  const parsed = parseScope(source.text);
  if (!parsed.ok) {
    if (scopeFree?.(method, pathOf(url)) === true) {
      logger.debug({ method, url, scope: source.text }, 'malformed scope ignored on a request no scope applies to');
      return { ok: true, url, scope: undefined };
    }
    const error = scopeError(parsed.error, source);
    logger.info({ method, url: target, scope: source.text, error: error.message }, 'malformed scope');
    return { ok: false, error };
  }
  logger.info({ method, url, scope: source.text, carrier: source.carrier }, 'scoped request');
  return { ok: true, url, scope: { text: source.text, scope: parsed.scope, carrier: source.carrier } };
}

/** The path part of a target (`/api/v1/pods` of `/api/v1/pods?watch=1`). */
export function pathOf(target: string): string {
  const question = target.indexOf('?');
  return question === -1 ? target : target.slice(0, question);
}

/**
 * The parser's error, with the carrier and the text in the message so that the user sees what
 * was read, and the column guaranteed to be named (kubectl shows only the message).
 */
function scopeError(error: CheopsError, source: ScopeSource): CheopsError {
  const where = source.carrier === 'header' ? 'the X-Cheops-Scope header' : 'the /scope/ path prefix';
  const column = error.details['column'];
  let message = `invalid scope ${JSON.stringify(source.text)} in ${where}: ${error.message}`;
  if (typeof column === 'number' && !error.message.includes(`column ${column}`)) message += ` (at column ${column})`;
  return new CheopsError(error.code, message, {
    cause: error,
    details: { ...error.details, scope: source.text, carrier: source.carrier },
  });
}
