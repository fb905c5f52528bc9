import type { Stream } from '@libp2p/interface';
import { describe, expect, it } from 'vitest';
import { ErrorCode, isCheopsError } from '../core/errors.js';
import { asPeerIdString } from '../core/ids.js';
import { PeerSender } from './peer-sender.js';

/** The part of a libp2p Stream the sender uses, with a window of `capacity` frames. */
class FakeStream {
  status = 'open';
  writeStatus = 'writable';
  remoteReadStatus = 'readable';
  readonly written: number[] = [];
  inFlight = 0;
  private drainWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  constructor(private readonly capacity: number) {}

  send(data: Uint8Array): boolean {
    if (this.status !== 'open') throw new Error('stream closed');
    this.written.push(data[0] ?? -1);
    this.inFlight += 1;
    return this.inFlight < this.capacity;
  }
  onDrain(): Promise<void> {
    if (this.inFlight < this.capacity) return Promise.resolve();
    return new Promise((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }
  drain(): void {
    this.inFlight = 0;
    for (const waiter of this.drainWaiters.splice(0)) waiter.resolve();
  }
  die(): void {
    this.status = 'reset';
    for (const waiter of this.drainWaiters.splice(0)) waiter.reject(new Error('reset'));
  }
  addEventListener(): void {}
  close(): Promise<void> {
    this.status = 'closed';
    return Promise.resolve();
  }
  abort(): void {
    this.status = 'aborted';
  }
}

const peer = asPeerIdString('peer-x');
const frame = (n: number): Uint8Array => new Uint8Array([n]);
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('PeerSender', () => {
  it('writes one frame at a time and waits for drain before the next', async () => {
    const stream = new FakeStream(2);
    const sender = new PeerSender(peer, () => Promise.resolve(stream as unknown as Stream));
    const sends = [1, 2, 3, 4].map((n) => sender.send(frame(n)));
    await tick();
    expect(stream.written).toEqual([1, 2]);
    stream.drain();
    await tick();
    expect(stream.written).toEqual([1, 2, 3, 4]);
    stream.drain();
    await Promise.all(sends);
  });

  it('reopens a dead stream and keeps the order', async () => {
    const streams = [new FakeStream(100), new FakeStream(100)];
    let opened = 0;
    const sender = new PeerSender(peer, () => Promise.resolve(streams[opened++] as unknown as Stream));
    await sender.send(frame(1));
    streams[0]?.die();
    await Promise.all([sender.send(frame(2)), sender.send(frame(3))]);
    expect(opened).toBe(2);
    expect(streams[0]?.written).toEqual([1]);
    expect(streams[1]?.written).toEqual([2, 3]);
  });

  it('fails a frame whose stream dies while draining with CHEOPS_SITE_UNREACHABLE, then recovers', async () => {
    const streams = [new FakeStream(1), new FakeStream(100)];
    let opened = 0;
    const sender = new PeerSender(peer, () => Promise.resolve(streams[opened++] as unknown as Stream));
    const first = sender.send(frame(1)).catch((e: unknown) => e);
    await tick();
    streams[0]?.die();
    expect(isCheopsError(await first, ErrorCode.SiteUnreachable)).toBe(true);
    await sender.send(frame(2));
    expect(streams[1]?.written).toEqual([2]);
  });

  it('rejects with CHEOPS_SITE_UNREACHABLE when no stream can be opened', async () => {
    const sender = new PeerSender(peer, () => Promise.reject(new Error('no connection')));
    const error: unknown = await sender.send(frame(1)).catch((e: unknown) => e);
    expect(isCheopsError(error, ErrorCode.SiteUnreachable)).toBe(true);
  });

  it('drops a queued frame whose signal aborts, without writing it', async () => {
    const stream = new FakeStream(1);
    const sender = new PeerSender(peer, () => Promise.resolve(stream as unknown as Stream));
    const first = sender.send(frame(1));
    const controller = new AbortController();
    const second = sender.send(frame(2), controller.signal).catch((e: unknown) => e);
    const third = sender.send(frame(3));
    await tick();
    controller.abort();
    expect(isCheopsError(await second, ErrorCode.Aborted)).toBe(true);
    stream.drain();
    await first;
    await tick();
    stream.drain();
    await third;
    expect(stream.written).toEqual([1, 3]);
  });

  it('rejects queued frames on close', async () => {
    const stream = new FakeStream(1);
    const sender = new PeerSender(peer, () => Promise.resolve(stream as unknown as Stream));
    const first = sender.send(frame(1)).catch((e: unknown) => e);
    const second = sender.send(frame(2)).catch((e: unknown) => e);
    await tick();
    await sender.close();
    expect(isCheopsError(await second, ErrorCode.SiteUnreachable)).toBe(true);
    stream.drain();
    await first;
  });
});
