/** Query parameters of API requests, parsed and checked as the API server's parameter codec does. */
import { badRequest, invalid } from '../errors.js';
import { FieldValidation } from '../decode-object.js';
import type { IncludeObject } from '../tables.js';

function single(query: URLSearchParams, name: string): string | undefined {
  const value = query.get(name);
  return value === null ? undefined : value;
}

/** `true`/`1`/`false`/`0` as Go's strconv.ParseBool reads them. */
export function booleanParameter(query: URLSearchParams, name: string): boolean | undefined {
  const value = single(query, name);
  if (value === undefined || value === '') return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw badRequest(`strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
}

export function integerParameter(query: URLSearchParams, name: string): number | undefined {
  const value = single(query, name);
  if (value === undefined || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  return Number(value);
}

export function stringParameter(query: URLSearchParams, name: string): string | undefined {
  const value = single(query, name);
  return value === undefined || value === '' ? undefined : value;
}

/** `dryRun=All`, the only accepted value. */
export function dryRunParameter(query: URLSearchParams, kind: string): boolean {
  const values = query.getAll('dryRun').filter((value) => value !== '');
  if (values.length === 0) return false;
  for (const value of values) {
    if (value !== 'All') {
      throw invalid('meta.k8s.io', kind, '', [{ reason: 'FieldValueNotSupported', field: 'dryRun', message: `Unsupported value: ${JSON.stringify(value)}: supported values: "All"` }]);
    }
  }
  return true;
}

/** `fieldValidation`: Strict, Warn (the default) or Ignore. */
export function fieldValidationParameter(query: URLSearchParams, kind: string): FieldValidation {
  const value = single(query, 'fieldValidation') ?? '';
  if (value === '') return FieldValidation.Warn;
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw invalid('meta.k8s.io', kind, '', [
    { reason: 'FieldValueNotSupported', field: 'fieldValidation', message: `Unsupported value: ${JSON.stringify(value)}: supported values: "Ignore", "Strict", "Warn"` },
  ]);
}

/** `includeObject` of Table requests (Metadata by default). */
export function includeObjectParameter(query: URLSearchParams): IncludeObject {
  const value = single(query, 'includeObject') ?? '';
  if (value === '' || value === 'Metadata') return 'Metadata';
  if (value === 'Object' || value === 'None') return value;
  throw badRequest(`unrecognized includeObject value: ${JSON.stringify(value)}`);
}
