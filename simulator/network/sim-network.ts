/**
 * The simulated network: p2p's MemoryNetwork (the hub MemoryTransports attach to, which keeps each
 * direction of a connection first-in first-out) with the simulator's link model, partitions and
 * heals on top. MemoryTransport and everything above it run unchanged.
 *
 * It extends MemoryNetwork rather than only plugging a LinkPolicy into it, because the policy
 * hook cannot tell gossip from direct messages (gossip must take its own paths: reordering,
 * duplicates) and has no place for bytes held by a stalled connection. It relies on three things
 * MemoryNetwork does (checked by sim-network.test.ts): `canConnect` is asked right before a new
 * connection is made, `decide` only from `send` and `publish`, and `detach` closes through
 * `disconnect`. The model is described in link-profile.ts, partitions.ts and README.md.
 */
import type { Clock } from '../../core/clock.js';
import type { PeerIdString } from '../../core/ids.js';
import type { Random } from '../../core/random.js';
import { MemoryNetwork, type LinkDecision, type MemoryEndpoint } from '../../p2p/memory-network.js';
import type { Trace } from '../core/trace.js';
import { directFate, gossipFate, linkProfile, type LinkProfile } from './link-profile.js';
import { emptyStats, type NetworkStats } from './network-stats.js';
import { betweenGroups, oneWay, Partitions, type PartitionId, type PartitionInfo, type PartitionMode } from './partitions.js';

export interface SimNetworkOptions {
  /** The profile of every link not given its own with `setLink`; default `defaultLinkProfile`. */
  readonly link?: Partial<LinkProfile>;
  /**
   * How long a connection whose packets are black-holed stays open before its keep-alive gives
   * up and closes it; default 10,000 ms (libp2p's connection monitor pings every 10 s).
   */
  readonly stallTimeoutMs?: number;
  /** How peers are named on the timeline; default their peer id. */
  readonly label?: (peer: PeerIdString) => string;
}

export interface SimNetworkComponents {
  /** The simulation's clock (not a process's scope: the network outlives every process). */
  readonly clock: Clock;
  /** Forked once per directed link, so traffic on one link never shifts another's draws. */
  readonly random: Random;
  readonly trace?: Trace;
}

interface HeldMessage {
  readonly channel: string;
  readonly data: Uint8Array;
}

/** One live connection, as the simulator sees it. */
interface Connection {
  readonly id: number;
  readonly a: PeerIdString;
  readonly b: PeerIdString;
  /** Dying: everything sent on it from now on is lost. */
  broken: boolean;
  /** Direct messages on their way (lost with the connection if it closes). */
  inFlight: number;
  /** Direct messages waiting for a stalled direction to clear, by sender. */
  readonly held: Map<PeerIdString, HeldMessage[]>;
}

function pairKey(a: PeerIdString, b: PeerIdString): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

/** A MemoryNetwork with latency, loss, duplication, reordering, partitions and heals. */
export class SimNetwork extends MemoryNetwork {
  private readonly simClock: Clock;
  private readonly random: Random;
  private readonly trace: Trace | undefined;
  private readonly label: (peer: PeerIdString) => string;
  private readonly stallTimeoutMs: number;
  private readonly partitions = new Partitions();
  private readonly connections = new Map<string, Connection>();
  private readonly endpoints = new Map<PeerIdString, MemoryEndpoint>();
  private readonly profiles = new Map<string, LinkProfile>();
  private readonly linkRandoms = new Map<string, Random>();
  private readonly counters = emptyStats();
  private defaultProfile: LinkProfile;
  private nextConnectionId = 1;
  private closeReason: string | undefined;

  constructor(options: SimNetworkOptions, components: SimNetworkComponents) {
    super({}, { clock: components.clock });
    this.simClock = components.clock;
    this.random = components.random;
    this.trace = components.trace;
    this.label = options.label ?? ((peer) => peer);
    this.stallTimeoutMs = options.stallTimeoutMs ?? 10_000;
    this.defaultProfile = linkProfile(options.link);
    this.setLinkPolicy({
      canConnect: (from, to) => this.openConnection(from, to),
      decide: (from, to, bytes) => this.decideDirect(from, to, bytes),
    });
  }

