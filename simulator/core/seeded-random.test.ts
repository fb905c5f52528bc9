import { describe, expect, it } from 'vitest';
import { SeededRandom } from './seeded-random.js';

function draws(random: SeededRandom, count: number): number[] {
  return Array.from({ length: count }, () => random.nextUint32());
}

describe('SeededRandom', () => {
  it('is xoshiro128**: the reference implementation gives these outputs from state {1, 2, 3, 4}', () => {
    // From the C reference (prng.di.unimi.it/xoshiro128starstar.c), compiled and run.
    expect(draws(SeededRandom.fromState([1, 2, 3, 4]), 8)).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849,
    ]);
    expect(draws(SeededRandom.fromState([0x9e3779b9, 0x243f6a88, 0xb7e15162, 0x12345678]), 6)).toEqual([
      2463954730, 5524658, 3566893527, 3794986392, 933487703, 1623283725,
    ]);
  });

  it('gives known values for a seed (a change here changes every recorded seed)', () => {
    expect(draws(new SeededRandom(42), 3)).toEqual([483059052, 1376009704, 1085864839]);
    const random = new SeededRandom(42);
    expect(random.float()).toBe(0.11247094959301662);
    expect(random.int(1000)).toBe(839);
    expect(random.uuid()).toBe('debf03ff-a893-4db6-8cf0-2b155dd82b69');
    expect(new SeededRandom('cheops').fork('network').nextUint32()).toBe(1582700614);
  });

  it('repeats for the same seed and differs for another', () => {
    expect(draws(new SeededRandom(1), 20)).toEqual(draws(new SeededRandom(1), 20));
    expect(draws(new SeededRandom(1), 20)).not.toEqual(draws(new SeededRandom(2), 20));
    expect(draws(new SeededRandom(1), 20)).not.toEqual(draws(new SeededRandom('1x'), 20));
  });

  it('forks streams that depend only on (seed, path, label), not on what others drew', () => {
    const quiet = new SeededRandom(9);
    const busy = new SeededRandom(9);
    draws(busy, 1_000);
    busy.fork('sibling').bytes(4_096);
    expect(draws(busy.fork('disk'), 10)).toEqual(draws(quiet.fork('disk'), 10));
    expect(draws(busy.fork('site').fork('Site1'), 10)).toEqual(draws(quiet.fork('site').fork('Site1'), 10));
  });

  it('gives different streams to different labels and paths', () => {
    const root = new SeededRandom(9);
    const streams = [root, root.fork('a'), root.fork('b'), root.fork('a').fork('b'), root.fork('a/b'), root.fork('a').fork('a')];
    const firsts = streams.map((stream) => draws(stream, 4).join(','));
    expect(new Set(firsts).size).toBe(streams.length);
    expect(root.fork('a').fork('b').describe()).toBe('9/a/b');
  });

  it('draws floats in [0, 1) and unbiased integers in range', () => {
    const random = new SeededRandom('range');
    const buckets = new Array<number>(10).fill(0);
    let outOfRange = 0;
    for (let index = 0; index < 20_000; index += 1) {
      const value = random.float();
      if (!(value >= 0 && value < 1)) outOfRange += 1;
      const bucket = random.int(10);
      buckets[bucket] = (buckets[bucket] ?? 0) + 1;
    }
    expect(outOfRange).toBe(0);
    for (const count of buckets) expect(Math.abs(count - 2_000)).toBeLessThan(200);
    expect(random.int(1)).toBe(0);
    const large = random.int(2 ** 40);
    expect(Number.isInteger(large) && large >= 0 && large < 2 ** 40).toBe(true);
    expect(() => random.int(0)).toThrow(RangeError);
    expect(() => random.int(2.5)).toThrow(RangeError);
  });

  it('makes bytes of any length and version 4 UUIDs', () => {
    const random = new SeededRandom('bytes');
    expect(random.bytes(0)).toHaveLength(0);
    expect(random.bytes(7)).toHaveLength(7);
    expect(random.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('draws nothing for a certain or impossible chance, so a fault left off shifts no stream', () => {
    const a = new SeededRandom('chance');
    const b = new SeededRandom('chance');
    expect(a.chance(0)).toBe(false);
    expect(a.chance(1)).toBe(true);
    expect(a.nextUint32()).toBe(b.nextUint32());
    expect(a.shuffle([1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(['x', 'y']).toContain(a.pick(['x', 'y']));
  });
});
