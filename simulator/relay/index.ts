/** The TCP link relay: real processes over real sockets, under edge-network conditions (README.md). */
export { DelayLine, LinkDirection, type DirectionStats } from './delay-line.js';
export {
  chunkDelayMs, describeConditions, idealLink, linkConditions, lossPenaltyMs, meanLatencyMs, parseBandwidth, parseLatency,
  parseLoss, parseMilliseconds, type LatencyDistribution, type LinkConditions,
} from './link-conditions.js';
export { RefusingListener } from './refusing-listener.js';
export { RelayMesh, type LinkStatus, type MeshSite, type RelayMeshOptions } from './relay-mesh.js';
export { cutModes, TcpLinkRelay, type CutMode, type LinkState, type TcpLinkRelayOptions, type TcpLinkRelayStats } from './tcp-link-relay.js';