  /** Sets the profile of links not given their own (links already given one keep it). */
  setDefaultLink(overrides: Partial<LinkProfile>): void {
    this.defaultProfile = linkProfile(overrides, this.defaultProfile);
  }

  /** The profile of links not given their own. */
  defaultLink(): LinkProfile {
    return this.defaultProfile;
  }

  /** Sets the profile of the link `a → b`, and of `b → a` unless `oneWay`. */
  setLink(a: PeerIdString, b: PeerIdString, overrides: Partial<LinkProfile>, options: { readonly oneWay?: boolean } = {}): void {
    const profile = linkProfile(overrides, this.linkProfileOf(a, b));
    this.profiles.set(`${a}>${b}`, profile);
    if (options.oneWay !== true) this.profiles.set(`${b}>${a}`, linkProfile(overrides, this.linkProfileOf(b, a)));
  }

  /** The profile in force on `from → to`. */
  linkProfileOf(from: PeerIdString, to: PeerIdString): LinkProfile {
    return this.profiles.get(`${from}>${to}`) ?? this.defaultProfile;
  }

  /**
   * Splits the peers into groups that cannot reach one another (peers in no group are not
   * affected). `cut` (the default) closes the connections between groups at once.
   */
  partition(groups: readonly (readonly PeerIdString[])[], options: { readonly mode?: PartitionMode } = {}): PartitionId {
    const label = groups.map((group) => group.map(this.label).join(',')).join(' | ');
    return this.addPartition(betweenGroups(groups), options.mode ?? 'cut', label);
  }

  /**
   * Blocks `from → to` only: what `from` sends is black-holed while `to` still reaches it. No
   * connection can open between them (a handshake needs both ways); those open stall, then close
   * after the stall timeout. `stall` by default; `cut` closes them at once.
   */
  partitionOneWay(from: readonly PeerIdString[], to: readonly PeerIdString[], options: { readonly mode?: PartitionMode } = {}): PartitionId {
    const label = `${from.map(this.label).join(',')} -> ${to.map(this.label).join(',')}`;
    return this.addPartition(oneWay(from, to), options.mode ?? 'stall', label);
  }

  /** Ends one partition, or every partition. Held bytes flow again; redialers reconnect. */
  heal(id?: PartitionId): void {
    const ids = id === undefined ? this.partitions.list().map((info) => info.id) : [id];
    for (const partitionId of ids) {
      const info = this.partitions.remove(partitionId);
      if (info !== undefined) this.trace?.record('net:heal', { partition: info.id, groups: info.label });
    }
    for (const connection of [...this.connections.values()]) this.releaseHeld(connection);
  }

  /** The partitions in force. */
  activePartitions(): PartitionInfo[] {
    return this.partitions.list();
  }

  /** Whether a partition blocks `from → to` now. */
  isBlocked(from: PeerIdString, to: PeerIdString): boolean {
    return this.partitions.blocks(from, to);
  }

  /**
   * How `from → to` is blocked now: `cut` when a cutting partition blocks it (refused at once),
   * `stall` when only black-holing ones do, undefined when it is open.
   */
  blockMode(from: PeerIdString, to: PeerIdString): PartitionMode | undefined {
    if (this.partitions.blocksWith('cut', from, to)) return 'cut';
    return this.partitions.blocks(from, to) ? 'stall' : undefined;
  }

  /** The stall timeout: how long a black-holed connection stays open before it is closed. */
  get stallTimeout(): number {
    return this.stallTimeoutMs;
  }

  /** Resets the connection between `a` and `b` now (both ends see it close). */
  reset(a: PeerIdString, b: PeerIdString): void {
    if (!this.connections.has(pairKey(a, b))) return;
    this.counters.resets += 1;
    this.closeWith(a, b, 'reset');
  }

  /** A snapshot of the counters. */
  stats(): NetworkStats {
    return { ...this.counters };
  }

