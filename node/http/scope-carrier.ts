/**
 * Where a request's scope comes from: the `X-Cheops-Scope` header, or a `/scope/<scope>/` prefix
 * of the path (a plain `kubectl --server http://site/scope/%7BSite1%7D/` keeps that prefix on
 * every call). This module only finds and removes the carrier; scope/ parses the text.
 */
import { CheopsError, ErrorCode } from '../../core/index.js';
import { badRequest } from './errors.js';

/** The request header that carries a scope. */
export const scopeHeader = 'x-cheops-scope';

const pathPrefix = '/scope/';

/** How a scope reached the front. */
export type ScopeCarrierKind = 'header' | 'path';

/** A scope found on a request, before parsing. */
export interface ScopeSource {
  /** The scope text, percent-decoded when it came in the path. */
  readonly text: string;
  readonly carrier: ScopeCarrierKind;
}

/** The request target with any scope carrier removed, and the scope it carried. */
export interface CarriedScope {
  /** Path and query to forward (`/api/v1/pods?watch=true`), the prefix removed. */
  readonly url: string;
  readonly source: ScopeSource | undefined;
}

export type CarrierResult =
  | { readonly ok: true; readonly value: CarriedScope }
  | { readonly ok: false; readonly error: CheopsError };

/**
 * Finds the scope of a request. `url` is the raw request target; `header` the value(s) of
 * `X-Cheops-Scope`. The path prefix ends at the next `/` or `?`; `/scope/{Site1}` alone means `/`.
 * A scope given in both places must be the same text, otherwise the request is ambiguous and
 * refused rather than guessed at.
 */
export function readScopeCarrier(url: string, header: string | string[] | undefined): CarrierResult {
  const fromHeader = headerScope(header);
  if (!fromHeader.ok) return fromHeader;
  if (!url.startsWith(pathPrefix)) {
    return { ok: true, value: { url, source: fromHeader.value } };
  }
  const fromPath = pathScope(url);
  if (!fromPath.ok) return fromPath;
  const { text, rest } = fromPath.value;
  if (fromHeader.value !== undefined && fromHeader.value.text.trim() !== text.trim()) {
    return {
      ok: false,
      error: new CheopsError(
        ErrorCode.ScopeInvalid,
        `two different scopes: ${JSON.stringify(text)} in the path and ${JSON.stringify(fromHeader.value.text)} in the X-Cheops-Scope header`,
      ),
    };
  }
  return { ok: true, value: { url: rest, source: { text, carrier: 'path' } } };
}

type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: CheopsError };

function headerScope(header: string | string[] | undefined): Result<ScopeSource | undefined> {
  if (header === undefined) return { ok: true, value: undefined };
  if (Array.isArray(header)) {
    if (header.length !== 1) {
      return {
        ok: false,
        error: new CheopsError(ErrorCode.ScopeInvalid, 'the X-Cheops-Scope header is given more than once'),
      };
    }
    return { ok: true, value: { text: header[0] ?? '', carrier: 'header' } };
  }
  return { ok: true, value: { text: header, carrier: 'header' } };
}

function pathScope(url: string): Result<{ text: string; rest: string }> {
  let end = url.length;
  const slash = url.indexOf('/', pathPrefix.length);
  const question = url.indexOf('?', pathPrefix.length);
  if (slash !== -1) end = slash;
  if (question !== -1 && question < end) end = question;
  const encoded = url.slice(pathPrefix.length, end);
  let rest = url.slice(end);
  if (rest === '' || rest.startsWith('?')) rest = `/${rest}`;
  try {
    return { ok: true, value: { text: decodeURIComponent(encoded), rest } };
  } catch (cause) {
    return {
      ok: false,
      error: badRequest(`the scope in the path is not valid percent-encoding: ${JSON.stringify(encoded)}`, {
        cause: String(cause),
      }),
    };
  }
}
