/**
 * The scope-lang grammar as parsimmon parsers (DESIGN.md section 3). The parsers build the AST
 * with positions; they check syntax only. Rules that need the whole scope (a service bound twice)
 * live in check.ts.
 *
 * Every token parser is described (`.desc`) with what an error message should say was expected:
 * parsimmon merges the descriptions of all the alternatives that failed at the furthest offset,
 * which gives messages like "expected one of '}', ',', '&'".
 */
import Parsimmon from 'parsimmon';
import type { Parser } from 'parsimmon';
import type { SiteName } from '../core/ids.js';
import {
  DurationUnit,
  Operator,
  kindOfOperator,
  type AllBinding,
  type AroundBinding,
  type Binding,
  type Duration,
  type Location,
  type Scope,
  type ServiceBinding,
  type SiteNode,
  type SourcePosition,
} from './ast.js';
import { positionAt } from './position.js';

/** How deep parentheses may nest; deeper would only exhaust the stack of a recursive parser. */
export const maxNestingDepth = 32;

/**
 * Failures that are not "expected X" are carried through parsimmon as expectations with a prefix
 * that no description uses; syntax-error.ts turns them into their own messages.
 */
export type SyntaxMarker =
  | { readonly type: 'mixing'; readonly first: Operator; readonly second: Operator }
  | { readonly type: 'too-deep' };

const markerPrefix = '\u0000';

function encodeMarker(marker: SyntaxMarker): string {
  return marker.type === 'mixing'
    ? `${markerPrefix}mixing ${marker.first} ${marker.second}`
    : `${markerPrefix}too-deep`;
}

/** The marker an expectation carries, if it is one. */
export function decodeMarker(expectation: string): SyntaxMarker | undefined {
  if (!expectation.startsWith(markerPrefix)) return undefined;
  const [type, first, second] = expectation.slice(markerPrefix.length).split(' ');
  if (type === 'mixing' && isOperator(first) && isOperator(second)) return { type, first, second };
  if (type === 'too-deep') return { type };
  return undefined;
}

function isOperator(text: string | undefined): text is Operator {
  return text === Operator.Replication || text === Operator.Cross || text === Operator.Failover;
}

/** The operator that starts at `offset`, if any; `&&` is none (the message then shows `&&`). */
export function operatorAt(input: string, offset: number): Operator | undefined {
  if (input.startsWith('||', offset)) return Operator.Failover;
  if (input.startsWith('%', offset)) return Operator.Cross;
  if (input.startsWith('&', offset) && !input.startsWith('&&', offset)) return Operator.Replication;
  return undefined;
}

/** What the parsers describe, so messages and tests name them the same way. */
export const Expected = {
  siteName: 'site name',
  serviceName: 'service name',
  duration: 'duration',
  endOfInput: 'end of input',
} as const;

const whitespace = Parsimmon.optWhitespace;
/** The position where the next token starts. */
const here: Parser<SourcePosition> = Parsimmon((input, offset) =>
  Parsimmon.makeSuccess(offset, positionAt(input, offset)),
);

function token<T>(parser: Parser<T>): Parser<T> {
  return parser.skip(whitespace);
}

function symbol(text: string): Parser<string> {
  return token(Parsimmon.string(text));
}

const operatorTokens: Readonly<Record<Operator, Parser<Operator>>> = {
  // A lone '&' only: '&&' is a typo worth showing whole, not '&' followed by a stray '&'.
  '&': token(Parsimmon.regexp(/&(?!&)/).map(() => Operator.Replication).desc(`'&'`)),
  '%': token(Parsimmon.string('%').map(() => Operator.Cross)),
  '||': token(Parsimmon.string('||').map(() => Operator.Failover)),
};

const siteNode: Parser<SiteNode> = token(
  Parsimmon.seqMap(
    here,
    // A name longer than a SiteName allows parses here and is refused by check.ts with its column.
    Parsimmon.regexp(/[A-Za-z][A-Za-z0-9_-]*/).desc(Expected.siteName),
    (position, name): SiteNode => ({ kind: 'site', site: name as SiteName, position }),
  ),
);

