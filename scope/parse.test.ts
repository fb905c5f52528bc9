import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../core/errors.js';
import type { Scope } from './ast.js';
import { parseScope } from './parse.js';

/** The AST without positions, for comparing shapes. */
function shape(scope: Scope): unknown {
  return JSON.parse(JSON.stringify(scope, (key, value: unknown) => (key === 'position' ? undefined : value)));
}

const site = (name: string) => ({ kind: 'site', site: name });
const group = (kind: string, ...members: unknown[]) => ({ kind, members });

function parsed(source: string): Scope {
  const result = parseScope(source);
  if (!result.ok) throw new Error(`expected ${source} to parse: ${result.error.message}`);
  return result.scope;
}

describe('parseScope: valid scopes', () => {
  const cases: ReadonlyArray<readonly [string, unknown]> = [
    ['{Site1 & Site2}', [{ kind: 'all', location: group('replication', site('Site1'), site('Site2')) }]],
    [
      '{pods: Site1, secrets: Site2}',
      [
        { kind: 'service', service: 'pods', location: site('Site1') },
        { kind: 'service', service: 'secrets', location: site('Site2') },
      ],
    ],
    [
      '{namespaces: Site1 % Site2}',
      [{ kind: 'service', service: 'namespaces', location: group('cross', site('Site1'), site('Site2')) }],
    ],
    ['{Site1 || Site2}', [{ kind: 'all', location: group('failover', site('Site1'), site('Site2')) }]],
    [
      '{around: Site1, 50ms}',
      [{ kind: 'around', site: site('Site1'), duration: { amount: 50, unit: 'ms' } }],
    ],
    [
      '{pods: (Site1 & Site2) % Site3}',
      [
        {
          kind: 'service',
          service: 'pods',
          location: group('cross', group('replication', site('Site1'), site('Site2')), site('Site3')),
        },
      ],
    ],
    ['{Site1&Site2}', [{ kind: 'all', location: group('replication', site('Site1'), site('Site2')) }]],
    ['{A & B & C}', [{ kind: 'all', location: group('replication', site('A'), site('B'), site('C')) }]],
    ['{(((A)))}', [{ kind: 'all', location: site('A') }]],
    ['{(A & B)}', [{ kind: 'all', location: group('replication', site('A'), site('B')) }]],
    [
      '{A % (B || C) % D}',
      [{ kind: 'all', location: group('cross', site('A'), group('failover', site('B'), site('C')), site('D')) }],
    ],
    ['{deployments.apps: A}', [{ kind: 'service', service: 'deployments.apps', location: site('A') }]],
    ['{compute: A, image: B}', [
      { kind: 'service', service: 'compute', location: site('A') },
      { kind: 'service', service: 'image', location: site('B') },
    ]],
    ['{around: A, 1.5s}', [{ kind: 'around', site: site('A'), duration: { amount: 1.5, unit: 's' } }]],
    ['{around : A , 50 ms}', [{ kind: 'around', site: site('A'), duration: { amount: 50, unit: 'ms' } }]],
    // `around` is a keyword only before ':'.
    ['{around & B}', [{ kind: 'all', location: group('replication', site('around'), site('B')) }]],
    ['{around}', [{ kind: 'all', location: site('around') }]],
    ['{arounder: A}', [{ kind: 'service', service: 'arounder', location: site('A') }]],
    ['{around: around, 5ms}', [{ kind: 'around', site: site('around'), duration: { amount: 5, unit: 'ms' } }]],
    ['{site-1_b: x-y_z}', [{ kind: 'service', service: 'site-1_b', location: site('x-y_z') }]],
    [
      '  {\n\tpods :Site1 ,\r\n secrets:  Site2\n}\n ',
      [
        { kind: 'service', service: 'pods', location: site('Site1') },
        { kind: 'service', service: 'secrets', location: site('Site2') },
      ],
    ],
    [
      '{pods: A, A || B, around: C, 10ms}',
      [
        { kind: 'service', service: 'pods', location: site('A') },
        { kind: 'all', location: group('failover', site('A'), site('B')) },
        { kind: 'around', site: site('C'), duration: { amount: 10, unit: 'ms' } },
      ],
    ],
  ];

  it.each(cases)('%j', (source, bindings) => {
    expect(shape(parsed(source))).toEqual({ bindings });
  });
});

