/**
 * The Transport port: how a site talks to other sites. Document sync, heartbeats and the redialer
 * are written against this interface only, so that the simulator can run them unchanged over a
 * simulated network. Implementations: Libp2pTransport (TCP, noise, yamux, identify, gossipsub) and
 * MemoryTransport (in-process); both pass the contract suite in transport-contract.ts.
 */
import type { PeerIdString } from '../core/ids.js';

export interface TransportEvents {
  /** A connection to `peer` is open (it may already have been open for another reason). */
  'peer:connect': { readonly peer: PeerIdString };
  /** The last connection to `peer` closed. */
  'peer:disconnect': { readonly peer: PeerIdString };
  /** A direct message arrived from `from` on `channel` (in the order `from` sent them). */
  message: { readonly from: PeerIdString; readonly channel: string; readonly data: Uint8Array };
  /** A gossip message arrived on `topic`, first published by `from`. */
  gossip: { readonly from: PeerIdString; readonly topic: string; readonly data: Uint8Array };
}

export type TransportEventName = keyof TransportEvents;
export type TransportListener<E extends TransportEventName> = (event: TransportEvents[E]) => void;

export interface Transport {
  /** This site's peer id; stable across restarts on the same data directory. */
  readonly peerId: PeerIdString;
  /** Addresses other sites can dial, each ending in `/p2p/<peerId>`. */
  addresses(): string[];
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Opens a connection to `address` (a multiaddr that may omit `/p2p/<peer id>`; the id is learnt
   * on connection) and resolves with the remote peer id. Rejects with CHEOPS_SITE_UNREACHABLE.
   */
  dial(address: string, signal?: AbortSignal): Promise<PeerIdString>;
  /** Closes every connection to `peer`. */
  hangUp(peer: PeerIdString): Promise<void>;
  /** Peers with an open connection. */
  connectedPeers(): PeerIdString[];
  /**
   * Sends one message to `peer` on `channel`. Messages to one peer on one channel arrive in order.
   * Rejects with CHEOPS_SITE_UNREACHABLE when there is no connection to `peer`.
   */
  send(peer: PeerIdString, channel: string, data: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** Receive gossip published on `topic`. */
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** Publishes `data` on `topic` to every subscribed peer (never delivered back to this peer). */
  publish(topic: string, data: Uint8Array): Promise<void>;
  on<E extends TransportEventName>(event: E, listener: TransportListener<E>): void;
  off<E extends TransportEventName>(event: E, listener: TransportListener<E>): void;
}
