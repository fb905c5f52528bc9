/**
 * What one direction of a relayed link does to the bytes it carries, as plain data, and the
 * parsers that read it from the command line (`50ms`, `20-80ms`, `1%`, `10mbit`).
 *
 * The model (README.md in this folder): a relay is a TCP proxy, so it carries a byte stream that
 * TCP has already made reliable. Latency is applied to every chunk it reads, in each direction,
 * and chunks keep their order (a jittery link still delivers a TCP stream in order). Loss on a real
 * TCP link is never missing bytes: the sender retransmits, and the receiver sees the data late
 * and everything behind it waiting (head-of-line blocking). So loss here is a delay spike drawn
 * per packet of the chunk, sized as a Linux sender would pay it (see `lossPenaltyMs`).
 */
import { CheopsError, ErrorCode } from '../../core/errors.js';
import type { Random } from '../../core/random.js';
import { checkLatency, describeLatency, sampleLatency, type LatencyDistribution } from '../core/distributions.js';

export type { LatencyDistribution } from '../core/distributions.js';

/** The conditions of one direction of a link. */
export interface LinkConditions {
  /** One-way delay of each chunk. */
  readonly latency: LatencyDistribution;
  /** Probability that a packet is lost (and retransmitted), in [0, 1). */
  readonly loss: number;
  /** Bytes per second the link carries; undefined: as fast as loopback. */
  readonly bandwidthBytesPerSecond: number | undefined;
  /** Linux's floor of the retransmission timeout (`tcp_rto_min`, 200 ms). */
  readonly minRtoMs: number;
  /** Bytes per packet when a chunk is counted in packets for loss (an Ethernet MSS). */
  readonly segmentBytes: number;
}

/** No delay, no loss, no limit: a relay that only counts bytes and can be cut. */
export const idealLink: LinkConditions = {
  latency: { type: 'fixed', ms: 0 },
  loss: 0,
  bandwidthBytesPerSecond: undefined,
  minRtoMs: 200,
  segmentBytes: 1460,
};

/** `base` with `overrides`, checked. */
export function linkConditions(overrides: Partial<LinkConditions> = {}, base: LinkConditions = idealLink): LinkConditions {
  const conditions: LinkConditions = { ...base, ...overrides };
  checkLatency(conditions.latency, 'link latency');
  if (!(conditions.loss >= 0 && conditions.loss < 1)) throw new RangeError(`link loss must be in [0, 1), got ${conditions.loss}`);
  const bandwidth = conditions.bandwidthBytesPerSecond;
  if (bandwidth !== undefined && !(bandwidth > 0 && Number.isFinite(bandwidth))) {
    throw new RangeError(`link bandwidth must be a positive number of bytes per second, got ${bandwidth}`);
  }
  if (!(conditions.minRtoMs >= 0) || !(conditions.segmentBytes >= 1)) throw new RangeError('link minRtoMs must be ≥ 0 and segmentBytes ≥ 1');
  return conditions;
}

/** The expected one-way delay of a distribution (for round-trip estimates and printed summaries). */
export function meanLatencyMs(latency: LatencyDistribution): number {
  switch (latency.type) {
    case 'fixed':
      return latency.ms;
    case 'uniform':
      return (latency.minMs + latency.maxMs) / 2;
    case 'normal':
      return latency.meanMs;
    case 'long-tail': {
      const sigma = (Math.log(latency.p99Ms) - Math.log(latency.medianMs)) / 2.326_347_874;
      return latency.medianMs * Math.exp((sigma * sigma) / 2);
    }
  }
}

/**
 * The extra delay of a chunk of `segments` packets on which loss was drawn, and how many packets
 * were retransmitted. A Linux sender (RACK-TLP) repairs a lost packet that has at least three
 * packets behind it by fast retransmit, one round trip late; a lost tail packet by a tail-loss
 * probe, about two round trips late. A retransmission that is lost again waits for the RTO
 * (round trip + `minRtoMs`), doubling each time, as TCP's backoff does. Nothing is ever dropped.
 */
export function lossPenaltyMs(conditions: LinkConditions, segments: number, rttMs: number, random: Random): { delayMs: number; retransmits: number } {
  if (conditions.loss <= 0) return { delayMs: 0, retransmits: 0 };
  let first = -1;
  for (let segment = 0; segment < segments; segment += 1) {
    if (random.float() < conditions.loss) {
      first = segment;
      break;
    }
  }
  if (first === -1) return { delayMs: 0, retransmits: 0 };
  let delayMs = segments - first - 1 >= 3 ? rttMs : Math.max(2 * rttMs, 10);
  let retransmits = 1;
  let rto = rttMs + conditions.minRtoMs;
  // A retransmission lost again: cap the backoff well before TCP would give up on the connection.
  while (retransmits < 8 && random.float() < conditions.loss) {
    delayMs += rto;
    rto *= 2;
    retransmits += 1;
  }
  return { delayMs, retransmits };
}

