/**
 * Builds the libp2p node of a site: TCP, noise, yamux, identify (gossipsub needs it to learn
 * protocols), ping, and @libp2p/gossipsub (not @chainsafe/libp2p-gossipsub, which under libp2p 3
 * never sees a subscriber: DESIGN.md §11).
 */
// libp2p 3 calls Promise.withResolvers, which Node 20 lacks: whoever builds a node gets the polyfill.
import '../core/polyfills.js';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { identify, type Identify } from '@libp2p/identify';
import type { ConnectionGater, PeerId, PrivateKey } from '@libp2p/interface';
import { ping, type Ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { createLibp2p, type Libp2p } from 'libp2p';
import { asPeerIdString, type PeerIdString } from '../core/ids.js';
import { corkedWrites } from './corked-tcp.js';

/** The services a Cheops libp2p node runs. */
export interface CheopsServices {
  readonly identify: Identify;
  readonly ping: Ping;
  readonly pubsub: GossipSub;
}

export type CheopsLibp2p = Libp2p<CheopsServices & Record<string, unknown>>;

export interface CheopsLibp2pInit {
  readonly privateKey: PrivateKey;
  readonly listen: readonly string[];
  readonly announce?: readonly string[] | undefined;
  /** False refuses any connection with `peer`, both ways (a partition inside one process). */
  readonly allowPeer?: ((peer: PeerIdString) => boolean) | undefined;
}

function gater(allowPeer: ((peer: PeerIdString) => boolean) | undefined): ConnectionGater {
  if (allowPeer === undefined) return {};
  const deny = (peerId: PeerId): boolean => !allowPeer(asPeerIdString(peerId.toString()));
  return {
    denyDialPeer: deny,
    denyInboundEncryptedConnection: deny,
    denyOutboundEncryptedConnection: deny,
  };
}

/** Creates (without starting) the libp2p node. */
export async function createCheopsLibp2p(init: CheopsLibp2pInit): Promise<CheopsLibp2p> {
  const node = await createLibp2p({
    start: false,
    privateKey: init.privateKey,
    addresses: {
      listen: [...init.listen],
      ...(init.announce === undefined ? {} : { announce: [...init.announce] }),
    },
    // Corked: noise writes each message as two buffers, and @libp2p/tcp each buffer on its own.
    transports: [corkedWrites(tcp())],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: gater(init.allowPeer),
    // Off: heartbeats (p2p/heartbeat.ts) close a connection that stops answering. The monitor
    // opened a new ping stream on every connection every 10 s, a third of an idle site's CPU.
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        // Subscriptions arrive 45–120 ms after a dial; publishing earlier must not throw.
        allowPublishToZeroTopicPeers: true,
        // On by default; said again because it delivers before the mesh forms (DESIGN.md §11).
        floodPublish: true,
        emitSelf: false,
      }),
    },
  });
  return node;
}
