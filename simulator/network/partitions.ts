/**
 * The partitions in force: each one a set of blocked directions (`from → to`). A symmetric
 * partition blocks both directions between its groups; an asymmetric one only some. Partitions
 * overlap freely, and healing one leaves the others in force.
 */
import type { PeerIdString } from '../../core/ids.js';

/** Names a partition for `heal`. */
export type PartitionId = number;

/**
 * How a partition treats the connections it crosses:
 * - `cut`: closed at once (both ends see the close, as when a route is withdrawn and the
 *   connections are reset), and no new one opens until healed;
 * - `stall`: packets are black-holed. Bytes sent wait (a TCP sender retransmits them); a heal
 *   before the keep-alive timeout lets them through in order, otherwise the connection is closed
 *   and what waited is lost. Heartbeats see the peer go silent before the connection closes.
 */
export type PartitionMode = 'cut' | 'stall';

export interface PartitionInfo {
  readonly id: PartitionId;
  readonly mode: PartitionMode;
  /** For the timeline (`Site1,Site2 | Site3` or `Site1 -> Site2`). */
  readonly label: string;
}

interface Partition extends PartitionInfo {
  readonly blocked: ReadonlySet<string>;
}

function direction(from: PeerIdString, to: PeerIdString): string {
  return `${from}\u0000${to}`;
}

/** Every direction between two different groups. */
export function betweenGroups(groups: readonly (readonly PeerIdString[])[]): Array<[PeerIdString, PeerIdString]> {
  const pairs: Array<[PeerIdString, PeerIdString]> = [];
  groups.forEach((group, index) => {
    groups.forEach((other, otherIndex) => {
      if (index === otherIndex) return;
      for (const from of group) for (const to of other) if (from !== to) pairs.push([from, to]);
    });
  });
  return pairs;
}

/** Every direction from a peer of `from` to a peer of `to`. */
export function oneWay(from: readonly PeerIdString[], to: readonly PeerIdString[]): Array<[PeerIdString, PeerIdString]> {
  return from.flatMap((source) => to.filter((target) => target !== source).map((target): [PeerIdString, PeerIdString] => [source, target]));
}

export class Partitions {
  private readonly partitions = new Map<PartitionId, Partition>();
  private nextId = 1;

  /** Adds a partition blocking `directions`; answers its id. */
  add(directions: Iterable<readonly [PeerIdString, PeerIdString]>, mode: PartitionMode, label: string): PartitionInfo {
    const blocked = new Set<string>();
    for (const [from, to] of directions) blocked.add(direction(from, to));
    const partition: Partition = { id: this.nextId, mode, label, blocked };
    this.nextId += 1;
    this.partitions.set(partition.id, partition);
    return { id: partition.id, mode, label };
  }

  /** Removes one partition; answers it, or undefined when it was not in force. */
  remove(id: PartitionId): PartitionInfo | undefined {
    const partition = this.partitions.get(id);
    this.partitions.delete(id);
    return partition === undefined ? undefined : { id: partition.id, mode: partition.mode, label: partition.label };
  }

  /** The partitions in force, oldest first. */
  list(): PartitionInfo[] {
    return [...this.partitions.values()].map(({ id, mode, label }) => ({ id, mode, label }));
  }

  /** Whether any partition blocks `from → to`. */
  blocks(from: PeerIdString, to: PeerIdString): boolean {
    if (this.partitions.size === 0) return false;
    const key = direction(from, to);
    for (const partition of this.partitions.values()) if (partition.blocked.has(key)) return true;
    return false;
  }

  /** Whether any partition of `mode` blocks `from → to`. */
  blocksWith(mode: PartitionMode, from: PeerIdString, to: PeerIdString): boolean {
    const key = direction(from, to);
    for (const partition of this.partitions.values()) if (partition.mode === mode && partition.blocked.has(key)) return true;
    return false;
  }
}
