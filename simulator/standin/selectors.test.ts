import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, selectorFromObject } from './selectors.js';

const labels = { app: 'web', tier: 'front', version: '3' };

function matches(selector: string, set: Record<string, string> = labels): boolean {
  return matchesLabels(parseLabelSelector(selector), set);
}

function parseError(selector: string): string {
  try {
    parseLabelSelector(selector);
  } catch (error) {
    if (error instanceof ApiError) return `${error.code} ${error.message}`;
    throw error;
  }
  return 'parsed';
}

describe('label selectors', () => {
  it('match the operators of kubectl -l', () => {
    expect(matches('app=web')).toBe(true);
    expect(matches('app==web,tier=front')).toBe(true);
    expect(matches('app!=web')).toBe(false);
    expect(matches('missing!=x')).toBe(true);
    expect(matches('tier in (front, back)')).toBe(true);
    expect(matches('tier notin (front)')).toBe(false);
    expect(matches('app')).toBe(true);
    expect(matches('!app')).toBe(false);
    expect(matches('!missing,app')).toBe(true);
    expect(matches('version>2,version<4')).toBe(true);
    expect(matches('')).toBe(true);
    expect(matches('app=')).toBe(false);
    expect(matches('example.com/role=db', { 'example.com/role': 'db' })).toBe(true);
  });

  it('reject bad syntax with the apimachinery messages', () => {
    expect(parseError('a b')).toBe("400 found 'b', expected: in, notin, =, ==, !=, gt, lt");
    expect(parseError('a=b,')).toBe("400 found '', expected: identifier after ','");
    expect(parseError('a in b')).toBe("400 found 'b' expected: '('");
    expect(parseError('a in (b')).toBe("400 found '', expected: ',' or ')'");
    expect(parseError('=b')).toBe("400 found '=', expected: !, identifier, or 'end of string'");
    expect(parseError('a=b c')).toBe("400 found 'c', expected: ',' or 'end of string'");
    expect(parseError('-a=b')).toContain('400 unable to parse requirement: key: Invalid value: "-a"');
    expect(parseError('a=-b')).toContain('400 unable to parse requirement: values[0][a]: Invalid value: "-b"');
    expect(parseError('a>x')).toContain('must be an integer');
  });

  it('come from matchLabels and matchExpressions', () => {
    const selector = selectorFromObject({
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }, { key: 'gone', operator: 'DoesNotExist' }],
    });
    expect(matchesLabels(selector ?? [], labels)).toBe(true);
    expect(matchesLabels(selector ?? [], { app: 'web', tier: 'back' })).toBe(false);
  });
});

describe('field selectors', () => {
  const pod = { metadata: { name: 'p', namespace: 'default' }, status: { phase: 'Running' }, spec: { hostNetwork: false } };
  const supported = ['metadata.name', 'metadata.namespace', 'status.phase', 'spec.hostNetwork'];

  it('match = and != terms, with escapes', () => {
    expect(matchesFields(parseFieldSelector('metadata.name=p', supported), pod)).toBe(true);
    expect(matchesFields(parseFieldSelector('metadata.name==p,status.phase!=Running', supported), pod)).toBe(false);
    expect(matchesFields(parseFieldSelector('spec.hostNetwork=false', supported), pod)).toBe(true);
    expect(parseFieldSelector('metadata.name=a\\,b', supported)).toEqual([{ field: 'metadata.name', operator: '=', value: 'a,b' }]);
  });

  it('refuse unsupported fields and nonsense', () => {
    expect(() => parseFieldSelector('spec.nodeName=x', supported)).toThrow('field label not supported: spec.nodeName');
    expect(() => parseFieldSelector('nonsense', supported)).toThrow("invalid selector: 'nonsense'; can't understand 'nonsense'");
  });
});
