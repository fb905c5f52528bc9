import { describe, expect, it } from 'vitest';
import { CheopsError, ErrorCode } from '../../core/index.js';
import { errorMappings, errorResponse, kubernetesStatus, toHttpError } from './errors.js';

describe('the error mapper', () => {
  it('has an answer for every error code', () => {
    for (const code of Object.values(ErrorCode)) {
      expect(errorMappings[code], `add a row for ${code} in node/http/errors.ts`).toBeDefined();
    }
  });

  it('maps a Cheops error to its status, reason, message and details', () => {
    const error = new CheopsError(ErrorCode.ScopeSyntax, 'scope syntax error at column 9', { details: { column: 9 } });
    expect(toHttpError(error)).toEqual({
      status: 400,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'scope syntax error at column 9',
        reason: 'BadRequest',
        code: 400,
        details: { cheopsCode: 'CHEOPS_SCOPE_SYNTAX', column: 9 },
      },
    });
    expect(toHttpError(new CheopsError(ErrorCode.AppUnreachable, 'down')).status).toBe(503);
    expect(toHttpError(new CheopsError(ErrorCode.Aborted, 'late')).body.reason).toBe('Timeout');
  });

  it('maps anything else to a 500 InternalError that keeps the message', () => {
    expect(toHttpError(new Error('oops'))).toEqual({ status: 500, body: kubernetesStatus(500, 'InternalError', 'internal error: oops') });
    expect(toHttpError('plain').body.message).toBe('internal error: plain');
  });

  it('builds a JSON web Response', async () => {
    const res = errorResponse(new CheopsError(ErrorCode.HttpNotFound, 'nothing here'));
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'nothing here' });
  });
});
