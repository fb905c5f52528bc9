/**
 * The deterministic simulator (DESIGN.md §4, issue 5): a simulated clock, seeded randomness, a
 * simulated network and disks, and a harness that runs N sites under them from one seed. See
 * README.md for the models and how to use it.
 */
export { SimClock, ClockScope, SimulationStalledError, TimerCallbackError, type SimClockOptions, type RunLimit } from './core/sim-clock.js';
export { SeededRandom, type Seed } from './core/seeded-random.js';
export { sampleLatency, checkLatency, describeLatency, type LatencyDistribution } from './core/distributions.js';
export { Trace, formatTraceEvent, type TraceEvent, type TraceData, type TraceValue } from './core/trace.js';
export { SimLogger } from './core/sim-logger.js';
export { drainPendingWork } from './core/drain.js';
export { SimNetwork, type SimNetworkOptions } from './network/sim-network.js';
export type { NetworkStats } from './network/network-stats.js';
export { defaultLinkProfile, perfectLink, linkProfile, type LinkProfile } from './network/link-profile.js';
export type { PartitionId, PartitionMode, PartitionInfo } from './network/partitions.js';
export { SimDisk, SimStorage, type SimDiskOptions, type DiskStats } from './storage/sim-disk.js';
export { startSimulation, Simulation, type SimulationOptions } from './harness/simulation.js';
export { SimHttp, type HttpStats, type HttpHost } from './network/sim-http.js';
export { SimSite, SiteDownError, type SiteState } from './harness/sim-site.js';
export { defaultNodeSettings, simHttpUrl, type SimNode, type SimNodeSettings } from './harness/sim-node.js';
export { AppLog, opMarkerAnnotation, type AppWrite, type AppObjectKey } from './harness/app-log.js';
export type { SiteHooks, SiteHookContext } from './harness/site-hooks.js';
