import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../core/errors.js';
import { asSiteName } from '../core/ids.js';
import {
  scopeSiteNodes,
  type Binding,
  type Duration,
  type GroupNode,
  type Location,
  type Scope,
  type SiteNode,
  type SourcePosition,
} from './ast.js';
import { parseScope } from './parse.js';
import { printScope } from './print.js';

// Generated trees carry a dummy position; comparisons strip positions.
const at: SourcePosition = { offset: 0, line: 1, column: 1 };

function shape(scope: Scope): unknown {
  return JSON.parse(JSON.stringify(scope, (key, value: unknown) => (key === 'position' ? undefined : value)));
}

const siteName = fc.oneof(
  fc.constantFrom('Site1', 'Site2', 'Site3', 'around', 'edge-1', 'a_b'),
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,8}$/),
);
// A service called exactly "around" cannot be written: `around:` is the keyword.
const serviceName = fc
  .oneof(
    fc.constantFrom('pods', 'secrets', 'deployments.apps', 'compute', 'image', 'arounds'),
    fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,10}$/),
  )
  .filter((name) => name !== 'around');

const siteNode: fc.Arbitrary<SiteNode> = siteName.map((name) => ({ kind: 'site', site: asSiteName(name), position: at }));

const { location } = fc.letrec<{ location: Location; group: GroupNode }>((tie) => ({
  group: fc.record({
    kind: fc.constantFrom('replication' as const, 'cross' as const, 'failover' as const),
    members: fc.array(tie('location'), { minLength: 2, maxLength: 4 }),
    position: fc.constant(at),
  }),
  location: fc.oneof({ depthSize: 'small', maxDepth: 4 }, siteNode, tie('group')),
}));

// Hundredths, so both whole and fractional amounts occur; all within the accepted 1µs..1h.
const duration: fc.Arbitrary<Duration> = fc.record({
  amount: fc.oneof(fc.integer({ min: 1, max: 3600 }), fc.integer({ min: 1, max: 360_000 }).map((n) => n / 100)),
  unit: fc.constantFrom('ms' as const, 's' as const),
  position: fc.constant(at),
});

const scopeArbitrary: fc.Arbitrary<Scope> = fc
  .record({
    services: fc.uniqueArray(fc.record({ service: serviceName, location }), {
      selector: (binding) => binding.service,
      maxLength: 4,
    }),
    all: fc.option(location, { nil: undefined }),
    around: fc.option(fc.record({ site: siteNode, duration }), { nil: undefined }),
  })
  .map(({ services, all, around }): Binding[] => [
    ...services.map((binding): Binding => ({ kind: 'service', ...binding, position: at })),
    ...(all === undefined ? [] : [{ kind: 'all' as const, location: all, position: at }]),
    ...(around === undefined ? [] : [{ kind: 'around' as const, ...around, position: at }]),
  ])
  .filter((bindings) => bindings.length > 0)
  .chain((bindings) => fc.shuffledSubarray(bindings, { minLength: bindings.length, maxLength: bindings.length }))
  .map((bindings) => ({ bindings }));

/** Line and column of an offset, computed the plain way, to check the parser's positions. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text[i] === '\n' || (text[i] === '\r' && text[i + 1] !== '\n')) {
      line += 1;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** The canonical text re-spaced: any white space (or none) between tokens. */
const respaced = (text: string): fc.Arbitrary<string> => {
  const tokens = text.match(/\|\||[{}(),:&%]|[A-Za-z0-9_.-]+/g) ?? [];
  const gap = fc.constantFrom('', ' ', '  ', '\t', '\n', '\r\n', '\n  ');
  return fc
    .array(gap, { minLength: tokens.length + 1, maxLength: tokens.length + 1 })
    .map((gaps) => tokens.map((token, i) => `${gaps[i] ?? ''}${token}`).join('') + (gaps[tokens.length] ?? ''));
};

/** A failed parse is well formed: a known code, and a position inside the input (or just past it). */
function expectWellFormedFailure(source: string): void {
  const result = parseScope(source);
  if (result.ok) return;
  const { code, details } = result.error;
  expect([ErrorCode.ScopeSyntax, ErrorCode.ScopeInvalid]).toContain(code);
  const { column, line, offset } = details as { column: number; line: number; offset: number };
  expect(column).toBeGreaterThanOrEqual(1);
  expect(column).toBeLessThanOrEqual(source.length + 1);
  expect(offset).toBeLessThanOrEqual(source.length);
  expect({ line, column }).toEqual(lineColumn(source, offset));
  expect(result.error.message).toContain(`column ${column}`);
  if (code === ErrorCode.ScopeSyntax) expect(Array.isArray(details['expected'])).toBe(true);
}

// Generous: these run thousands of parses, and CI machines are shared.
describe('scope-lang properties', { timeout: 60_000 }, () => {
  it('parse(print(ast)) gives the ast back', () => {
    fc.assert(
      fc.property(scopeArbitrary, (scope) => {
        const result = parseScope(printScope(scope));
        expect(result.ok ? shape(result.scope) : result.error.message).toEqual(shape(scope));
      }),
      { numRuns: 500 },
    );
  });

  it('white space between tokens changes nothing, and positions point at the text', () => {
    const respacedScope = scopeArbitrary.chain((scope) =>
      respaced(printScope(scope)).map((source) => ({ scope, source })),
    );
    fc.assert(
      fc.property(respacedScope, ({ scope, source }) => {
        const result = parseScope(source);
        if (!result.ok) throw new Error(`${JSON.stringify(source)}: ${result.error.message}`);
        expect(shape(result.scope)).toEqual(shape(scope));
        for (const node of scopeSiteNodes(result.scope)) {
          expect(source.startsWith(node.site, node.position.offset)).toBe(true);
          expect({ line: node.position.line, column: node.position.column }).toEqual(
            lineColumn(source, node.position.offset),
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary text, and a failure names a column inside it', () => {
    const alphabet = fc.constantFrom(
      '{', '}', '(', ')', ',', ':', '&', '%', '|', '||', ' ', '\n', '\r', 'A', 'b', '1', '0',
      'around', 'ms', 's', '.', '-', '_', 'Site1', 'pods', '\u0000', '😀',
    );
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.string({ unit: alphabet, maxLength: 40 }),
      fc.string({ unit: alphabet, maxLength: 40 }).map((body) => `{${body}}`),
    );
    fc.assert(
      fc.property(text, (source) => {
        expect(() => parseScope(source)).not.toThrow();
        expectWellFormedFailure(source);
      }),
      { numRuns: 600 },
    );
  });

  it('never throws on mutated valid scopes', () => {
    const edit = fc.record({
      kind: fc.constantFrom('delete' as const, 'insert' as const, 'replace' as const),
      at: fc.nat(),
      text: fc.constantFrom('{', '}', '(', ')', ',', ':', '&', '%', '|', ' ', '\n', 'X', '9', 'around:', '0ms', ''),
    });
    const mutated = fc.tuple(scopeArbitrary, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([scope, edits]) =>
      edits.reduce((text, { kind, at: where, text: piece }) => {
        const i = text.length === 0 ? 0 : where % (text.length + 1);
        if (kind === 'insert') return text.slice(0, i) + piece + text.slice(i);
        if (kind === 'delete') return text.slice(0, i) + text.slice(i + 1);
        return text.slice(0, i) + piece + text.slice(i + 1);
      }, printScope(scope)),
    );
    fc.assert(
      fc.property(mutated, (source) => {
        expect(() => parseScope(source)).not.toThrow();
        expectWellFormedFailure(source);
      }),
      { numRuns: 600 },
    );
  });
});
