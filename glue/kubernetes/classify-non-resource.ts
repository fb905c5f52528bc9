/**
 * Classifies the paths outside `/api` and `/apis`: version, OpenAPI, health, and the rest.
 */
import type { KubernetesCall } from './call.js';

const healthEndpoints = new Set(['healthz', 'livez', 'readyz'] as const);

function isHealthEndpoint(segment: string): segment is 'healthz' | 'livez' | 'readyz' {
  return (healthEndpoints as ReadonlySet<string>).has(segment);
}

/**
 * Classifies a path whose first segment is not `api` or `apis`. `segments` are the decoded path
 * segments with the leading and trailing slashes removed.
 */
export function classifyNonResourcePath(method: string, path: string, segments: readonly string[]): KubernetesCall {
  const [first = '', second, ...rest] = segments;
  if (first === 'version' && segments.length === 1) return { kind: 'version', method, path };
  if (isHealthEndpoint(first) && rest.length === 0) {
    return { kind: 'health', method, path, endpoint: first, ...(second === undefined || second === '' ? {} : { check: second }) };
  }
  if (first === 'openapi' && second === 'v2' && rest.length === 0) return { kind: 'openapi', method, path, openApiVersion: 'v2' };
  if (first === 'openapi' && second === 'v3') {
    const documentPath = rest.join('/');
    return { kind: 'openapi', method, path, openApiVersion: 'v3', ...(documentPath === '' ? {} : { documentPath }) };
  }
  // The OpenAPI v2 document's older names, still served.
  if (segments.length === 1 && (first === 'swagger.json' || first === 'swagger-2.0.0.pb-v1')) {
    return { kind: 'openapi', method, path, openApiVersion: 'v2' };
  }
  return { kind: 'other', method, path };
}
