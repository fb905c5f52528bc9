/**
 * The contract every Transport passes (STYLE.md: ports with contract suites). Run it from a test
 * file with a factory of started, mutually dialable transports; the suite stops them after each
 * test.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sleep } from '../core/clock.js';
import { ErrorCode, isCheopsError } from '../core/errors.js';
import type { PeerIdString } from '../core/ids.js';
import { systemClock } from '../core/system.js';
import type { Transport, TransportEvents } from './transport.js';

/** Makes `count` started transports that can dial each other (not yet connected). */
export type TransportFactory = (count: number) => Promise<Transport[]>;

export interface TransportContractOptions {
  /** How long to wait for something asynchronous (gossip meshes form in 45–120 ms on libp2p). */
  readonly waitMs?: number;
  /** Counts the process's open handles of the implementation (sockets); default: none. */
  readonly openHandles?: () => number;
}

/** The address of `transport` without its `/p2p/<id>` suffix. */
export function bareAddress(transport: Transport): string {
  const address = transport.addresses()[0];
  if (address === undefined) throw new Error(`${transport.peerId} has no address`);
  return address.replace(/\/p2p\/[^/]+$/, '');
}

/** Records the events of one transport. */
export function record(transport: Transport): {
  readonly connects: PeerIdString[];
  readonly disconnects: PeerIdString[];
  readonly messages: Array<TransportEvents['message']>;
  readonly gossip: Array<TransportEvents['gossip']>;
} {
  const log = {
    connects: [] as PeerIdString[],
    disconnects: [] as PeerIdString[],
    messages: [] as Array<TransportEvents['message']>,
    gossip: [] as Array<TransportEvents['gossip']>,
  };
  transport.on('peer:connect', (event) => log.connects.push(event.peer));
  transport.on('peer:disconnect', (event) => log.disconnects.push(event.peer));
  transport.on('message', (event) => log.messages.push(event));
  transport.on('gossip', (event) => log.gossip.push(event));
  return log;
}

function bytesOf(value: number, length = 4): Uint8Array {
  const bytes = new Uint8Array(length);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}

function valueOf(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
}

function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index += 1) bytes[index] = (index * 31 + seed) & 0xff;
  return bytes;
}