/** Succeeds unless an operator other than `level` comes next: one operator kind per level. */
function noOtherOperator(level: Operator): Parser<null> {
  return Parsimmon((input, offset) => {
    const next = operatorAt(input, offset);
    if (next === undefined || next === level) return Parsimmon.makeSuccess(offset, null);
    return Parsimmon.makeFailure(offset, encodeMarker({ type: 'mixing', first: level, second: next }));
  });
}

const tooDeep: Parser<never> = Parsimmon<never>((input, offset) =>
  Parsimmon.makeFailure(offset, input.startsWith('(', offset) ? encodeMarker({ type: 'too-deep' }) : `'('`),
);

// One parser per nesting depth, built on first use, so the depth limit is part of the grammar.
const locationsByDepth: Parser<Location>[] = [];

/** `loc ::= term (op term)*` at a nesting depth (0 outside any parentheses). */
function location(depth: number): Parser<Location> {
  const cached = locationsByDepth[depth];
  if (cached !== undefined) return cached;
  const parser = Parsimmon.lazy(() => buildLocation(depth));
  locationsByDepth[depth] = parser;
  return parser;
}

function buildLocation(depth: number): Parser<Location> {
  const term: Parser<Location> = Parsimmon.alt(
    siteNode,
    depth >= maxNestingDepth ? tooDeep : symbol('(').then(location(depth + 1)).skip(symbol(')')),
  );
  const chain = (operator: Operator): Parser<{ operator: Operator; rest: Location[] }> =>
    Parsimmon.seqMap(
      operatorTokens[operator].then(term).atLeast(1),
      noOtherOperator(operator),
      (rest) => ({ operator, rest }),
    );
  const tail = Parsimmon.alt(
    chain(Operator.Replication),
    chain(Operator.Cross),
    chain(Operator.Failover),
    Parsimmon.succeed(undefined),
  );
  return Parsimmon.seqMap(here, term, tail, (position, first, rest): Location => {
    if (rest === undefined) return first;
    return { kind: kindOfOperator[rest.operator], members: [first, ...rest.rest], position };
  });
}

const duration: Parser<Duration> = Parsimmon.seqMap(
  here,
  token(Parsimmon.regexp(/\d+(?:\.\d+)?/).desc(Expected.duration)),
  // The unit must end the word: `50sec` is a wrong unit, not `50s` followed by `ec`.
  token(Parsimmon.regexp(/(?:ms|s)(?![A-Za-z0-9_])/).desc([`'ms'`, `'s'`])),
  (position, amount, unit): Duration => ({
    amount: Number(amount),
    unit: unit === 'ms' ? DurationUnit.Milliseconds : DurationUnit.Seconds,
    position,
  }),
);

// `around` is a keyword only before ':'; elsewhere it is an ordinary site name.
const aroundKeyword = /around(?=\s*:)/;

const aroundBinding: Parser<AroundBinding> = Parsimmon.seqMap(
  here,
  token(Parsimmon.regexp(aroundKeyword).desc(Expected.serviceName)),
  symbol(':'),
  siteNode,
  symbol(','),
  duration,
  (position, _keyword, _colon, site, _comma, radius): AroundBinding => ({
    kind: 'around',
    site,
    duration: radius,
    position,
  }),
);

const serviceBinding: Parser<ServiceBinding> = Parsimmon.seqMap(
  here,
  // The look-ahead keeps `around:` for the keyword, so a failed around binding is not retried
  // as a service called "around".
  token(Parsimmon.regexp(/(?!around\s*:)[A-Za-z][A-Za-z0-9_.-]*/).desc(Expected.serviceName)),
  symbol(':'),
  location(0),
  (position, service, _colon, at): ServiceBinding => ({ kind: 'service', service, location: at, position }),
);

const allBinding: Parser<AllBinding> = Parsimmon.seqMap(
  here,
  location(0),
  (position, at): AllBinding => ({ kind: 'all', location: at, position }),
);

const binding: Parser<Binding> = Parsimmon.alt<Binding>(aroundBinding, serviceBinding, allBinding);

/** `scope ::= '{' binding (',' binding)* '}'`, with white space allowed around every token. */
export const scopeParser: Parser<Scope> = Parsimmon.seqMap(
  whitespace,
  symbol('{'),
  Parsimmon.sepBy1(binding, symbol(',')),
  symbol('}'),
  (_space, _open, bindings): Scope => ({ bindings }),
).skip(Parsimmon.eof.desc(Expected.endOfInput));
