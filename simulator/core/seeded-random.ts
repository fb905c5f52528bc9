/**
 * The simulator's Random: xoshiro128** (Blackman and Vigna, 2018), a small, fast generator with
 * 128 bits of state that passes BigCrush, implemented with 32-bit integer arithmetic only, so it
 * gives the same numbers on every platform.
 *
 * Streams: every generator is named by the seed and a path of fork labels, and its state is the
 * SHA-256 of that name. `fork(label)` therefore depends only on (seed, path, label), never on how
 * many numbers the parent or a sibling drew: the network drawing one more latency does not shift
 * the actor ids a site draws. (A hash rather than splitmix seeding because labels are strings of
 * any length, and a hash mixes them with no risk of two names sharing a state.)
 */
import { createHash } from 'node:crypto';
import { uuidFromBytes, type Random } from '../../core/random.js';

/** A seed as users give it (`cheops sim --seed 42`). */
export type Seed = number | string;

const twoTo32 = 0x1_0000_0000;
const twoTo53 = 2 ** 53;

function rotl(value: number, shift: number): number {
  return ((value << shift) | (value >>> (32 - shift))) >>> 0;
}

function stateOf(seed: Seed, path: readonly string[]): [number, number, number, number] {
  const digest = createHash('sha256')
    .update(JSON.stringify(['cheops-sim/v1', String(seed), ...path]))
    .digest();
  const words: [number, number, number, number] = [digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12)];
  // The all-zero state is xoshiro's one fixed point; a hash will not give it, but be sure.
  if (words.every((word) => word === 0)) words[0] = 1;
  return words;
}

/** A deterministic Random: the same seed and fork path give the same numbers. */
export class SeededRandom implements Random {
  readonly seed: Seed;
  /** The fork labels from the root generator to this one. */
  readonly path: readonly string[];
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: Seed, path: readonly string[] = []) {
    this.seed = seed;
    this.path = path;
    [this.s0, this.s1, this.s2, this.s3] = stateOf(seed, path);
  }

  /** A generator started from raw xoshiro128** state words (for the reference vectors in tests). */
  static fromState(state: readonly [number, number, number, number]): SeededRandom {
    const random = new SeededRandom('raw-state');
    [random.s0, random.s1, random.s2, random.s3] = state.map((word) => word >>> 0) as [number, number, number, number];
    return random;
  }

  /** The next 32-bit output of xoshiro128**. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A float in [0, 1) with 53 random bits. */
  float(): number {
    const high = this.nextUint32() >>> 5;
    const low = this.nextUint32() >>> 6;
    return (high * 67_108_864 + low) / twoTo53;
  }

  /** An integer in [0, maxExclusive), without modulo bias. */
  int(maxExclusive: number): number {
    if (!Number.isSafeInteger(maxExclusive) || maxExclusive < 1) {
      throw new RangeError(`int() needs a positive safe integer bound, got ${maxExclusive}`);
    }
    if (maxExclusive > twoTo32) return Math.floor(this.float() * maxExclusive);
    // Reject the top partial range so every residue is equally likely.
    const limit = twoTo32 - (twoTo32 % maxExclusive);
    for (;;) {
      const value = this.nextUint32();
      if (value < limit) return value % maxExclusive;
    }
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let index = 0; index < length; index += 4) {
      let word = this.nextUint32();
      for (let byte = index; byte < Math.min(index + 4, length); byte += 1) {
        out[byte] = word & 0xff;
        word >>>= 8;
      }
    }
    return out;
  }

  uuid(): string {
    return uuidFromBytes(this.bytes(16));
  }

  /** The independent generator of `label` under this one. */
  fork(label: string): SeededRandom {
    return new SeededRandom(this.seed, [...this.path, label]);
  }

  /** True with probability `probability` (no draw at all for 0 or 1, so streams do not shift). */
  chance(probability: number): boolean {
    if (probability <= 0) return false;
    if (probability >= 1) return true;
    return this.float() < probability;
  }

  /** One element of `items`, uniformly. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new RangeError('pick() from an empty list');
    return item;
  }

  /** `items` in a uniformly random order (Fisher–Yates); the input is not changed. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let index = out.length - 1; index > 0; index -= 1) {
      const other = this.int(index + 1);
      const current = out[index] as T;
      out[index] = out[other] as T;
      out[other] = current;
    }
    return out;
  }

  /** `seed` and fork path, for messages and traces (`42/network/link Site1 Site2`). */
  describe(): string {
    return [String(this.seed), ...this.path].join('/');
  }
}
