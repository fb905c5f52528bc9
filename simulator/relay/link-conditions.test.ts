import { describe, expect, it } from 'vitest';
import type { Random } from '../../core/random.js';
import { SeededRandom } from '../core/seeded-random.js';
import {
  chunkDelayMs, describeConditions, idealLink, linkConditions, lossPenaltyMs, parseBandwidth, parseLatency, parseLoss,
} from './link-conditions.js';

describe('link conditions', () => {
  it('parses latencies as users write them', () => {
    expect(parseLatency('50ms')).toEqual({ type: 'fixed', ms: 50 });
    expect(parseLatency('0.1s')).toEqual({ type: 'fixed', ms: 100 });
    expect(parseLatency('20')).toEqual({ type: 'fixed', ms: 20 });
    expect(parseLatency('20-80ms')).toEqual({ type: 'uniform', minMs: 20, maxMs: 80 });
    expect(parseLatency('1-2s')).toEqual({ type: 'uniform', minMs: 1000, maxMs: 2000 });
    expect(parseLatency('50ms+-10ms')).toEqual({ type: 'normal', meanMs: 50, stdDevMs: 10 });
    expect(parseLatency('50±10ms')).toEqual({ type: 'normal', meanMs: 50, stdDevMs: 10 });
    expect(parseLatency('50ms,p99=200ms')).toEqual({ type: 'long-tail', medianMs: 50, p99Ms: 200 });
    expect(() => parseLatency('fast')).toThrow(/invalid --latency "fast": expected a one-way delay/);
    expect(() => parseLatency('80-20ms')).toThrow(/invalid --latency/);
  });

  it('parses loss rates and bandwidths', () => {
    expect(parseLoss('1%')).toBeCloseTo(0.01);
    expect(parseLoss('0.05')).toBeCloseTo(0.05);
    expect(() => parseLoss('100%')).toThrow(/invalid --loss/);
    expect(parseBandwidth('10mbit')).toBe(1_250_000);
    expect(parseBandwidth('512kbit')).toBe(64_000);
    expect(parseBandwidth('2MB/s')).toBe(2_000_000);
    expect(() => parseBandwidth('fast')).toThrow(/invalid --bandwidth/);
  });

  it('describes conditions briefly', () => {
    expect(describeConditions(idealLink)).toBe('0ms');
    expect(describeConditions(linkConditions({ latency: { type: 'fixed', ms: 50 }, loss: 0.01, bandwidthBytesPerSecond: 1_250_000 }))).toBe(
      '50ms, 1% loss, 10 Mbit/s',
    );
    expect(() => linkConditions({ loss: 1 })).toThrow(RangeError);
  });

  it('a loss is a delay, never a drop: fast retransmit with packets behind, a tail-loss probe without', () => {
    const scripted = (...draws: number[]): Random => {
      const random = new SeededRandom(0);
      return {
        float: () => draws.shift() ?? 0.99,
        int: (max) => random.int(max),
        bytes: (length) => random.bytes(length),
        uuid: () => random.uuid(),
        fork: () => random,
      };
    };
    const conditions = linkConditions({ loss: 0.1 });
    // The first packet of ten is lost and its retransmission gets through: nine follow it, one round trip.
    expect(lossPenaltyMs(conditions, 10, 100, scripted(0.01, 0.5))).toEqual({ delayMs: 100, retransmits: 1 });
    // The last packet is lost: a tail, repaired by a probe two round trips later.
    expect(lossPenaltyMs(conditions, 3, 100, scripted(0.5, 0.5, 0.01, 0.5))).toEqual({ delayMs: 200, retransmits: 1 });
    expect(lossPenaltyMs(conditions, 3, 100, scripted(0.5, 0.5, 0.5))).toEqual({ delayMs: 0, retransmits: 0 });
    const random = new SeededRandom(1);
    const sometimes = linkConditions({ loss: 0.5 });
    const penalties = Array.from({ length: 2000 }, () => lossPenaltyMs(sometimes, 1, 100, random));
    const lost = penalties.filter((penalty) => penalty.retransmits > 0);
    expect(lost.length / penalties.length).toBeGreaterThan(0.45);
    expect(lost.length / penalties.length).toBeLessThan(0.55);
    // A single-packet chunk is a tail: its first repair costs two round trips; a lost repair adds the RTO.
    expect(Math.min(...lost.map((penalty) => penalty.delayMs))).toBe(200);
    expect(lost.some((penalty) => penalty.retransmits === 2 && penalty.delayMs === 200 + 300)).toBe(true);
  });

  it('draws more losses for bigger chunks: loss is per packet', () => {
    const conditions = linkConditions({ latency: { type: 'fixed', ms: 10 }, loss: 0.01 });
    const random = new SeededRandom(2);
    const share = (bytes: number): number => {
      let lost = 0;
      for (let i = 0; i < 5000; i += 1) if (chunkDelayMs(conditions, bytes, random).retransmits > 0) lost += 1;
      return lost / 5000;
    };
    expect(share(100)).toBeLessThan(0.02);
    expect(share(14_600)).toBeGreaterThan(0.06);
  });
});
