/**
 * Randomness, injected. The real implementation draws from the OS; the simulator's is seeded and
 * forked per subsystem, so that one subsystem drawing more numbers does not shift another's.
 */
export interface Random {
  /** A float in [0, 1). */
  float(): number;
  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** `length` random bytes. */
  bytes(length: number): Uint8Array;
  /** A random RFC 4122 version 4 UUID. */
  uuid(): string;
  /** An independent generator for the subsystem `label` (the same label gives the same stream). */
  fork(label: string): Random;
}

/** A version 4 UUID made from 16 bytes of `random`. */
export function uuidFromBytes(bytes: Uint8Array): string {
  const b = Uint8Array.from(bytes.subarray(0, 16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(b, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Exponential backoff with full jitter, capped: the delay before retry number `attempt` (0-based). */
export function backoffDelayMs(
  random: Random,
  attempt: number,
  options: { readonly baseMs: number; readonly maxMs: number },
): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return options.baseMs / 2 + random.float() * (ceiling - options.baseMs / 2);
}
