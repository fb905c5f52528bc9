/**
 * scope-lang: parse a request's scope, print it back, and resolve it against the known sites
 * (DESIGN.md section 3).
 */
export * from './ast.js';
export { parseScope, type ScopeParseResult } from './parse.js';
export { printScope, printBinding, printLocation, printDuration } from './print.js';
export { InvalidReason, maxAroundMs, minAroundMs } from './check.js';
export { Expected, maxNestingDepth } from './grammar.js';
export { knownSiteNames, isReachable, validateSites, type KnownSites } from './known-sites.js';
export { resolveAround, type AroundResult } from './around.js';
export { bindingFor, isLocationReachable, resolveLocation, resolveScope } from './resolve.js';
export * from './resolution.js';
