/**
 * An in-process network: the hub MemoryTransports attach to. Tests use it as it is; the simulator
 * swaps the link policy to add latency, loss and partitions. Delays run on the injected Clock, so
 * a simulated clock replays a run exactly; messages on one link are delivered in the order sent
 * even when the policy's delays vary.
 */
import type { Clock, Timer } from '../core/clock.js';
import { CheopsError, ErrorCode } from '../core/errors.js';
import type { PeerIdString } from '../core/ids.js';

/** What happens to one message on a link. */
export type LinkDecision =
  | { readonly type: 'deliver'; readonly delayMs: number }
  | { readonly type: 'drop' };

/** Decides connections and deliveries: the simulator's hook for latency, loss and partitions. */
export interface LinkPolicy {
  /** Whether `from` may open a connection to `to` now. */
  canConnect(from: PeerIdString, to: PeerIdString): boolean;
  /** The fate of one message of `bytes` bytes sent from `from` to `to` on an open connection. */
  decide(from: PeerIdString, to: PeerIdString, bytes: number): LinkDecision;
}

/** Every connection allowed, every message delivered at once. */
export const perfectLinks: LinkPolicy = {
  canConnect: () => true,
  decide: () => ({ type: 'deliver', delayMs: 0 }),
};

/** What the network calls on an attached transport. */
export interface MemoryEndpoint {
  readonly peerId: PeerIdString;
  /** The address others dial, without `/p2p/<id>` (`/memory/site-1`). */
  readonly address: string;
  isSubscribed(topic: string): boolean;
  connected(peer: PeerIdString): void;
  disconnected(peer: PeerIdString): void;
  receive(from: PeerIdString, channel: string, data: Uint8Array): void;
  receiveGossip(from: PeerIdString, topic: string, data: Uint8Array): void;
}

export interface MemoryNetworkOptions {
  readonly linkPolicy?: LinkPolicy;
}

export interface MemoryNetworkComponents {
  readonly clock: Clock;
}

/** The FIFO of one direction of one connection. */
class LinkQueue {
  private readonly clock: Clock;
  private readonly items: Array<{ readonly at: number; readonly deliver: () => void }> = [];
  private lastAt = Number.NEGATIVE_INFINITY;
  private timer: Timer | undefined;
  private scheduled = false;
  private cancelled = false;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  enqueue(delayMs: number, deliver: () => void): void {
    if (this.cancelled) return;
    // Never before the previous message: a link is a FIFO, like the TCP connection it stands for.
    const at = Math.max(this.clock.now() + Math.max(0, delayMs), this.lastAt);
    this.lastAt = at;
    this.items.push({ at, deliver });
    if (!this.scheduled) this.schedule();
  }

  cancel(): void {
    this.cancelled = true;
    this.items.length = 0;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private schedule(): void {
    const head = this.items[0];
    if (head === undefined) return;
    this.scheduled = true;
    const waitMs = head.at - this.clock.now();
    if (waitMs <= 0) queueMicrotask(() => this.run());
    else this.timer = this.clock.setTimeout(() => this.run(), waitMs);
  }

  private run(): void {
    this.scheduled = false;
    this.timer = undefined;
    if (this.cancelled) return;
    const now = this.clock.now();
    for (let head = this.items[0]; head !== undefined && head.at <= now; head = this.items[0]) {
      this.items.shift();
      head.deliver();
      if (this.cancelled) return;
    }
    this.schedule();
  }
}

function pairKey(a: PeerIdString, b: PeerIdString): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

function unreachable(target: string, reason: string): CheopsError {
  return new CheopsError(ErrorCode.SiteUnreachable, `${target}: ${reason}`, { details: { peer: target } });
}

const addressPattern = /^(\/memory\/[^/]+)(?:\/p2p\/([^/]+))?$/;

/** The hub of in-process transports. */
export class MemoryNetwork {
  private readonly clock: Clock;
  private linkPolicy: LinkPolicy;
  private readonly byPeer = new Map<PeerIdString, MemoryEndpoint>();
  private readonly byAddress = new Map<string, MemoryEndpoint>();
  /** Open connections, by unordered pair; each holds the queue of both directions. */
  private readonly links = new Map<string, Map<PeerIdString, LinkQueue>>();