describe('parseScope: positions', () => {
  it('gives 1-based columns and 0-based offsets on bindings and sites', () => {
    const scope = parsed('{pods: (Site1 & Site2) % Site3, Site4}');
    const [pods, all] = scope.bindings;
    expect(pods?.position).toEqual({ offset: 1, line: 1, column: 2 });
    if (pods?.kind !== 'service' || pods.location.kind === 'site') throw new Error('unexpected shape');
    expect(pods.location.position.column).toBe(8);
    const [inner, site3] = pods.location.members;
    if (inner?.kind !== 'replication') throw new Error('unexpected shape');
    expect(inner.members.map((member) => member.position.column)).toEqual([9, 17]);
    expect(site3?.position).toEqual({ offset: 25, line: 1, column: 26 });
    expect(all?.position).toEqual({ offset: 32, line: 1, column: 33 });
  });

  it('counts lines and restarts columns on each line', () => {
    const scope = parsed('{\n  pods: Site1,\r\n  around: Site2, 5ms\r}');
    const [pods, around] = scope.bindings;
    expect(pods?.position).toEqual({ offset: 4, line: 2, column: 3 });
    if (around?.kind !== 'around') throw new Error('unexpected shape');
    expect(around.position).toEqual({ offset: 20, line: 3, column: 3 });
    expect(around.site.position).toEqual({ offset: 28, line: 3, column: 11 });
    expect(around.duration.position).toEqual({ offset: 35, line: 3, column: 18 });
  });
});

interface SyntaxCase {
  readonly source: string;
  readonly column: number;
  readonly expected: readonly string[];
  readonly found: string;
  readonly message: string;
  readonly line?: number;
}

