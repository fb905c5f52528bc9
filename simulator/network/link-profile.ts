/**
 * What a simulated link does to the messages it carries, and why (the model, README.md):
 *
 * Direct messages ride a connection, which in production is one yamux stream over one TCP
 * connection. A stream never loses, duplicates or reorders bytes while it lives, so on a
 * connection:
 * - a lost packet is retransmitted: the message arrives one retransmission timeout later (doubling
 *   each time, as TCP's backoff does), and every later message waits behind it (head-of-line
 *   blocking: the network keeps each direction of a connection first-in first-out);
 * - after too many retransmissions, or by a `reset` draw, the connection dies: that message and
 *   all later ones on it are lost, both sides see the connection close one delay later, and the
 *   redialer opens a new one. This is where direct messages are lost, and what the next session
 *   must recover from.
 * Gossip does not ride one stream: gossipsub forwards through the mesh, so each gossip message
 * takes its own path, with its own delay. It is not ordered with the direct messages nor with
 * other gossip (reordering), a lost packet loses it (gossip has no retransmission of its own),
 * and it can arrive twice by two paths (gossipsub drops duplicates it has seen; the simulator
 * delivers them anyway, a stricter test: receivers must be idempotent).
 */
import type { Random } from '../../core/random.js';
import { checkLatency, sampleLatency, type LatencyDistribution } from '../core/distributions.js';

export interface LinkProfile {
  /** One-way delay of a message. */
  readonly latency: LatencyDistribution;
  /** Probability that a message's packet is lost (retransmitted on a connection, lost for gossip). */
  readonly loss: number;
  /** First retransmission timeout, doubled at each retry; default 200 ms (Linux's minimum RTO). */
  readonly retransmitMs: number;
  /** Retransmissions after which the connection is given up and closed; default 6 (~12.6 s). */
  readonly maxRetransmits: number;
  /** Probability, per direct message, that the connection is reset while carrying it. */
  readonly reset: number;
  /** Probability that a gossip message also arrives a second time, with its own delay. */
  readonly duplicate: number;
  /** Probability that a gossip message detours through another peer: one more delay. */
  readonly reorder: number;
}

/** No delay and no faults: the in-process links of unit tests. */
export const perfectLink: LinkProfile = {
  latency: { type: 'fixed', ms: 0 },
  loss: 0,
  retransmitMs: 200,
  maxRetransmits: 6,
  reset: 0,
  duplicate: 0,
  reorder: 0,
};

/** A good regional link: 5–25 ms one way, no faults until a test asks for them. */
export const defaultLinkProfile: LinkProfile = {
  ...perfectLink,
  latency: { type: 'uniform', minMs: 5, maxMs: 25 },
};

/** `base` with `overrides`, checked: probabilities in [0, 1], delays valid. */
export function linkProfile(overrides: Partial<LinkProfile> = {}, base: LinkProfile = defaultLinkProfile): LinkProfile {
  const profile: LinkProfile = { ...base, ...overrides };
  checkLatency(profile.latency, 'link latency');
  for (const name of ['loss', 'reset', 'duplicate', 'reorder'] as const) {
    const value = profile[name];
    if (!(value >= 0 && value <= 1)) throw new RangeError(`link ${name} must be a probability in [0, 1], got ${value}`);
  }
  if (!(profile.retransmitMs > 0) || !Number.isFinite(profile.retransmitMs)) {
    throw new RangeError(`link retransmitMs must be a positive number, got ${profile.retransmitMs}`);
  }
  if (!Number.isInteger(profile.maxRetransmits) || profile.maxRetransmits < 0) {
    throw new RangeError(`link maxRetransmits must be an integer ≥ 0, got ${profile.maxRetransmits}`);
  }
  return profile;
}

/** The fate of one direct message on a live connection. */
export type DirectFate =
  | { readonly type: 'deliver'; readonly delayMs: number; readonly retransmits: number }
  /** The connection dies with this message; peers notice after `noticeAfterMs`. */
  | { readonly type: 'reset'; readonly noticeAfterMs: number; readonly cause: 'reset' | 'retransmits' };

/** Draws the fate of one direct message. The order of draws is fixed: reset, delay, losses. */
export function directFate(profile: LinkProfile, random: Random): DirectFate {
  if (chance(random, profile.reset)) {
    return { type: 'reset', noticeAfterMs: sampleLatency(profile.latency, random), cause: 'reset' };
  }
  let delayMs = sampleLatency(profile.latency, random);
  let retransmits = 0;
  while (chance(random, profile.loss)) {
    if (retransmits >= profile.maxRetransmits) {
      return { type: 'reset', noticeAfterMs: delayMs, cause: 'retransmits' };
    }
    delayMs += profile.retransmitMs * 2 ** retransmits;
    retransmits += 1;
  }
  return { type: 'deliver', delayMs, retransmits };
}

/** The delays of the copies of one gossip message that arrive: none when it is lost. */
export function gossipFate(profile: LinkProfile, random: Random): number[] {
  if (chance(random, profile.loss)) return [];
  const path = (): number => {
    const delay = sampleLatency(profile.latency, random);
    return chance(random, profile.reorder) ? delay + sampleLatency(profile.latency, random) : delay;
  };
  const first = path();
  return chance(random, profile.duplicate) ? [first, path()] : [first];
}

/** True with `probability`; draws nothing when it is 0 or 1, so a fault left off shifts no stream. */
function chance(random: Random, probability: number): boolean {
  if (probability <= 0) return false;
  if (probability >= 1) return true;
  return random.float() < probability;
}
