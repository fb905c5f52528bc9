/**
 * What resolution needs to know about the deployment: this site, the others, which are up, and
 * the round-trip times between them. The node builds it from the site directory and heartbeats;
 * tests build it from a literal.
 */
import { CheopsError, ErrorCode } from '../core/errors.js';
import type { SiteName } from '../core/ids.js';
import { scopeSiteNodes, type Scope } from './ast.js';
import { describePosition } from './position.js';

/** The sites a scope is resolved against. */
export interface KnownSites {
  /** The site resolving the scope: always known and always reachable from itself. */
  readonly self: SiteName;
  /** Every site of the deployment, in directory order; `self` may be listed or not. */
  readonly sites: readonly SiteName[];
  /** Whether heartbeats currently see `site` up. Never asked about `self`. */
  isUp(site: SiteName): boolean;
  /** The last round-trip time measured from `from` to `to`, or undefined if none was measured. */
  rttMs(from: SiteName, to: SiteName): number | undefined;
}

/** Every known site, `self` first, each once. */
export function knownSiteNames(known: KnownSites): SiteName[] {
  return [...new Set([known.self, ...known.sites])];
}

/** Whether a request can reach `site` now: this site always, another when heartbeats see it up. */
export function isReachable(known: KnownSites, site: SiteName): boolean {
  return site === known.self || known.isUp(site);
}

// Numeric order, so Site2 comes before Site10 in messages; the collator does not depend on the
// machine's locale.
const naturalOrder = new Intl.Collator('en', { numeric: true });

/**
 * The first site of the scope (in text order) that is not known, as a CHEOPS_SCOPE_UNKNOWN_SITE
 * error with details `{ site, line, column, offset, known }`; undefined when every site is known.
 */
export function validateSites(scope: Scope, known: KnownSites): CheopsError | undefined {
  const names = knownSiteNames(known);
  const knownSet = new Set<string>(names);
  const unknown = scopeSiteNodes(scope).find((node) => !knownSet.has(node.site));
  if (unknown === undefined) return undefined;
  const sorted = [...names].sort(naturalOrder.compare);
  const { position } = unknown;
  return new CheopsError(
    ErrorCode.ScopeUnknownSite,
    // The source text is gone by now; a position past line 1 is the sign that the line matters.
    `unknown site '${unknown.site}' at ${describePosition(position, position.line > 1)}; known sites: ${sorted.join(', ')}`,
    {
      details: {
        site: unknown.site,
        line: position.line,
        column: position.column,
        offset: position.offset,
        known: sorted,
      },
    },
  );
}