const syntaxCases: readonly SyntaxCase[] = [
  {
    source: '{A & Bc && C}',
    column: 9,
    expected: [`'}'`, `','`, `'&'`],
    found: '&&',
    message: `scope syntax error at column 9: expected one of '}', ',', '&', got '&&'`,
  },
  {
    source: '{A && B}',
    column: 4,
    expected: [`'}'`, `','`, `':'`, `'&'`, `'%'`, `'||'`],
    found: '&&',
    message: `scope syntax error at column 4: expected one of '}', ',', ':', '&', '%', '||', got '&&'`,
  },
  {
    source: '{A & B % C}',
    column: 8,
    expected: [`'&'`],
    found: '%',
    message: `scope syntax error at column 8: mixing '&' and '%' needs parentheses`,
  },
  {
    source: '{pods: A || B & C}',
    column: 15,
    expected: [`'||'`],
    found: '&',
    message: `scope syntax error at column 15: mixing '||' and '&' needs parentheses`,
  },
  {
    source: '{(A % B || C) & D}',
    column: 9,
    expected: [`'%'`],
    found: '||',
    message: `scope syntax error at column 9: mixing '%' and '||' needs parentheses`,
  },
  {
    source: '{A % B && C}',
    column: 8,
    expected: [`'}'`, `','`, `'%'`],
    found: '&&',
    message: `scope syntax error at column 8: expected one of '}', ',', '%', got '&&'`,
  },
  {
    source: '{}',
    column: 2,
    expected: [`'('`, 'site name', 'service name'],
    found: '}',
    message: `scope syntax error at column 2: expected one of '(', site name, service name, got '}'`,
  },
  { source: '', column: 1, expected: [`'{'`], found: 'end of input', message: `scope syntax error at column 1: expected '{', got end of input` },
  { source: '   ', column: 4, expected: [`'{'`], found: 'end of input', message: `scope syntax error at column 4: expected '{', got end of input` },
  { source: 'Site1', column: 1, expected: [`'{'`], found: 'Site1', message: `scope syntax error at column 1: expected '{', got 'Site1'` },
  {
    source: '{Site1',
    column: 7,
    expected: [`'}'`, `','`, `':'`, `'&'`, `'%'`, `'||'`],
    found: 'end of input',
    message: `scope syntax error at column 7: expected one of '}', ',', ':', '&', '%', '||', got end of input`,
  },
  { source: '{A &}', column: 5, expected: [`'('`, 'site name'], found: '}', message: `scope syntax error at column 5: expected one of '(', site name, got '}'` },
  { source: '{A & B & }', column: 10, expected: [`'('`, 'site name'], found: '}', message: `scope syntax error at column 10: expected one of '(', site name, got '}'` },
  { source: '{A | B}', column: 4, expected: [`'}'`, `','`, `':'`, `'&'`, `'%'`, `'||'`], found: '|', message: `scope syntax error at column 4: expected one of '}', ',', ':', '&', '%', '||', got '|'` },
  { source: '{(A}', column: 4, expected: [`')'`, `'&'`, `'%'`, `'||'`], found: '}', message: `scope syntax error at column 4: expected one of ')', '&', '%', '||', got '}'` },
  { source: '{A)}', column: 3, expected: [`'}'`, `','`, `':'`, `'&'`, `'%'`, `'||'`], found: ')', message: `scope syntax error at column 3: expected one of '}', ',', ':', '&', '%', '||', got ')'` },
  { source: '{A}}', column: 4, expected: ['end of input'], found: '}', message: `scope syntax error at column 4: expected end of input, got '}'` },
  { source: '{A} x', column: 5, expected: ['end of input'], found: 'x', message: `scope syntax error at column 5: expected end of input, got 'x'` },
  { source: '{A,}', column: 4, expected: [`'('`, 'site name', 'service name'], found: '}', message: `scope syntax error at column 4: expected one of '(', site name, service name, got '}'` },
  { source: '{,A}', column: 2, expected: [`'('`, 'site name', 'service name'], found: ',', message: `scope syntax error at column 2: expected one of '(', site name, service name, got ','` },
  { source: '{around: A}', column: 11, expected: [`','`], found: '}', message: `scope syntax error at column 11: expected ',', got '}'` },
  { source: '{around: A & B, 5ms}', column: 12, expected: [`','`], found: '&', message: `scope syntax error at column 12: expected ',', got '&'` },
  { source: '{around: A, }', column: 13, expected: ['duration'], found: '}', message: `scope syntax error at column 13: expected duration, got '}'` },
  { source: '{around: A, pods: B}', column: 13, expected: ['duration'], found: 'pods', message: `scope syntax error at column 13: expected duration, got 'pods'` },
  { source: '{around: A, -5ms}', column: 13, expected: ['duration'], found: '-', message: `scope syntax error at column 13: expected duration, got '-'` },
  { source: '{around: A, 50}', column: 15, expected: [`'ms'`, `'s'`], found: '}', message: `scope syntax error at column 15: expected one of 'ms', 's', got '}'` },
  { source: '{around: A, 50sec}', column: 15, expected: [`'ms'`, `'s'`], found: 'sec', message: `scope syntax error at column 15: expected one of 'ms', 's', got 'sec'` },
  { source: '{deployments.apps}', column: 18, expected: [`':'`], found: '}', message: `scope syntax error at column 18: expected ':', got '}'` },
  { source: '{pods: around: A}', column: 14, expected: [`'}'`, `','`, `'&'`, `'%'`, `'||'`], found: ':', message: `scope syntax error at column 14: expected one of '}', ',', '&', '%', '||', got ':'` },
  { source: '{A\u0001}', column: 3, expected: [`'}'`, `','`, `':'`, `'&'`, `'%'`, `'||'`], found: '\u0001', message: `scope syntax error at column 3: expected one of '}', ',', ':', '&', '%', '||', got '\\u0001'` },
  { source: '{A 😀}', column: 4, expected: [`'}'`, `','`, `':'`, `'&'`, `'%'`, `'||'`], found: '😀', message: `scope syntax error at column 4: expected one of '}', ',', ':', '&', '%', '||', got '😀'` },
  { source: '{1A}', column: 2, expected: [`'('`, 'site name', 'service name'], found: '1A', message: `scope syntax error at column 2: expected one of '(', site name, service name, got '1A'` },
  {
    source: '{\n  pods: A &\n  & B\n}',
    line: 3,
    column: 3,
    expected: [`'('`, 'site name'],
    found: '&',
    message: `scope syntax error at line 3, column 3: expected one of '(', site name, got '&'`,
  },
  {
    source: '{\n  pods: A & B\n  % C\n}',
    line: 3,
    column: 3,
    expected: [`'&'`],
    found: '%',
    message: `scope syntax error at line 3, column 3: mixing '&' and '%' needs parentheses`,
  },
  {
    source: `{${'('.repeat(33)}A${')'.repeat(33)}}`,
    column: 34,
    expected: ['site name'],
    found: '(',
    message: 'scope syntax error at column 34: parentheses nest deeper than 32 levels',
  },
];

