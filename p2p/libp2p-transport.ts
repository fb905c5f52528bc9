/**
 * The Transport port over libp2p: TCP + noise + yamux, direct messages on one protocol, gossip on
 * @libp2p/gossipsub. Only p2p/ imports libp2p; the rest of Cheops sees the Transport port.
 *
 * Direct messages go on long-lived outbound streams, reused and written strictly one frame at a
 * time (PeerSender). There is one such stream per (peer, channel), not one per peer: order is only
 * promised per channel, and a separate stream keeps a heartbeat from waiting behind megabytes of
 * sync on the same queue, which would inflate RTTs and could mark a busy peer down.
 */
import type { Message } from '@libp2p/gossipsub';
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { LengthPrefixedDecoder } from '@libp2p/utils';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { Clock } from '../core/clock.js';
import { CheopsError, ErrorCode, errorMessage } from '../core/errors.js';
import { asPeerIdString, type PeerIdString } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { systemClock } from '../core/system.js';
import { decodeFrameBody, defaultMaxMessageBytes, encodeFrame, isChannelName, maxChannelBytes } from './frame-codec.js';
import { createCheopsLibp2p, type CheopsLibp2p } from './libp2p-node.js';
import { loadOrCreatePrivateKey, type KeyStore } from './peer-identity.js';
import { PeerSender } from './peer-sender.js';
import { TypedEmitter } from './typed-emitter.js';
import type { Transport, TransportEventName, TransportEvents, TransportListener } from './transport.js';
import { PeerWarningLimiter, type WarningLimiterOptions } from './warning-limiter.js';

/** The protocol of direct messages. */
export const messageProtocol = '/cheops/msg/1.0.0';

export interface Libp2pTransportOptions {
  /** Multiaddrs to listen on (`/ip4/127.0.0.1/tcp/9001`); port 0 picks a free port. */
  readonly listen: readonly string[];
  /** Addresses to announce instead of the listening ones (a public address, a wildcard bind). */
  readonly announce?: readonly string[];
  /** Where the private key is kept, so the peer id survives restarts. */
  readonly keyStore: KeyStore;
  /** Largest direct message in bytes; default 8 MiB. */
  readonly maxMessageBytes?: number;
  /** False refuses every connection with that peer, both ways: a partition inside one process. */
  readonly allowPeer?: (peer: PeerIdString) => boolean;
  /** Limits of the warnings a peer's malformed frames can cause (see PeerWarningLimiter). */
  readonly warnings?: WarningLimiterOptions;
}

/** What the transport needs from the site. */
export interface Libp2pTransportComponents {
  readonly logger: Logger;
  /**
   * Times the windows of rate-limited warnings. Optional: libp2p reads the real clock anyway, so
   * this transport never runs on a simulated one; the composition root should still pass its own.
   */
  readonly clock?: Clock;
}

/** The rate-limit key of gossip that names no sender. */
const unsignedSender = '(unsigned)';

/** Creates the transport (loading or making its private key); `start()` opens the listeners. */
export async function createLibp2pTransport(
  options: Libp2pTransportOptions,
  components: Libp2pTransportComponents,
): Promise<Libp2pTransport> {
  const privateKey = await loadOrCreatePrivateKey(options.keyStore);
  const node = await createCheopsLibp2p({
    privateKey,
    listen: options.listen,
    announce: options.announce,
    allowPeer: options.allowPeer,
  });
  const warnings = new PeerWarningLimiter(options.warnings ?? {}, {
    clock: components.clock ?? systemClock,
    logger: components.logger.child({ component: 'libp2p-transport' }),
  });
  return new Libp2pTransport(node, options.maxMessageBytes ?? defaultMaxMessageBytes, components.logger, warnings);
}

/** Peer ids as text, kept per PeerId object: base58 encoding on every lookup was ~3% of a busy node's CPU. */
const peerTexts = new WeakMap<PeerId, PeerIdString>();
const maxParsedPeers = 1_024;

function peerText(peer: PeerId): PeerIdString {
  let text = peerTexts.get(peer);
  if (text === undefined) {
    text = asPeerIdString(peer.toString());
    peerTexts.set(peer, text);
  }
  return text;
}

function unreachable(peer: string, reason: string, cause?: unknown): CheopsError {
  return new CheopsError(ErrorCode.SiteUnreachable, `${peer}: ${reason}`, { cause, details: { peer } });
}

