/**
 * The Transport port over a MemoryNetwork: the same behaviour as Libp2pTransport (it passes the
 * same contract suite) with no sockets, for tests and the simulator.
 */
import { CheopsError, ErrorCode } from '../core/errors.js';
import { asPeerIdString, type PeerIdString } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { Random } from '../core/random.js';
import { defaultMaxMessageBytes, isChannelName } from './frame-codec.js';
import type { MemoryEndpoint, MemoryNetwork } from './memory-network.js';
import { TypedEmitter } from './typed-emitter.js';
import type { Transport, TransportEventName, TransportEvents, TransportListener } from './transport.js';

export interface MemoryTransportOptions {
  /** The peer id; give the same one to a restarted site. Default: drawn from `random`. */
  readonly peerId?: PeerIdString;
  /** The address is `/memory/<name>`; default: the peer id. */
  readonly name?: string;
  /** Largest direct message in bytes; default 8 MiB, as Libp2pTransport. */
  readonly maxMessageBytes?: number;
}

export interface MemoryTransportComponents {
  readonly network: MemoryNetwork;
  readonly random: Random;
  readonly logger: Logger;
}

/** Creates a transport attached to `components.network` once started. */
export function createMemoryTransport(
  options: MemoryTransportOptions,
  components: MemoryTransportComponents,
): MemoryTransport {
  return new MemoryTransport(options, components);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** An in-process transport. Build it with `createMemoryTransport`. */
export class MemoryTransport implements Transport {
  readonly peerId: PeerIdString;
  private readonly address: string;
  private readonly network: MemoryNetwork;
  private readonly logger: Logger;
  private readonly maxMessageBytes: number;
  private readonly events: TypedEmitter<TransportEvents>;
  private readonly topics = new Set<string>();
  private readonly endpoint: MemoryEndpoint;
  private running = false;

  constructor(options: MemoryTransportOptions, components: MemoryTransportComponents) {
    this.peerId = options.peerId ?? asPeerIdString(`mem-${hex(components.random.bytes(8))}`);
    this.address = `/memory/${options.name ?? this.peerId}`;
    this.network = components.network;
    this.maxMessageBytes = options.maxMessageBytes ?? defaultMaxMessageBytes;
    this.logger = components.logger.child({ component: 'memory-transport', peer: this.peerId });
    this.events = new TypedEmitter<TransportEvents>(this.logger);
    this.endpoint = {
      peerId: this.peerId,
      address: this.address,
      isSubscribed: (topic) => this.running && this.topics.has(topic),
      connected: (peer) => this.events.emit('peer:connect', { peer }),
      disconnected: (peer) => this.events.emit('peer:disconnect', { peer }),
      receive: (from, channel, data) => {
        if (this.running) this.events.emit('message', { from, channel, data });
      },
      receiveGossip: (from, topic, data) => {
        if (this.running) this.events.emit('gossip', { from, topic, data });
      },
    };
  }

  addresses(): string[] {
    return [`${this.address}/p2p/${this.peerId}`];
  }

  start(): Promise<void> {
    if (!this.running) {
      this.network.attach(this.endpoint);
      this.running = true;
    }
    return Promise.resolve();
  }

  stop(): Promise<void> {
    if (this.running) {
      this.network.detach(this.peerId);
      this.running = false;
    }
    return Promise.resolve();
  }

  dial(address: string, signal?: AbortSignal): Promise<PeerIdString> {
    if (!this.running) return Promise.reject(this.notRunning());
    if (signal?.aborted === true) {
      return Promise.reject(new CheopsError(ErrorCode.Aborted, `dial ${address} aborted`, { cause: signal.reason }));
    }
    try {
      return Promise.resolve(this.network.connect(this.peerId, address));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  hangUp(peer: PeerIdString): Promise<void> {
    this.network.disconnect(this.peerId, peer);
    return Promise.resolve();
  }

  connectedPeers(): PeerIdString[] {
    return this.running ? this.network.connectedPeers(this.peerId) : [];
  }

  send(peer: PeerIdString, channel: string, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (!this.running) return Promise.reject(this.notRunning());
    if (signal?.aborted === true) {
      return Promise.reject(new CheopsError(ErrorCode.Aborted, 'send aborted', { cause: signal.reason }));
    }
    if (data.length > this.maxMessageBytes) {
      return Promise.reject(
        new CheopsError(ErrorCode.MessageTooLarge, `message of ${data.length} bytes exceeds ${this.maxMessageBytes}`),
      );
    }
    if (!isChannelName(channel)) return Promise.reject(new RangeError(`bad channel name ${channel}`));
    // The copy stands for the wire: the receiver must not see the sender's later writes.
    if (!this.network.send(this.peerId, peer, channel, Uint8Array.from(data))) {
      return Promise.reject(
        new CheopsError(ErrorCode.SiteUnreachable, `${peer}: not connected`, { details: { peer } }),
      );
    }
    return Promise.resolve();
  }

  subscribe(topic: string): void {
    this.topics.add(topic);
  }

  unsubscribe(topic: string): void {
    this.topics.delete(topic);
  }

  publish(topic: string, data: Uint8Array): Promise<void> {
    if (!this.running) return Promise.reject(this.notRunning());
    this.network.publish(this.peerId, topic, Uint8Array.from(data));
    return Promise.resolve();
  }

  on<E extends TransportEventName>(event: E, listener: TransportListener<E>): void {
    this.events.on(event, listener);
  }

  off<E extends TransportEventName>(event: E, listener: TransportListener<E>): void {
    this.events.off(event, listener);
  }

  private notRunning(): CheopsError {
    return new CheopsError(ErrorCode.NotRunning, 'the transport is not running');
  }
}