describe('parseScope: syntax errors', () => {
  it.each(syntaxCases)('$source', ({ source, line = 1, column, expected, found, message }) => {
    const result = parseScope(source);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe(ErrorCode.ScopeSyntax);
    expect(result.error.message).toBe(message);
    expect(result.error.details).toEqual({
      line,
      column,
      offset: expect.any(Number) as unknown,
      expected,
      found,
      source,
    });
  });

  it('accepts parentheses nested to the limit', () => {
    expect(parseScope(`{${'('.repeat(32)}A${')'.repeat(32)}}`).ok).toBe(true);
  });

  it('gives the offset of the failure', () => {
    const result = parseScope('{\n  pods: A &\n  & B\n}');
    expect(result.ok ? undefined : result.error.details['offset']).toBe(16);
  });
});

interface InvalidCase {
  readonly source: string;
  readonly reason: string;
  readonly column: number;
  readonly message: string;
  readonly line?: number;
}

const invalidCases: readonly InvalidCase[] = [
  {
    source: '{pods: A, pods: B}',
    reason: 'duplicate-service',
    column: 11,
    message: `invalid scope at column 11: service 'pods' is bound twice (first at column 2)`,
  },
  {
    source: '{A, B & C}',
    reason: 'duplicate-all',
    column: 5,
    message: 'invalid scope at column 5: a second location for every service (the first is at column 2); join them with an operator',
  },
  {
    source: '{around: A, 5ms, around: B, 1s}',
    reason: 'duplicate-around',
    column: 18,
    message: `invalid scope at column 18: a second 'around' binding (the first is at column 2)`,
  },
  { source: '{around: A, 0ms}', reason: 'zero-duration', column: 13, message: `invalid scope at column 13: the 'around' duration must be greater than 0` },
  { source: '{around: A, 0.000s}', reason: 'zero-duration', column: 13, message: `invalid scope at column 13: the 'around' duration must be greater than 0` },
  {
    source: '{around: A, 3601s}',
    reason: 'duration-out-of-range',
    column: 13,
    message: `invalid scope at column 13: the 'around' duration must be between 0.001ms and 3600s`,
  },
  {
    source: '{around: A, 0.0001ms}',
    reason: 'duration-out-of-range',
    column: 13,
    message: `invalid scope at column 13: the 'around' duration must be between 0.001ms and 3600s`,
  },
  {
    source: `{pods: A & ${'s'.repeat(64)}}`,
    reason: 'site-name-too-long',
    column: 12,
    message: `invalid scope at column 12: site name 'ssssssssssssssss…' is longer than 63 characters`,
  },
  {
    source: '{\n pods: Site1,\n pods: Site2}',
    reason: 'duplicate-service',
    line: 3,
    column: 2,
    message: `invalid scope at line 3, column 2: service 'pods' is bound twice (first at line 2, column 2)`,
  },
];

describe('parseScope: invalid scopes', () => {
  it.each(invalidCases)('$source', ({ source, reason, line = 1, column, message }) => {
    const result = parseScope(source);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe(ErrorCode.ScopeInvalid);
    expect(result.error.message).toBe(message);
    expect(result.error.details).toMatchObject({ reason, line, column, source });
  });

  it('reports the first problem in text order', () => {
    const result = parseScope('{around: A, 0ms, pods: B, pods: C}');
    expect(result.ok ? undefined : result.error.details['reason']).toBe('zero-duration');
  });

  it('accepts a site name of 63 characters', () => {
    expect(parseScope(`{${'s'.repeat(63)}}`).ok).toBe(true);
  });
});

describe('parseScope: hostile input', () => {
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', ' __proto__'])(
    'refuses %j without touching Object.prototype',
    (source) => {
      const result = parseScope(source);
      expect(result.ok).toBe(false);
      expect(Object.prototype).not.toHaveProperty('0');
      expect(result.ok ? undefined : result.error.code).toBe(ErrorCode.ScopeSyntax);
    },
  );

  it('never throws on non-string-like content', () => {
    expect(() => parseScope('{'.repeat(10_000))).not.toThrow();
    expect(() => parseScope(`{${'A & '.repeat(5_000)}A}`)).not.toThrow();
    expect(parseScope(`{${'A & '.repeat(5_000)}A}`).ok).toBe(true);
  });
});