/** Runs the Transport contract against `factory`. */
export function transportContract(name: string, factory: TransportFactory, options: TransportContractOptions = {}): void {
  const waitMs = options.waitMs ?? 5_000;
  const wait = { timeout: waitMs, interval: 20 };

  describe(`Transport contract: ${name}`, () => {
    let live: Transport[] = [];
    const make = async (count: number): Promise<Transport[]> => {
      const made = await factory(count);
      live.push(...made);
      return made;
    };
    const pair = async (): Promise<[Transport, Transport]> => {
      const [a, b] = await make(2);
      if (a === undefined || b === undefined) throw new Error('factory made too few transports');
      return [a, b];
    };

    afterEach(async () => {
      await Promise.all(live.map((transport) => transport.stop()));
      live = [];
    });

    it('dials an address without a peer id, learns the id, and emits peer:connect once per side', async () => {
      const [a, b] = await pair();
      const logA = record(a);
      const logB = record(b);
      expect(b.addresses().every((address) => address.endsWith(`/p2p/${b.peerId}`))).toBe(true);
      expect(await a.dial(bareAddress(b))).toBe(b.peerId);
      expect(await a.dial(bareAddress(b))).toBe(b.peerId);
      await vi.waitFor(() => expect(logB.connects).toEqual([a.peerId]), wait);
      expect(logA.connects).toEqual([b.peerId]);
      expect(a.connectedPeers()).toEqual([b.peerId]);
      expect(b.connectedPeers()).toEqual([a.peerId]);
    });

    it('keeps the order of many concurrent sends', async () => {
      const [a, b] = await pair();
      const logB = record(b);
      await a.dial(bareAddress(b));
      const count = 500;
      await Promise.all(Array.from({ length: count }, (_, index) => a.send(b.peerId, 'order', bytesOf(index))));
      await vi.waitFor(() => expect(logB.messages).toHaveLength(count), wait);
      expect(logB.messages.map((message) => valueOf(message.data))).toEqual(Array.from({ length: count }, (_, i) => i));
      expect(logB.messages.every((message) => message.from === a.peerId && message.channel === 'order')).toBe(true);
    });

    it('carries 1 MB messages, in order with small ones, under backpressure', async () => {
      const [a, b] = await pair();
      const logB = record(b);
      await a.dial(bareAddress(b));
      const sizes = [1_000_000, 10, 1_000_000, 1_000_000, 7, 1_000_000];
      await Promise.all(sizes.map((size, index) => a.send(b.peerId, 'large', pattern(size, index))));
      await vi.waitFor(() => expect(logB.messages).toHaveLength(sizes.length), { ...wait, timeout: waitMs * 2 });
      logB.messages.forEach((message, index) => {
        expect(message.data.length).toBe(sizes[index]);
        expect(Buffer.from(message.data).equals(Buffer.from(pattern(sizes[index] ?? 0, index)))).toBe(true);
      });
    });

    it('rejects a send to an unconnected peer with CHEOPS_SITE_UNREACHABLE', async () => {
      const [a, b] = await pair();
      const error: unknown = await a.send(b.peerId, 'x', bytesOf(1)).then(() => undefined, (e: unknown) => e);
      expect(isCheopsError(error, ErrorCode.SiteUnreachable)).toBe(true);
      await a.dial(bareAddress(b));
      await a.hangUp(b.peerId);
      await vi.waitFor(() => expect(a.connectedPeers()).toEqual([]), wait);
      const after: unknown = await a.send(b.peerId, 'x', bytesOf(2)).then(() => undefined, (e: unknown) => e);
      expect(isCheopsError(after, ErrorCode.SiteUnreachable)).toBe(true);
    });

    it('delivers gossip to subscribers only, never back to the sender', async () => {
      const [a, b, c] = await make(3);
      if (a === undefined || b === undefined || c === undefined) throw new Error('too few transports');
      const [logA, logB, logC] = [record(a), record(b), record(c)];
      a.subscribe('topic');
      b.subscribe('topic');
      c.subscribe('other');
      await a.dial(bareAddress(b));
      await a.dial(bareAddress(c));
      await b.dial(bareAddress(c));
      // Subscriptions travel after a dial; publish until the subscriber has heard one.
      let sent = 0;
      await vi.waitFor(async () => {
        sent += 1;
        await a.publish('topic', bytesOf(sent));
        await sleep(systemClock, 50);
        expect(logB.gossip.length).toBeGreaterThan(0);
      }, wait);
      expect(logB.gossip[0]).toMatchObject({ from: a.peerId, topic: 'topic' });
      await sleep(systemClock, 200);
      expect(logA.gossip).toEqual([]);
      expect(logC.gossip).toEqual([]);
      b.unsubscribe('topic');
      await sleep(systemClock, 200);
      const heard = logB.gossip.length;
      await a.publish('topic', bytesOf(999));
      await sleep(systemClock, 200);
      expect(logB.gossip).toHaveLength(heard);
    });

    it('emits peer:disconnect on both sides after hangUp, and can dial again', async () => {
      const [a, b] = await pair();
      const logA = record(a);
      const logB = record(b);
      await a.dial(bareAddress(b));
      await vi.waitFor(() => expect(logB.connects).toEqual([a.peerId]), wait);
      await a.hangUp(b.peerId);
      await vi.waitFor(() => expect(logA.disconnects).toEqual([b.peerId]), wait);
      await vi.waitFor(() => expect(logB.disconnects).toEqual([a.peerId]), wait);
      expect(a.connectedPeers()).toEqual([]);
      await b.dial(bareAddress(a));
      await vi.waitFor(() => expect(logA.connects).toEqual([b.peerId, b.peerId]), wait);
      await b.send(a.peerId, 'again', bytesOf(7));
      await vi.waitFor(() => expect(logA.messages.map((m) => m.channel)).toEqual(['again']), wait);
    });

    it('stops cleanly: peers see it leave, later calls reject, no handle stays open', async () => {
      const before = options.openHandles?.() ?? 0;
      const [a, b] = await pair();
      const logB = record(b);
      await a.dial(bareAddress(b));
      await a.send(b.peerId, 'x', bytesOf(1));
      await a.stop();
      await a.stop();
      await vi.waitFor(() => expect(logB.disconnects).toEqual([a.peerId]), wait);
      const error: unknown = await a.send(b.peerId, 'x', bytesOf(2)).then(() => undefined, (e: unknown) => e);
      expect(isCheopsError(error, ErrorCode.NotRunning)).toBe(true);
      expect(a.connectedPeers()).toEqual([]);
      await b.stop();
      if (options.openHandles !== undefined) {
        await vi.waitFor(() => expect(options.openHandles?.()).toBeLessThanOrEqual(before), wait);
      }
    });
  });
}