/** Transport over a libp2p node. Build it with `createLibp2pTransport`. */
export class Libp2pTransport implements Transport {
  readonly peerId: PeerIdString;
  private readonly node: CheopsLibp2p;
  private readonly maxMessageBytes: number;
  private readonly logger: Logger;
  private readonly events: TypedEmitter<TransportEvents>;
  private readonly senders = new Map<PeerIdString, Map<string, PeerSender>>();
  private readonly topics = new Set<string>();
  /** Peer ids parsed from text, so a send does not decode base58 again. */
  private readonly parsedPeers = new Map<PeerIdString, PeerId>();
  /** Malformed frames and unsigned gossip: one warning each would let a peer flood the log. */
  private readonly warnings: PeerWarningLimiter;
  private running = false;
  /**
   * The connected peers, as libp2p last listed them; dropped whenever a connection opens or closes
   * and when a peer connects or disconnects (libp2p announces those once its list has changed).
   * Listing them walks every connection and base58-encodes every peer id (~0.7 ms), and document
   * sync asks for each document it writes: thousands of times in a heal.
   */
  private connectedCache: readonly PeerIdString[] | undefined;

  constructor(node: CheopsLibp2p, maxMessageBytes: number, logger: Logger, warnings: PeerWarningLimiter) {
    this.node = node;
    this.peerId = asPeerIdString(node.peerId.toString());
    this.maxMessageBytes = maxMessageBytes;
    this.logger = logger.child({ component: 'libp2p-transport' });
    this.events = new TypedEmitter<TransportEvents>(this.logger);
    this.warnings = warnings;
    const forgetConnected = (): void => {
      this.connectedCache = undefined;
    };
    node.addEventListener('connection:open', forgetConnected);
    node.addEventListener('connection:close', forgetConnected);
    node.addEventListener('peer:connect', (event) => this.onPeerConnect(event.detail));
    node.addEventListener('peer:disconnect', (event) => this.onPeerDisconnect(event.detail));
    node.services.pubsub.addEventListener('message', (event) => this.onGossip(event.detail));
  }

  addresses(): string[] {
    return this.node.getMultiaddrs().map((address) => address.toString());
  }

  async start(): Promise<void> {
    if (this.running) return;
    // `force`: a start that failed (port taken) must not leave the next one refusing the handler.
    await this.node.handle(messageProtocol, (stream, connection) => this.onInboundStream(stream, connection), {
      force: true,
    });
    await this.node.start();
    for (const topic of this.topics) this.node.services.pubsub.subscribe(topic);
    this.running = true;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    const senders = [...this.senders.values()].flatMap((byChannel) => [...byChannel.values()]);
    this.senders.clear();
    await Promise.all(senders.map((sender) => sender.close()));
    await this.node.unhandle(messageProtocol);
    await this.node.stop();
    this.warnings.stop();
  }

  async dial(address: string, signal?: AbortSignal): Promise<PeerIdString> {
    this.assertRunning();
    let target: Multiaddr;
    try {
      target = multiaddr(address);
    } catch (error) {
      throw new CheopsError(ErrorCode.ConfigInvalid, `not a multiaddr: ${address}`, { cause: error });
    }
    try {
      const connection = await this.node.dial(target, signal === undefined ? {} : { signal });
      return peerText(connection.remotePeer);
    } catch (error) {
      if (signal?.aborted === true) {
        throw new CheopsError(ErrorCode.Aborted, `dial ${address} aborted`, { cause: signal.reason });
      }
      throw unreachable(address, `dial failed: ${errorMessage(error)}`, error);
    }
  }

  async hangUp(peer: PeerIdString): Promise<void> {
    const id = this.parsePeer(peer);
    if (id === undefined || !this.running) return;
    await this.node.hangUp(id);
  }

  connectedPeers(): PeerIdString[] {
    this.connectedCache ??= this.node.getPeers().map((peer) => peerText(peer));
    return [...this.connectedCache];
  }

  send(peer: PeerIdString, channel: string, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (!this.running) return Promise.reject(this.notRunning());
    if (data.length > this.maxMessageBytes) {
      return Promise.reject(
        new CheopsError(ErrorCode.MessageTooLarge, `message of ${data.length} bytes exceeds ${this.maxMessageBytes}`),
      );
    }
    if (!isChannelName(channel)) return Promise.reject(new RangeError(`bad channel name ${channel}`));
    const id = this.parsePeer(peer);
    if (id === undefined || this.openConnection(id) === undefined) {
      return Promise.reject(unreachable(peer, 'not connected'));
    }
    return this.sender(peer, id, channel).send(encodeFrame(channel, data), signal);
  }

  subscribe(topic: string): void {
    this.topics.add(topic);
    if (this.running) this.node.services.pubsub.subscribe(topic);
  }

  unsubscribe(topic: string): void {
    this.topics.delete(topic);
    if (this.running) this.node.services.pubsub.unsubscribe(topic);
  }