  override attach(endpoint: MemoryEndpoint): void {
    // Wrapped to count and digest deliveries, which MemoryNetwork makes from its link queues.
    const wrapped: MemoryEndpoint = {
      peerId: endpoint.peerId,
      address: endpoint.address,
      isSubscribed: (topic) => endpoint.isSubscribed(topic),
      connected: (peer) => endpoint.connected(peer),
      disconnected: (peer) => endpoint.disconnected(peer),
      receive: (from, channel, data) => {
        // Only the live connection's queue delivers: a closed one's queue is cancelled.
        const connection = this.connections.get(pairKey(from, endpoint.peerId));
        if (connection !== undefined) connection.inFlight -= 1;
        this.counters.messagesDelivered += 1;
        this.trace?.digest('net:deliver', { from: this.label(from), to: this.label(endpoint.peerId), channel });
        endpoint.receive(from, channel, data);
      },
      receiveGossip: (from, topic, data) => endpoint.receiveGossip(from, topic, data),
    };
    super.attach(wrapped);
    this.endpoints.set(endpoint.peerId, wrapped);
  }

  override detach(peer: PeerIdString): void {
    this.endpoints.delete(peer);
    const previous = this.closeReason;
    this.closeReason = 'detach';
    try {
      super.detach(peer);
    } finally {
      this.closeReason = previous;
    }
  }

  override disconnect(a: PeerIdString, b: PeerIdString): void {
    const connection = this.connections.get(pairKey(a, b));
    if (connection !== undefined) {
      this.connections.delete(pairKey(a, b));
      let lost = connection.inFlight;
      for (const messages of connection.held.values()) lost += messages.length;
      this.counters.messagesLost += lost;
      this.counters.disconnects += 1;
      const data = { peer: this.label(b), connection: connection.id, reason: this.closeReason ?? 'hang-up', lost };
      this.trace?.record('net:disconnect', data, this.label(a));
    }
    super.disconnect(a, b);
  }

  override send(from: PeerIdString, to: PeerIdString, channel: string, data: Uint8Array): boolean {
    const connection = this.connections.get(pairKey(from, to));
    if (connection === undefined) return super.send(from, to, channel, data);
    this.counters.messagesSent += 1;
    this.counters.bytesSent += data.length;
    this.trace?.digest('net:send', { from: this.label(from), to: this.label(to), channel }, data);
    if (!connection.broken && this.partitions.blocks(from, to)) {
      // A stalled direction: the bytes wait in the sender's buffer, in order.
      const held = connection.held.get(from) ?? [];
      held.push({ channel, data });
      connection.held.set(from, held);
      this.counters.messagesHeld += 1;
      return true;
    }
    return super.send(from, to, channel, data);
  }

  /** Gossip: one hop to each connected subscriber, each copy on its own path (not FIFO). */
  override publish(from: PeerIdString, topic: string, data: Uint8Array): void {
    for (const to of this.connectedPeers(from)) {
      const connection = this.connections.get(pairKey(from, to));
      if (connection === undefined || this.endpoints.get(to)?.isSubscribed(topic) !== true) continue;
      this.counters.gossipSent += 1;
      this.counters.gossipBytes += data.length;
      this.trace?.digest('net:gossip', { from: this.label(from), to: this.label(to), topic }, data);
      const delays = connection.broken || this.partitions.blocks(from, to) ? [] : gossipFate(this.linkProfileOf(from, to), this.linkRandom(from, to));
      this.trace?.digest('net:gossip-fate', { delays: delays.map(String) });
      if (delays.length === 0) this.counters.gossipLost += 1;
      if (delays.length > 1) this.counters.gossipDuplicated += 1;
      for (const delay of delays) {
        this.simClock.setTimeout(() => this.deliverGossip(connection, from, to, topic, data), delay);
      }
    }
  }

  private deliverGossip(connection: Connection, from: PeerIdString, to: PeerIdString, topic: string, data: Uint8Array): void {
    const alive = this.connections.get(pairKey(from, to)) === connection && !connection.broken && !this.partitions.blocks(from, to);
    const endpoint = this.endpoints.get(to);
    if (!alive || endpoint?.isSubscribed(topic) !== true) {
      this.counters.gossipLost += 1;
      this.trace?.digest('net:gossip-lost', { from: this.label(from), to: this.label(to), topic });
      return;
    }
    this.counters.gossipDelivered += 1;
    this.trace?.digest('net:gossip-deliver', { from: this.label(from), to: this.label(to), topic });
    endpoint.receiveGossip(from, topic, data);
  }