  constructor(options: MemoryNetworkOptions, components: MemoryNetworkComponents) {
    this.clock = components.clock;
    this.linkPolicy = options.linkPolicy ?? perfectLinks;
  }

  /** Replaces the link policy; open connections stay open (cut them with `hangUp`). */
  setLinkPolicy(policy: LinkPolicy): void {
    this.linkPolicy = policy;
  }

  /** Makes `endpoint` reachable at its address. */
  attach(endpoint: MemoryEndpoint): void {
    if (this.byPeer.has(endpoint.peerId) || this.byAddress.has(endpoint.address)) {
      throw new CheopsError(ErrorCode.ConfigInvalid, `${endpoint.address} is already attached`);
    }
    this.byPeer.set(endpoint.peerId, endpoint);
    this.byAddress.set(endpoint.address, endpoint);
  }

  /** Closes every connection of `peer` and makes it unreachable. */
  detach(peer: PeerIdString): void {
    for (const other of this.connectedPeers(peer)) this.disconnect(peer, other);
    const endpoint = this.byPeer.get(peer);
    this.byPeer.delete(peer);
    if (endpoint !== undefined) this.byAddress.delete(endpoint.address);
  }

  /** Opens a connection from `from` to the endpoint at `address`; returns its peer id. */
  connect(from: PeerIdString, address: string): PeerIdString {
    const match = addressPattern.exec(address);
    const target = match?.[1] === undefined ? undefined : this.byAddress.get(match[1]);
    const source = this.byPeer.get(from);
    if (source === undefined) throw unreachable(address, 'the dialling transport is not running');
    if (target === undefined) throw unreachable(address, 'nobody listens there');
    if (match?.[2] !== undefined && match[2] !== target.peerId) {
      throw unreachable(address, `the peer there is ${target.peerId}`);
    }
    if (target.peerId === from) throw unreachable(address, 'cannot dial oneself');
    if (this.isConnected(from, target.peerId)) return target.peerId;
    if (!this.linkPolicy.canConnect(from, target.peerId)) throw unreachable(address, 'no route');
    this.links.set(
      pairKey(from, target.peerId),
      new Map([
        [target.peerId, new LinkQueue(this.clock)],
        [from, new LinkQueue(this.clock)],
      ]),
    );
    source.connected(target.peerId);
    target.connected(from);
    return target.peerId;
  }

  /** Closes the connection between `a` and `b`; messages in flight are lost. */
  disconnect(a: PeerIdString, b: PeerIdString): void {
    const key = pairKey(a, b);
    const link = this.links.get(key);
    if (link === undefined) return;
    this.links.delete(key);
    for (const queue of link.values()) queue.cancel();
    this.byPeer.get(a)?.disconnected(b);
    this.byPeer.get(b)?.disconnected(a);
  }

  isConnected(a: PeerIdString, b: PeerIdString): boolean {
    return this.links.has(pairKey(a, b));
  }

  connectedPeers(peer: PeerIdString): PeerIdString[] {
    const peers: PeerIdString[] = [];
    for (const link of this.links.values()) {
      if (!link.has(peer)) continue;
      for (const other of link.keys()) if (other !== peer) peers.push(other);
    }
    return peers;
  }

  /** Queues a direct message; false when there is no connection. */
  send(from: PeerIdString, to: PeerIdString, channel: string, data: Uint8Array): boolean {
    const queue = this.links.get(pairKey(from, to))?.get(to);
    if (queue === undefined) return false;
    const decision = this.linkPolicy.decide(from, to, data.length);
    if (decision.type === 'drop') return true;
    queue.enqueue(decision.delayMs, () => this.byPeer.get(to)?.receive(from, channel, data));
    return true;
  }

  /** Delivers gossip to every connected peer subscribed to `topic` (one hop; sites form a mesh). */
  publish(from: PeerIdString, topic: string, data: Uint8Array): void {
    for (const to of this.connectedPeers(from)) {
      if (this.byPeer.get(to)?.isSubscribed(topic) !== true) continue;
      const queue = this.links.get(pairKey(from, to))?.get(to);
      const decision = this.linkPolicy.decide(from, to, data.length);
      if (queue === undefined || decision.type === 'drop') continue;
      queue.enqueue(decision.delayMs, () => {
        const endpoint = this.byPeer.get(to);
        if (endpoint?.isSubscribed(topic) === true) endpoint.receiveGossip(from, topic, data);
      });
    }
  }
}
