/**
 * Replication (docs/REPLICATION.md): one resource on several sites, eventually consistent, local
 * first. The composition root builds a ReplicationEngine and wires its interceptor, share policy,
 * admin routes and metrics.
 */
export { ReplicationEngine, type ReplicationComponents } from './engine.js';
export type { ReplicantOverview } from './admin.js';
export type { RemoteFetch, ReplicationOptions } from './context.js';
export { httpRemoteFetch, type HttpRemoteFetch } from './remote-fetch.js';
export { knownSitesOf, type SitesPort } from './sites.js';
export { CheopsHeader } from './http.js';
