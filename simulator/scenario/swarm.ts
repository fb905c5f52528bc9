/**
 * Swarm testing (`cheops sim --swarm N`): each seed draws its own settings (how many sites, how
 * long, which faults, which latency, how much work), so that N seeds explore N different corners
 * rather than one corner N times. Settings depend on the seed only, so a failing seed replays
 * from the command its report prints.
 */
import type { LatencyDistribution } from '../core/distributions.js';
import { SeededRandom, type Seed } from '../core/seeded-random.js';
import { faultKinds, type FaultKind } from '../faults/fault-kinds.js';
import type { ScenarioOptions } from './scenario-options.js';

const latencies: readonly LatencyDistribution[] = [
  { type: 'fixed', ms: 5 },
  { type: 'uniform', minMs: 10, maxMs: 50 },
  { type: 'uniform', minMs: 40, maxMs: 120 },
  { type: 'long-tail', medianMs: 20, p99Ms: 200 },
  { type: 'long-tail', medianMs: 60, p99Ms: 600 },
  { type: 'normal', meanMs: 30, stdDevMs: 10 },
];

/** How long each application takes to answer: at once in two seeds of five. Drawn after the other settings, so a seed keeps those it had before this was added. */
const appLatencies: readonly { readonly appLatency?: LatencyDistribution }[] = [
  {},
  {},
  { appLatency: { type: 'fixed', ms: 2 } },
  { appLatency: { type: 'uniform', minMs: 1, maxMs: 20 } },
  { appLatency: { type: 'long-tail', medianMs: 5, p99Ms: 100 } },
];

/** The settings seed `seed` runs with in a swarm. */
export function swarmSettings(seed: Seed): Omit<ScenarioOptions, 'onProgress' | 'hooks'> {
  const random = new SeededRandom(seed).fork('swarm');
  const sites = 2 + random.int(6);
  // Each fault on with probability 3/4: most seeds mix several, some run clean. Application
  // outages and disk faults are drawn last, as the applications' latency, for the same reason.
  const drawnLast: readonly FaultKind[] = ['app-outages', 'disk-full', 'slow-disk'];
  const drawnFirst = faultKinds.filter((kind) => !drawnLast.includes(kind));
  const faults: FaultKind[] = drawnFirst.filter(() => random.chance(0.75));
  const settings = {
    seed,
    sites,
    durationMs: (10 + random.int(31)) * 1_000,
    latency: random.pick(latencies),
    operations: 20 + random.int(131),
    ...random.pick(appLatencies),
  };
  for (const kind of drawnLast) if (random.chance(0.75)) faults.push(kind);
  return { ...settings, faults };
}

/** The seeds of a swarm of `count` runs from `first`: `first`, `first + 1`, … (or `first-0`, `first-1`, … for a text seed). */
export function swarmSeeds(first: Seed, count: number): Seed[] {
  const base = typeof first === 'number' ? first : Number.isSafeInteger(Number(first)) && first.trim() !== '' ? Number(first) : undefined;
  return Array.from({ length: count }, (_, index) => (base === undefined ? `${String(first)}-${index}` : base + index));
}
