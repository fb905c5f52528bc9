/**
 * The canonical text of a scope: one space around operators and after ':' and ',', parentheses
 * only around nested groups. parseScope(printScope(s)) gives s back (positions aside), which is
 * what lets a replicant store its scope as text.
 */
import { operatorOfKind, type Binding, type Duration, type Location, type Scope } from './ast.js';

/** `{pods: Site1 & Site2, secrets: Site2}`. */
export function printScope(scope: Scope): string {
  return `{${scope.bindings.map(printBinding).join(', ')}}`;
}

/** One binding: `pods: Site1 & Site2`, `Site1 || Site2`, `around: Site1, 50ms`. */
export function printBinding(binding: Binding): string {
  switch (binding.kind) {
    case 'service':
      return `${binding.service}: ${printLocation(binding.location)}`;
    case 'all':
      return printLocation(binding.location);
    case 'around':
      return `around: ${binding.site.site}, ${printDuration(binding.duration)}`;
  }
}

/** A location; a group nested in another is parenthesised: `(Site1 & Site2) % Site3`. */
export function printLocation(location: Location): string {
  if (location.kind === 'site') return location.site;
  const nested = location.members.map((member) =>
    member.kind === 'site' ? member.site : `(${printLocation(member)})`,
  );
  return nested.join(` ${operatorOfKind[location.kind]} `);
}

/**
 * `50ms`, `0.5s`. String() writes the shortest text that reads back as the same number; it has
 * no exponent for the amounts check.ts accepts (1µs to 1h).
 */
export function printDuration(duration: Pick<Duration, 'amount' | 'unit'>): string {
  return `${String(duration.amount)}${duration.unit}`;
}
