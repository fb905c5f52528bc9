/**
 * The HTTP front of a site: owned routes (health, metrics, admin API), scope carriers, the
 * interceptor hook for the collaboration engine, and the passthrough to the local application.
 */
export { createFront, createFrontServer, type Front, type FrontDeps, type FrontOptions } from './front.js';
export { isOwnedPath } from './router.js';
export type { FrontCall, Interceptor, RequestScope } from './interceptor.js';
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
export type { RequestKind } from './metrics.js';
export { readScopeCarrier, scopeHeader, type ScopeCarrierKind, type ScopeSource } from './scope-carrier.js';