/** One-way delay of one chunk: the latency drawn, plus the loss penalty. */
export function chunkDelayMs(conditions: LinkConditions, bytes: number, random: Random): { delayMs: number; retransmits: number } {
  const latencyMs = sampleLatency(conditions.latency, random);
  if (conditions.loss <= 0) return { delayMs: latencyMs, retransmits: 0 };
  const segments = Math.max(1, Math.ceil(bytes / conditions.segmentBytes));
  // The sender's view of the round trip: this direction's mean both ways is the best a relay knows.
  const penalty = lossPenaltyMs(conditions, segments, 2 * meanLatencyMs(conditions.latency), random);
  return { delayMs: latencyMs + penalty.delayMs, retransmits: penalty.retransmits };
}

/** A short form for tables and logs: `50ms`, `20–80ms, 1% loss, 10 Mbit/s`. */
export function describeConditions(conditions: LinkConditions): string {
  const parts = [describeLatency(conditions.latency)];
  if (conditions.loss > 0) parts.push(`${formatNumber(conditions.loss * 100)}% loss`);
  if (conditions.bandwidthBytesPerSecond !== undefined) parts.push(formatBandwidth(conditions.bandwidthBytesPerSecond));
  return parts.join(', ');
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(3).replace(/0+$/, '');
}

function formatBandwidth(bytesPerSecond: number): string {
  const bits = bytesPerSecond * 8;
  if (bits >= 1e9) return `${formatNumber(bits / 1e9)} Gbit/s`;
  if (bits >= 1e6) return `${formatNumber(bits / 1e6)} Mbit/s`;
  return `${formatNumber(bits / 1e3)} kbit/s`;
}

function invalid(name: string, value: string, expected: string): CheopsError {
  return new CheopsError(ErrorCode.ConfigInvalid, `invalid ${name} ${JSON.stringify(value)}: expected ${expected}`, {
    details: { name, value, expected },
  });
}

const durationPattern = /^(\d+(?:\.\d+)?)(ms|s)?$/;

/** `50ms`, `0.05s` or `50` (milliseconds) as milliseconds; undefined when it is none of them. */
export function parseMilliseconds(text: string): number | undefined {
  const match = durationPattern.exec(text.trim());
  if (match === null) return undefined;
  const value = Number(match[1]);
  return match[2] === 's' ? value * 1000 : value;
}

const latencyHelp = "a one-way delay: 50ms (fixed), 20-80ms (uniform), 50ms+-10ms (normal), 50ms,p99=200ms (long tail)";

/** Reads a latency as users write it (`latencyHelp`); `name` is the flag, for the error. */
export function parseLatency(text: string, name = '--latency'): LatencyDistribution {
  const value = text.trim().replace('±', '+-');
  const single = parseMilliseconds(value);
  if (single !== undefined) return { type: 'fixed', ms: single };
  const uniform = /^(\d+(?:\.\d+)?)(ms|s)?-(\d+(?:\.\d+)?(?:ms|s)?)$/.exec(value);
  if (uniform !== null) {
    const unit = uniform[2] ?? (/s$/.test(uniform[3] ?? '') && !/ms$/.test(uniform[3] ?? '') ? 's' : 'ms');
    const minMs = parseMilliseconds(`${uniform[1]}${unit}`);
    const maxMs = parseMilliseconds(uniform[3] ?? '');
    if (minMs !== undefined && maxMs !== undefined && maxMs >= minMs) return { type: 'uniform', minMs, maxMs };
  }
  const [meanText, spreadText] = value.split('+-');
  if (spreadText !== undefined) {
    const meanMs = parseMilliseconds(meanText ?? '');
    const stdDevMs = parseMilliseconds(spreadText);
    if (meanMs !== undefined && stdDevMs !== undefined) return { type: 'normal', meanMs, stdDevMs };
  }
  const tail = /^([^,]+),p99=(.+)$/.exec(value);
  if (tail !== null) {
    const medianMs = parseMilliseconds(tail[1] ?? '');
    const p99Ms = parseMilliseconds(tail[2] ?? '');
    if (medianMs !== undefined && p99Ms !== undefined && medianMs > 0 && p99Ms >= medianMs) return { type: 'long-tail', medianMs, p99Ms };
  }
  throw invalid(name, text, latencyHelp);
}

/** `1%` or `0.01` as a probability in [0, 1). */
export function parseLoss(text: string, name = '--loss'): number {
  const match = /^(\d+(?:\.\d+)?)(%)?$/.exec(text.trim());
  const value = match === null ? Number.NaN : Number(match[1]) / (match[2] === '%' ? 100 : 1);
  if (!(value >= 0 && value < 1)) throw invalid(name, text, 'a loss rate below 100%, such as 1% or 0.01');
  return value;
}

const bandwidthUnits: Record<string, number> = {
  bit: 1 / 8, kbit: 1e3 / 8, mbit: 1e6 / 8, gbit: 1e9 / 8,
  'b/s': 1, 'kb/s': 1e3, 'mb/s': 1e6, 'gb/s': 1e9,
};

/** `10mbit`, `512kbit` (tc's units, per second) or `2MB/s` as bytes per second. */
export function parseBandwidth(text: string, name = '--bandwidth'): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z/]+)$/i.exec(text.trim());
  const unit = bandwidthUnits[(match?.[2] ?? '').toLowerCase().replace(/ps$/, '/s')];
  const value = match === null || unit === undefined ? Number.NaN : Number(match[1]) * unit;
  if (!(value > 0 && Number.isFinite(value))) throw invalid(name, text, 'a rate such as 10mbit, 512kbit or 2MB/s');
  return value;
}