  /** The link policy's `canConnect`: MemoryNetwork makes the connection right after a yes. */
  private openConnection(from: PeerIdString, to: PeerIdString): boolean {
    if (this.partitions.blocks(from, to) || this.partitions.blocks(to, from)) {
      this.counters.refused += 1;
      this.trace?.digest('net:refused', { from: this.label(from), to: this.label(to) });
      return false;
    }
    const connection: Connection = { id: this.nextConnectionId, a: from, b: to, broken: false, inFlight: 0, held: new Map() };
    this.nextConnectionId += 1;
    this.connections.set(pairKey(from, to), connection);
    this.counters.connects += 1;
    this.trace?.record('net:connect', { peer: this.label(to), connection: connection.id }, this.label(from));
    return true;
  }

  /** The link policy's `decide`, for direct messages on a live connection. */
  private decideDirect(from: PeerIdString, to: PeerIdString, bytes: number): LinkDecision {
    const connection = this.connections.get(pairKey(from, to));
    if (connection === undefined) return { type: 'deliver', delayMs: 0 };
    if (connection.broken) {
      this.counters.messagesLost += 1;
      this.trace?.digest('net:fate', { fate: 'lost', bytes });
      return { type: 'drop' };
    }
    const fate = directFate(this.linkProfileOf(from, to), this.linkRandom(from, to));
    if (fate.type === 'reset') {
      this.counters.messagesLost += 1;
      this.breakConnection(connection, fate.noticeAfterMs, fate.cause);
      return { type: 'drop' };
    }
    this.counters.retransmits += fate.retransmits;
    connection.inFlight += 1;
    this.trace?.digest('net:fate', { fate: 'deliver', delayMs: fate.delayMs, retransmits: fate.retransmits, bytes });
    return { type: 'deliver', delayMs: fate.delayMs };
  }

  /** The connection dies now; its ends notice after `noticeAfterMs`. */
  private breakConnection(connection: Connection, noticeAfterMs: number, cause: string): void {
    connection.broken = true;
    this.counters.resets += 1;
    this.trace?.record('net:reset', { peer: this.label(connection.b), connection: connection.id, cause }, this.label(connection.a));
    this.simClock.setTimeout(() => {
      if (this.connections.get(pairKey(connection.a, connection.b)) === connection) this.closeWith(connection.a, connection.b, cause);
    }, noticeAfterMs);
  }

  private addPartition(directions: Array<[PeerIdString, PeerIdString]>, mode: PartitionMode, label: string): PartitionId {
    const info = this.partitions.add(directions, mode, label);
    this.trace?.record('net:partition', { partition: info.id, mode, groups: label });
    for (const connection of [...this.connections.values()]) {
      if (!this.crossesPartition(connection)) continue;
      if (mode === 'cut') {
        this.closeWith(connection.a, connection.b, 'partition');
        continue;
      }
      this.simClock.setTimeout(() => {
        const current = this.connections.get(pairKey(connection.a, connection.b)) === connection;
        if (current && this.crossesPartition(connection)) this.closeWith(connection.a, connection.b, 'stall-timeout');
      }, this.stallTimeoutMs);
    }
    return info.id;
  }

  private crossesPartition(connection: Connection): boolean {
    return this.partitions.blocks(connection.a, connection.b) || this.partitions.blocks(connection.b, connection.a);
  }

  /** Sends what a direction held, in order, once it is no longer blocked. */
  private releaseHeld(connection: Connection): void {
    for (const [from, messages] of [...connection.held]) {
      const to = from === connection.a ? connection.b : connection.a;
      if (this.partitions.blocks(from, to)) continue;
      connection.held.delete(from);
      for (const message of messages) super.send(from, to, message.channel, message.data);
    }
  }

  private closeWith(a: PeerIdString, b: PeerIdString, reason: string): void {
    const previous = this.closeReason;
    this.closeReason = reason;
    try {
      this.disconnect(a, b);
    } finally {
      this.closeReason = previous;
    }
  }

  private linkRandom(from: PeerIdString, to: PeerIdString): Random {
    const key = `${from}>${to}`;
    let random = this.linkRandoms.get(key);
    if (random === undefined) {
      random = this.random.fork(`link ${from} ${to}`);
      this.linkRandoms.set(key, random);
    }
    return random;
  }
}
