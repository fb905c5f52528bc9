/**
 * The HTTP front of a site: owned routes (health, metrics, admin API), scope carriers, the
 * interceptor hook for the collaboration engine (and its `wants` filter), and the passthrough to
 * the local application. Served by `createFrontServer` (the raw path: plain passthrough never
 * enters node:http), by node:http with `handle`, or called in process with `fetch`.
 */
export {
  createFront,
  createFrontServer,
  FrontServer,
  type ClientOptions,
  type Front,
  type FrontDeps,
  type FrontOptions,
} from './front.js';
export { isOwnedPath } from './router.js';
export type { FrontCall, HeaderReader, InterceptFilter, Interceptor, RequestScope } from './interceptor.js';
export { wholeResponse } from './web-bridge.js';
export {
  errorMappings,
  errorResponse,
  kubernetesStatus,
  toHttpError,
  writeError,
  type HttpError,
  type KubernetesStatus,
} from './errors.js';
export type { AdminHandler, AdminRoutes, Readiness, ReadinessCheck } from './owned-routes.js';
export type { PassthroughOptions, UpstreamTlsOptions } from './passthrough.js';
export type { UpgradeElsewhere } from './upgrade.js';
export type { RequestKind } from './metrics.js';
export { readScopeCarrier, scopeHeader, type ScopeCarrierKind, type ScopeSource } from './scope-carrier.js';
export type { ScopeFreeFilter } from './request-scope.js';
