/**
 * parseScope: text to AST, or the error to answer with. It never throws: a scope comes straight
 * from a request header, and a bad one is a 400, not a crash.
 */
import { CheopsError, ErrorCode, errorMessage } from '../core/errors.js';
import type { Scope } from './ast.js';
import { checkScope } from './check.js';
import { scopeParser } from './grammar.js';
import { syntaxError } from './syntax-error.js';

/** The outcome of parsing a scope: its AST, or a CHEOPS_SCOPE_SYNTAX / CHEOPS_SCOPE_INVALID error. */
export type ScopeParseResult =
  | { readonly ok: true; readonly scope: Scope }
  | { readonly ok: false; readonly error: CheopsError };

/**
 * Parses a scope such as `{pods: Site1 & Site2, secrets: Site2}`.
 *
 * Syntax errors (CHEOPS_SCOPE_SYNTAX) name the column (and the line, for text on several lines),
 * what was expected and what was found; details are `{ line, column, offset, expected, found,
 * source }`. A well-formed scope that breaks a rule (a service bound twice, two bare locations,
 * a zero duration) is CHEOPS_SCOPE_INVALID with the column of the offending part.
 */
export function parseScope(source: string): ScopeParseResult {
  const known = recentScopes.get(source);
  if (known !== undefined) {
    // Most recently used last: the oldest goes first when the cache is full.
    recentScopes.delete(source);
    recentScopes.set(source, known);
    return known;
  }
  try {
    const result = parseUnsafe(source);
    if (result.ok && source.length <= maxCachedLength) remember(source, result);
    return result;
  } catch (error) {
    // Nothing above should throw; if something does, a request still gets an answer, not a crash.
    return {
      ok: false,
      error: new CheopsError(ErrorCode.ScopeSyntax, `scope could not be parsed: ${errorMessage(error)}`, {
        cause: error,
        details: { line: 1, column: 1, offset: 0, expected: [], found: '', source },
      }),
    };
  }
}

/**
 * Scopes parsed lately, by text. Clients send the same few scopes again and again, and a parse
 * costs ~0.1 ms (parsimmon), about a tenth of what a scoped request adds to the application's
 * own work. The ASTs are read-only, so one can be shared. Refusals are not kept: each carries
 * its own error object.
 */
const recentScopes = new Map<string, ScopeParseResult & { readonly ok: true }>();
const maxCachedScopes = 256;
const maxCachedLength = 1024;

function remember(source: string, result: ScopeParseResult & { readonly ok: true }): void {
  if (recentScopes.size >= maxCachedScopes) {
    const oldest = recentScopes.keys().next();
    if (oldest.done !== true) recentScopes.delete(oldest.value);
  }
  recentScopes.set(source, result);
}

function parseUnsafe(source: string): ScopeParseResult {
  // Parsimmon's .parse() records line numbers in a plain object keyed by the whole input; an
  // input such as "__proto__" would then write onto Object.prototype. Every scope starts with
  // '{' and no inherited property name does, so such inputs are refused before parsimmon sees them.
  const start = /^\s*/.exec(source)?.[0].length ?? 0;
  if (!source.startsWith('{', start)) return { ok: false, error: syntaxError(source, start, [`'{'`]) };
  const result = scopeParser.parse(source);
  if (!result.status) return { ok: false, error: syntaxError(source, result.index.offset, result.expected) };
  const invalid = checkScope(result.value, source);
  if (invalid !== undefined) return { ok: false, error: invalid };
  return { ok: true, scope: result.value };
}
