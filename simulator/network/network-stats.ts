/** The simulated network's counters over a whole run (timeline summaries, tests, benchmarks). */

/** Counters over the whole run. */
export interface NetworkStats {
  messagesSent: number;
  /** Bytes of the direct messages sent. */
  bytesSent: number;
  messagesDelivered: number;
  /** Direct messages lost with their connection (in flight or held when it closed, or sent on it dying). */
  messagesLost: number;
  /** Direct messages held by a stalled direction at some point. */
  messagesHeld: number;
  retransmits: number;
  gossipSent: number;
  /** Bytes of the gossip copies sent (one per subscriber). */
  gossipBytes: number;
  gossipDelivered: number;
  gossipLost: number;
  gossipDuplicated: number;
  connects: number;
  disconnects: number;
  /** Connections refused by a partition. */
  refused: number;
  resets: number;
}

/** Every counter at zero. */
export function emptyStats(): NetworkStats {
  return {
    messagesSent: 0,
    bytesSent: 0,
    messagesDelivered: 0,
    messagesLost: 0,
    messagesHeld: 0,
    retransmits: 0,
    gossipSent: 0,
    gossipBytes: 0,
    gossipDelivered: 0,
    gossipLost: 0,
    gossipDuplicated: 0,
    connects: 0,
    disconnects: 0,
    refused: 0,
    resets: 0,
  };
}
