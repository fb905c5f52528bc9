import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CheopsError, ErrorCode, isCheopsError } from './errors.js';

describe('error codes', () => {
  it('every code is documented in docs/ERRORS.md, and nothing else is', () => {
    const doc = readFileSync(new URL('../docs/ERRORS.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `(CHEOPS_[A-Z_]+)` \|/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it('codes are unique', () => {
    const codes = Object.values(ErrorCode);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('a CheopsError keeps its code, details and cause', () => {
    const cause = new Error('disk full');
    const error = new CheopsError(ErrorCode.StorageFailure, 'cannot write', { cause, details: { key: 'a' } });
    expect(isCheopsError(error, ErrorCode.StorageFailure)).toBe(true);
    expect(isCheopsError(error, ErrorCode.ScopeSyntax)).toBe(false);
    expect(error.details).toEqual({ key: 'a' });
    expect(error.cause).toBe(cause);
  });
});
