/**
 * The stand-in Kubernetes API: a small, real Kubernetes API server (one per site) that the real
 * kubectl accepts as a cluster. See DESIGN.md §10.
 */
export { createStandin, type Standin, type StandinOptions } from './standin.js';
export { serveStandin, type ListenOptions, type ServedStandin } from './serve.js';
export { ApiError, StatusReason } from './errors.js';
