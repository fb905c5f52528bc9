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

/**
 * What a new stream may receive before its first window update. Yamux starts at 256 KiB and
 * doubles per round trip while data flows: at an edge link's 100 ms round trip a fresh stream
 * carries ~2.5 MB/s at first, and a heal, which sends megabytes of whole documents right after a
 * reconnection, waited on that (heal bench, K = 1000: documents converged in 1.4–1.5 s, 1.0–1.15 s
 * with 2 to 4 MiB). 4 MiB is a stream's read buffer limit (@libp2p/utils), so a peer still cannot
 * overfill it; Cheops reads its streams as messages arrive, and bounds what waits (doc-sync.ts).
 */
const initialStreamWindowBytes = 4 * 1024 * 1024;

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
    streamMuxers: [yamux({ streamOptions: { initialStreamWindowSize: initialStreamWindowBytes } })],
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
