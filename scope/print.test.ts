import { describe, expect, it } from 'vitest';
import type { SiteName } from '../core/ids.js';
import type { Scope, SourcePosition } from './ast.js';
import { parseScope } from './parse.js';
import { printDuration, printScope } from './print.js';

function canonical(source: string): string {
  const result = parseScope(source);
  if (!result.ok) throw new Error(result.error.message);
  return printScope(result.scope);
}

describe('printScope', () => {
  it.each([
    ['{Site1&Site2}', '{Site1 & Site2}'],
    ['{ pods :Site1,secrets:Site2 }', '{pods: Site1, secrets: Site2}'],
    ['{namespaces: Site1 % Site2}', '{namespaces: Site1 % Site2}'],
    ['{Site1||Site2}', '{Site1 || Site2}'],
    ['{around:Site1,50ms}', '{around: Site1, 50ms}'],
    ['{around: Site1, 050 ms}', '{around: Site1, 50ms}'],
    ['{around: Site1, 1.50s}', '{around: Site1, 1.5s}'],
    ['{pods:(Site1&Site2)%Site3}', '{pods: (Site1 & Site2) % Site3}'],
    ['{((Site1))}', '{Site1}'],
    ['{(Site1 & Site2)}', '{Site1 & Site2}'],
    ['{(A & B) & C}', '{(A & B) & C}'],
    ['{A || (B % (C & D))}', '{A || (B % (C & D))}'],
    ['{\n  pods: A,\n  A || B\n}', '{pods: A, A || B}'],
  ])('%j prints as %j', (source, printed) => {
    expect(canonical(source)).toBe(printed);
  });

  it('prints a scope built by hand', () => {
    const at: SourcePosition = { offset: 0, line: 1, column: 1 };
    const site = (name: string) => ({ kind: 'site' as const, site: name as SiteName, position: at });
    const scope: Scope = {
      bindings: [
        { kind: 'service', service: 'secrets', location: site('Site2'), position: at },
        { kind: 'around', site: site('Site1'), duration: { amount: 0.25, unit: 's', position: at }, position: at },
      ],
    };
    expect(printScope(scope)).toBe('{secrets: Site2, around: Site1, 0.25s}');
  });

  it('prints the smallest and largest durations without an exponent', () => {
    expect(printDuration({ amount: 0.000001, unit: 's' })).toBe('0.000001s');
    expect(printDuration({ amount: 3_600_000, unit: 'ms' })).toBe('3600000ms');
  });
});