  async publish(topic: string, data: Uint8Array): Promise<void> {
    this.assertRunning();
    await this.node.services.pubsub.publish(topic, data);
  }

  on<E extends TransportEventName>(event: E, listener: TransportListener<E>): void {
    this.events.on(event, listener);
  }

  off<E extends TransportEventName>(event: E, listener: TransportListener<E>): void {
    this.events.off(event, listener);
  }

  private sender(peer: PeerIdString, id: PeerId, channel: string): PeerSender {
    let byChannel = this.senders.get(peer);
    if (byChannel === undefined) {
      byChannel = new Map();
      this.senders.set(peer, byChannel);
    }
    let sender = byChannel.get(channel);
    if (sender === undefined) {
      sender = new PeerSender(peer, async (signal) => {
        const connection = this.openConnection(id);
        if (connection === undefined) throw unreachable(peer, 'not connected');
        // Every Cheops site speaks the one protocol: write the protocol name with the first frame
        // and save the negotiation round trip (it would also inflate the first RTT sample).
        // @libp2p/multistream-select 7 declares `negotiateFully` but always waited for the answer:
        // patches/ makes it write and go on (p2p/libp2p-transport.test.ts, "on the wire").
        return connection.newStream(messageProtocol, {
          negotiateFully: false,
          ...(signal === undefined ? {} : { signal }),
        });
      });
      byChannel.set(channel, sender);
    }
    return sender;
  }

  private openConnection(id: PeerId): Connection | undefined {
    return this.node.getConnections(id).find((connection) => connection.status === 'open');
  }

  private onPeerConnect(id: PeerId): void {
    this.connectedCache = undefined;
    this.events.emit('peer:connect', { peer: peerText(id) });
  }

  private onPeerDisconnect(id: PeerId): void {
    this.connectedCache = undefined;
    const peer = peerText(id);
    const byChannel = this.senders.get(peer);
    this.senders.delete(peer);
    for (const sender of byChannel?.values() ?? []) {
      sender.close().catch((error: unknown) => {
        this.logger.debug({ peer, err: errorMessage(error) }, 'closing a sender failed');
      });
    }
    this.events.emit('peer:disconnect', { peer });
  }

  private onInboundStream(stream: Stream, connection: Connection): void {
    const from = peerText(connection.remotePeer);
    const decoder = new LengthPrefixedDecoder({
      maxDataLength: this.maxMessageBytes + maxChannelBytes + 8,
      maxBufferSize: 2 * this.maxMessageBytes + 1024,
    });
    stream.addEventListener('message', (event) => {
      try {
        for (const body of decoder.decode(event.data)) this.deliver(from, body.subarray());
      } catch (error) {
        // A bad length prefix loses the framing for good: drop the stream, the peer reopens one.
        this.warnings.warn(from, { peer: from, err: errorMessage(error) }, 'dropped a stream with a malformed frame');
        stream.abort(error instanceof Error ? error : new Error(errorMessage(error)));
      }
    });
    stream.addEventListener('remoteCloseWrite', () => {
      stream.close().catch((error: unknown) => {
        stream.abort(error instanceof Error ? error : new Error(errorMessage(error)));
      });
    });
  }

  private deliver(from: PeerIdString, body: Uint8Array): void {
    const frame = decodeFrameBody(body);
    if (!frame.ok) {
      this.warnings.warn(from, { peer: from, err: frame.error }, 'dropped a malformed frame');
      return;
    }
    this.events.emit('message', { from, channel: frame.value.channel, data: frame.value.data });
  }

  private onGossip(message: Message): void {
    if (message.type !== 'signed') {
      // We publish signed messages only; an unsigned one has no trustworthy sender.
      this.warnings.warn(unsignedSender, { topic: message.topic }, 'dropped an unsigned gossip message');
      return;
    }
    if (!this.topics.has(message.topic)) return;
    this.events.emit('gossip', {
      from: peerText(message.from),
      topic: message.topic,
      data: message.data,
    });
  }

  private parsePeer(peer: PeerIdString): PeerId | undefined {
    const known = this.parsedPeers.get(peer);
    if (known !== undefined) return known;
    let id: PeerId;
    try {
      id = peerIdFromString(peer);
    } catch {
      return undefined;
    }
    // A site talks to a handful of peers; the bound only keeps a bug from growing it for ever.
    if (this.parsedPeers.size >= maxParsedPeers) this.parsedPeers.clear();
    this.parsedPeers.set(peer, id);
    peerTexts.set(id, peer);
    return id;
  }

  private assertRunning(): void {
    if (!this.running) throw this.notRunning();
  }

  private notRunning(): CheopsError {
    return new CheopsError(ErrorCode.NotRunning, 'the transport is not running');
  }
}
