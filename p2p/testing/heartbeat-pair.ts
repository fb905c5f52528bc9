/**
 * Two sites running heartbeats over a MemoryNetwork on a manual clock, with a link whose delay,
 * loss and first-message penalty tests set. Tests only.
 */
import { MemoryLogger } from '../../core/logger.js';
import { systemRandom } from '../../core/system.js';
import { createHeartbeats, type HeartbeatOptions, type Heartbeats, type PeerLivenessEvent } from '../heartbeat.js';
import { MemoryNetwork } from '../memory-network.js';
import { createMemoryTransport, type MemoryTransport } from '../memory-transport.js';
import { ManualClock } from './manual-clock.js';

export interface HeartbeatNode {
  readonly transport: MemoryTransport;
  readonly heartbeats: Heartbeats;
  readonly logger: MemoryLogger;
  readonly ups: PeerLivenessEvent[];
  readonly downs: PeerLivenessEvent[];
}

/** The link both ways, changed by tests as they go. */
export interface TestLink {
  /** Drops every message. */
  cut: boolean;
  /** One-way delay of every message. */
  delayMs: number;
  /**
   * Extra delay of the first message of each direction of a connection: stands for opening the
   * stream (and JIT warm-up) on a real transport.
   */
  firstMessagePenaltyMs: number;
}

export interface HeartbeatPair {
  readonly clock: ManualClock;
  readonly a: HeartbeatNode;
  readonly b: HeartbeatNode;
  readonly link: TestLink;
  /** Opens a connection from a to b; the next message of each direction pays the penalty again. */
  readonly connect: () => Promise<void>;
}

export async function makeHeartbeatPair(options: HeartbeatOptions = {}): Promise<HeartbeatPair> {
  const clock = new ManualClock();
  const link: TestLink = { cut: false, delayMs: 20, firstMessagePenaltyMs: 0 };
  const opened = new Set<string>();
  const network = new MemoryNetwork(
    {
      linkPolicy: {
        canConnect: () => true,
        decide: (from, to) => {
          if (link.cut) return { type: 'drop' };
          const direction = `${from}>${to}`;
          const first = !opened.has(direction);
          opened.add(direction);
          return { type: 'deliver', delayMs: link.delayMs + (first ? link.firstMessagePenaltyMs : 0) };
        },
      },
    },
    { clock },
  );
  const make = async (name: string): Promise<HeartbeatNode> => {
    const logger = new MemoryLogger();
    const transport = createMemoryTransport({ name }, { network, random: systemRandom, logger });
    await transport.start();
    const heartbeats = createHeartbeats(options, { transport, clock, logger });
    const node: HeartbeatNode = { transport, heartbeats, logger, ups: [], downs: [] };
    heartbeats.on('peer:up', (event) => node.ups.push(event));
    heartbeats.on('peer:down', (event) => node.downs.push(event));
    heartbeats.start();
    return node;
  };
  const a = await make('a');
  const b = await make('b');
  return {
    clock,
    a,
    b,
    link,
    connect: async () => {
      opened.clear();
      await a.transport.dial('/memory/b');
    },
  };
}
