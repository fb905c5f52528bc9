/**
 * Turns a parser failure (an offset and the expectations merged there) into the CHEOPS_SCOPE_SYNTAX
 * error users see: the column, what was expected, and what was found instead.
 */
import { CheopsError, ErrorCode } from '../core/errors.js';
import { Expected, decodeMarker, maxNestingDepth, type SyntaxMarker } from './grammar.js';
import { describePosition, isMultiline, positionAt } from './position.js';

// Closers first: after a complete location they are what the user most likely meant.
const expectationOrder: readonly string[] = [
  `'}'`,
  `')'`,
  `','`,
  `':'`,
  `'&'`,
  `'%'`,
  `'||'`,
  `'{'`,
  `'('`,
  Expected.siteName,
  Expected.serviceName,
  Expected.duration,
  `'ms'`,
  `'s'`,
  Expected.endOfInput,
];

function rank(expectation: string): number {
  const index = expectationOrder.indexOf(expectation);
  return index === -1 ? expectationOrder.length : index;
}

/** Expectations deduplicated, in a stable order that reads well. */
export function orderExpectations(expected: readonly string[]): string[] {
  return [...new Set(expected)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The token at `offset`, as the user wrote it: a whole word, a run of operator characters, or one
 * other character; undefined at the end of the input.
 */
export function foundAt(source: string, offset: number): string | undefined {
  if (offset >= source.length) return undefined;
  const rest = source.slice(offset);
  const match = /^(?:[A-Za-z0-9][A-Za-z0-9_.-]*|[&|%]+)/.exec(rest);
  if (match !== null) return match[0];
  return String.fromCodePoint(rest.codePointAt(0) ?? 0);
}

/** A found token quoted for a message; control characters are escaped so the message stays one line. */
function quoteFound(found: string | undefined): string {
  if (found === undefined) return Expected.endOfInput;
  return `'${JSON.stringify(found).slice(1, -1)}'`;
}

function describeExpected(expected: readonly string[]): string {
  if (expected.length === 0) return 'expected nothing more';
  if (expected.length === 1) return `expected ${expected[0] ?? ''}`;
  return `expected one of ${expected.join(', ')}`;
}

function describeMarker(marker: SyntaxMarker): string {
  if (marker.type === 'mixing') return `mixing '${marker.first}' and '${marker.second}' needs parentheses`;
  return `parentheses nest deeper than ${maxNestingDepth} levels`;
}

/** The CHEOPS_SCOPE_SYNTAX error for a failure at `offset` in `source`. */
export function syntaxError(source: string, offset: number, rawExpected: readonly string[]): CheopsError {
  const position = positionAt(source, offset);
  const markers: SyntaxMarker[] = [];
  const plain: string[] = [];
  for (const expectation of rawExpected) {
    const marker = decodeMarker(expectation);
    if (marker === undefined) plain.push(expectation);
    else markers.push(marker);
  }
  // Mixing stopped the parser before it tried anything else there; the same operator would do.
  for (const marker of markers) if (marker.type === 'mixing') plain.push(`'${marker.first}'`);
  const expected = orderExpectations(plain);
  const found = foundAt(source, offset);
  const first = markers[0];
  const problem =
    first === undefined ? `${describeExpected(expected)}, got ${quoteFound(found)}` : describeMarker(first);
  return new CheopsError(
    ErrorCode.ScopeSyntax,
    `scope syntax error at ${describePosition(position, isMultiline(source))}: ${problem}`,
    {
      details: {
        line: position.line,
        column: position.column,
        offset,
        expected,
        found: found ?? Expected.endOfInput,
        source,
      },
    },
  );
}
