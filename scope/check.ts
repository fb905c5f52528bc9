/**
 * Rules a scope must follow beyond its syntax (CHEOPS_SCOPE_INVALID): each service bound once, one
 * bare location, one `around`, a usable duration, site names a SiteName can hold. Each error names
 * the column of the offending part.
 */
import { CheopsError, ErrorCode } from '../core/errors.js';
import { isSiteName } from '../core/ids.js';
import { bindingSiteNodes, durationMs, type Binding, type Scope, type SourcePosition } from './ast.js';
import { describePosition, isMultiline } from './position.js';

/** The shortest `around` radius: below a microsecond no RTT measurement can tell sites apart. */
export const minAroundMs = 0.001;
/**
 * The longest `around` radius. Round trips between edge sites take milliseconds; an hour is
 * already a typo, and the bound keeps every accepted amount printable without an exponent.
 */
export const maxAroundMs = 3_600_000;

/** Why a scope is invalid, as `details.reason`. */
export const InvalidReason = {
  DuplicateService: 'duplicate-service',
  DuplicateAll: 'duplicate-all',
  DuplicateAround: 'duplicate-around',
  ZeroDuration: 'zero-duration',
  DurationOutOfRange: 'duration-out-of-range',
  SiteNameTooLong: 'site-name-too-long',
} as const;
export type InvalidReason = (typeof InvalidReason)[keyof typeof InvalidReason];

interface Problem {
  readonly reason: InvalidReason;
  readonly position: SourcePosition;
  readonly message: string;
  readonly facts?: Readonly<Record<string, unknown>>;
}

interface Seen {
  readonly services: Map<string, SourcePosition>;
  all?: SourcePosition;
  around?: SourcePosition;
}

/** The first rule the scope breaks, in text order, as a CHEOPS_SCOPE_INVALID error; else undefined. */
export function checkScope(scope: Scope, source: string): CheopsError | undefined {
  const seen: Seen = { services: new Map() };
  const where = (position: SourcePosition): string => describePosition(position, isMultiline(source));
  for (const binding of scope.bindings) {
    const problem = bindingProblem(binding, seen, where) ?? sitesProblem(binding) ?? durationProblem(binding);
    if (problem !== undefined) {
      const { position } = problem;
      return new CheopsError(ErrorCode.ScopeInvalid, `invalid scope at ${where(position)}: ${problem.message}`, {
        details: {
          reason: problem.reason,
          line: position.line,
          column: position.column,
          offset: position.offset,
          source,
          ...problem.facts,
        },
      });
    }
  }
  return undefined;
}

function bindingProblem(
  binding: Binding,
  seen: Seen,
  where: (position: SourcePosition) => string,
): Problem | undefined {
  const { position } = binding;
  if (binding.kind === 'service') {
    const first = seen.services.get(binding.service);
    if (first === undefined) {
      seen.services.set(binding.service, position);
      return undefined;
    }
    return {
      reason: InvalidReason.DuplicateService,
      position,
      message: `service '${binding.service}' is bound twice (first at ${where(first)})`,
      facts: { service: binding.service },
    };
  }
  if (binding.kind === 'all') {
    if (seen.all === undefined) {
      seen.all = position;
      return undefined;
    }
    return {
      reason: InvalidReason.DuplicateAll,
      position,
      message: `a second location for every service (the first is at ${where(seen.all)}); join them with an operator`,
    };
  }
  if (seen.around === undefined) {
    seen.around = position;
    return undefined;
  }
  return {
    reason: InvalidReason.DuplicateAround,
    position,
    message: `a second 'around' binding (the first is at ${where(seen.around)})`,
  };
}

function sitesProblem(binding: Binding): Problem | undefined {
  const tooLong = bindingSiteNodes(binding).find((node) => !isSiteName(node.site));
  if (tooLong === undefined) return undefined;
  return {
    reason: InvalidReason.SiteNameTooLong,
    position: tooLong.position,
    message: `site name '${tooLong.site.slice(0, 16)}…' is longer than 63 characters`,
    facts: { site: tooLong.site },
  };
}

function durationProblem(binding: Binding): Problem | undefined {
  if (binding.kind !== 'around') return undefined;
  const { duration } = binding;
  const ms = durationMs(duration);
  if (ms === 0) {
    return {
      reason: InvalidReason.ZeroDuration,
      position: duration.position,
      message: `the 'around' duration must be greater than 0`,
    };
  }
  if (ms < minAroundMs || ms > maxAroundMs || !Number.isFinite(ms)) {
    return {
      reason: InvalidReason.DurationOutOfRange,
      position: duration.position,
      message: `the 'around' duration must be between ${minAroundMs}ms and ${maxAroundMs / 1000}s`,
    };
  }
  return undefined;
}
