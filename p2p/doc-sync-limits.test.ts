/**
 * What a peer cannot make document sync keep without bound: received work, pushes queued in the
 * transport, state about peers that left.
 */
import { generateSyncMessage, init as emptyDoc, initSyncState } from '@automerge/automerge';
import { describe, expect, it } from 'vitest';
import { encodeSyncChannelMessage, pushChannel, syncChannel } from './sync-messages.js';
import { connect, doc, settle, siteAt, sitesStoppedAfterEach } from './testing/sync-sites.js';
import type { Transport } from './transport.js';

const setup = sitesStoppedAfterEach();

describe('DocSync limits', () => {
  it('drops what a flooding peer sends past its backlog, then syncs with it again', async () => {
    const { clock, sites } = await setup(['a', 'b'], { options: { maxBacklogBytes: 2_000 } });
    const [a, b] = [siteAt(sites, 0), siteAt(sites, 1)];
    await connect(a, b);
    await a.store.create(doc('res/1'), { v: 1 });
    await settle(clock, 100);
    const before = a.sync.stats();
    const [, request] = generateSyncMessage(emptyDoc(), initSyncState());
    if (request === null) throw new Error('no request');
    const bytes = encodeSyncChannelMessage({ type: 'sync', v: 1, doc: doc('res/1'), data: request });
    const count = 500;
    // Sent in one go: they all arrive before a applies the first.
    await Promise.all(Array.from({ length: count }, () => b.transport.send(a.peerId, syncChannel, bytes)));
    await settle(clock, 100);
    const stats = a.sync.stats();
    const applied = stats.syncMessagesReceived - before.syncMessagesReceived;
    // b's own sync messages share the backlog: a few more than the flood's share get in.
    expect(applied).toBeLessThan(Math.ceil(2_000 / bytes.length) + 10);
    expect(stats.overloaded).toBeGreaterThan(count - applied - 10);
    expect(applied + stats.overloaded + stats.malformed).toBeGreaterThanOrEqual(count);
    expect(a.logger.find('dropped a message: the peer sends faster than we apply').length).toBeLessThanOrEqual(10);
    // Caught up, a ran anti-entropy with b, and the two still converge.
    expect(a.sync.stats().summariesSent).toBeGreaterThan(before.summariesSent);
    await a.store.change(doc('res/1'), (d: Record<string, unknown>) => {
      d['v'] = 2;
    });
    await settle(clock, 100);
    expect(await b.store.read(doc('res/1'))).toEqual({ v: 2 });
  });

  it('sends later changes by the sync protocol when direct pushes pile up in front of a peer', async () => {
    const scopes = new Map([['res/1', ['a', 'b']]]);
    const { clock, sites } = await setup(['a', 'b'], { scopes, options: { maxPushesInFlight: 8 } });
    const [a, b] = [siteAt(sites, 0), siteAt(sites, 1)];
    await connect(a, b);
    await settle(clock, 50);
    const transport: Transport = a.transport;
    const send = transport.send.bind(transport);
    let stuck = 0;
    // b's push stream takes nothing any more (it stopped reading); the sync channel still flows.
    transport.send = (peer, channel, data, signal) => {
      if (channel !== pushChannel) return send(peer, channel, data, signal);
      stuck += 1;
      return new Promise<void>(() => undefined);
    };
    await a.store.create(doc('res/1'), { n: 0 });
    for (let n = 1; n <= 50; n += 1) {
      await a.store.change(doc('res/1'), (d: Record<string, unknown>) => {
        d['n'] = n;
      });
    }
    await settle(clock, 200);
    expect(stuck).toBe(8);
    expect(a.sync.stats().pushesSent).toBe(8);
    expect(await b.store.read(doc('res/1'))).toEqual({ n: 50 });
  });

  it('keeps nothing about peers that left once their work is done', async () => {
    const peers = Array.from({ length: 8 }, (_, index) => `p${index}`);
    const names = ['a', ...peers];
    // Each peer's documents are shared with a only: a forwards nothing, each peer is on its own.
    const scopes = new Map(peers.flatMap((peer) => [`res/${peer}`, `res/${peer}-large`].map((id) => [id, ['a', peer]])));
    const { clock, sites } = await setup(names, { scopes });
    const a = siteAt(sites, 0);
    for (const peer of sites.slice(1)) {
      await connect(peer, a);
      await peer.store.create(doc(`res/${peer.name}`), { from: peer.name });
      await peer.store.create(doc(`res/${peer.name}-large`), { body: new Uint8Array(17_000).fill(1) });
      await peer.transport.send(a.peerId, syncChannel, new Uint8Array([0xff]));
    }
    await settle(clock, 500);
    expect(a.store.ids()).toHaveLength(2 * (names.length - 1));
    expect(a.sync.retainedPeerCount()).toBe(names.length - 1);
    for (const peer of sites.slice(1)) await peer.transport.hangUp(a.peerId);
    await settle(clock, 2_000);
    // The warning windows end a minute after they opened.
    await clock.advance(60_000);
    expect(a.sync.retainedPeerCount()).toBe(0);
  });

  it('forgets every peer when stopped, and syncs again from scratch when started', async () => {
    const { clock, sites } = await setup(['a', 'b']);
    const [a, b] = [siteAt(sites, 0), siteAt(sites, 1)];
    await connect(a, b);
    await a.store.create(doc('res/1'), { v: 1, body: new Uint8Array(20_000).fill(2) });
    await settle(clock, 200);
    expect(b.store.heads(doc('res/1'))).toEqual(a.store.heads(doc('res/1')));
    await b.sync.stop();
    expect(b.sync.retainedPeerCount()).toBe(0);
    expect(clock.pendingTimers()).toBeGreaterThan(0); // a's timers; b left none of its own
    await a.store.change(doc('res/1'), (d: Record<string, unknown>) => {
      d['v'] = 2;
    });
    await settle(clock, 200);
    expect(await b.store.read(doc('res/1'))).toMatchObject({ v: 1 });
    // b's summary shows it behind: a's digest answers it, and b pulls.
    b.sync.start();
    await settle(clock, 1_200);
    expect(await b.store.read(doc('res/1'))).toMatchObject({ v: 2 });
  });
});
