/**
 * Scope safety of pushes over MemoryTransport: a restricted document is pushed directly to its
 * sites, never by gossip; a document shared with all goes once on the broadcast topic.
 */
import { describe, expect, it } from 'vitest';
import type { PeerIdString } from '../core/ids.js';
import { broadcastTopic, encodePushMessage, pushChannel } from './sync-messages.js';
import type { ManualClock } from './testing/manual-clock.js';
import {
  connect,
  doc,
  guessableTopics,
  mentions,
  settle,
  siteAt,
  sitePeerId,
  sitesStoppedAfterEach,
  watchReceived,
  type TestSite,
} from './testing/sync-sites.js';

const setup = sitesStoppedAfterEach();

/** Sites a, b, c all connected; `res/secret` is shared by a and b only. */
async function threeSites(): Promise<{ clock: ManualClock; a: TestSite; b: TestSite; c: TestSite }> {
  const { clock, sites } = await setup(['a', 'b', 'c'], { scopes: new Map([['res/secret', ['a', 'b']]]) });
  const [a, b, c] = [siteAt(sites, 0), siteAt(sites, 1), siteAt(sites, 2)];
  await connect(a, b);
  await connect(a, c);
  await connect(b, c);
  await settle(clock, 50);
  return { clock, a, b, c };
}

describe('DocSync pushes and scope', () => {
  it('pushes a restricted document to its sites only: a site subscribed to every topic never sees it', async () => {
    const { clock, a, b, c } = await threeSites();
    const overheard = watchReceived(c.transport);
    for (const topic of guessableTopics([a.peerId, b.peerId, c.peerId], ['res/secret'])) c.transport.subscribe(topic);

    await a.store.create(doc('res/secret'), { password: 'hunter2' });
    for (let n = 1; n <= 5; n += 1) {
      await a.store.change(doc('res/secret'), (d: Record<string, unknown>) => {
        d['n'] = n;
      });
    }
    await settle(clock, 10);
    await b.store.change(doc('res/secret'), (d: Record<string, unknown>) => {
      d['fromB'] = 'shh';
    });
    await settle(clock, 20);
    // One one-way delay, by pushes alone: the sync protocol was not needed.
    expect(b.store.heads(doc('res/secret'))).toEqual(a.store.heads(doc('res/secret')));
    expect(await b.store.read(doc('res/secret'))).toEqual({ password: 'hunter2', n: 5, fromB: 'shh' });
    expect(a.sync.stats()).toMatchObject({ pushesSent: 6, syncMessagesSent: 0 });
    expect(b.sync.stats()).toMatchObject({ pushesReceived: 6, pushesSent: 1, syncMessagesSent: 0 });

    // The spy is listening: it does get what every site may see.
    await a.store.create(doc('res/public'), { hello: 'world' });
    await settle(clock, 1_500);
    a.sync.antiEntropy();
    b.sync.antiEntropy();
    await settle(clock, 500);
    // And a periodic anti-entropy round (every 30 s).
    await settle(clock, 30_000);
    expect(overheard.topics).toEqual(new Set([broadcastTopic]));
    expect(mentions(overheard, 'res/public')).toBe(true);
    expect(c.store.has(doc('res/public'))).toBe(true);

    expect(overheard.documents.has('res/secret')).toBe(false);
    expect(mentions(overheard, 'res/secret')).toBe(false);
    expect(mentions(overheard, 'hunter2')).toBe(false);
    expect(mentions(overheard, 'shh')).toBe(false);
    expect(c.store.has(doc('res/secret'))).toBe(false);
  });

  it('publishes a change of a document shared with all once, and every site applies it from gossip', async () => {
    const { clock, a, b, c } = await threeSites();
    const heardByB = watchReceived(b.transport);
    await a.store.create(doc('sites'), { a: { name: 'a' } });
    await settle(clock, 10);
    expect(a.sync.stats()).toMatchObject({ pushesSent: 1, syncMessagesSent: 0 });
    expect(heardByB.topics).toEqual(new Set([broadcastTopic]));
    for (const site of [b, c]) {
      expect(await site.store.read(doc('sites'))).toEqual({ a: { name: 'a' } });
      expect(site.sync.stats().pushesReceived).toBe(1);
    }
  });

  it('refuses a restricted document on the broadcast topic, even from one of its sites', async () => {
    const { clock, a, b, c } = await threeSites();
    await a.store.create(doc('res/secret'), { v: 1 });
    await settle(clock, 20);
    const heads = a.store.heads(doc('res/secret')) ?? [];
    const change = encodePushMessage({ type: 'push', v: 1, doc: doc('res/secret'), heads, changes: [new Uint8Array([1])] });
    // b belongs to the document, but a restricted push on gossip reached c as well: refused.
    await b.transport.publish(broadcastTopic, change);
    // c does not belong to it at all: refused on the direct channel too.
    await c.transport.send(a.peerId, pushChannel, change);
    await settle(clock, 20);
    expect(a.sync.stats()).toMatchObject({ refused: 2, malformed: 0 });
    expect(c.sync.stats().refused).toBe(1);
    expect(a.logger.find('refused a document message from a peer outside its scope')).toMatchObject([
      { fields: { peer: b.peerId, kind: 'broadcast' } },
      { fields: { peer: c.peerId, kind: 'push' } },
    ]);
  });

  it('syncs a document at once with a peer it is newly shared with, whose push it refused before (offer)', async () => {
    // b learns that c shares the document only after c's push came, and refused it: b offers it
    // to its peers when its policy opens, and gets c's change without waiting for anti-entropy.
    const members = new Map<string, Set<string>>([['res/widened', new Set(['a', 'b'])]]);
    const sharedWith = (id: string): ReadonlySet<PeerIdString> | 'all' => {
      const names = members.get(id);
      return names === undefined ? 'all' : new Set([...names].map(sitePeerId));
    };
    const { clock, sites } = await setup(['a', 'b', 'c'], { sharedWith });
    const [a, b, c] = [siteAt(sites, 0), siteAt(sites, 1), siteAt(sites, 2)];
    await connect(a, b);
    await connect(b, c);
    await settle(clock, 50);
    await a.store.create(doc('res/widened'), { from: 'a' });
    await settle(clock, 50);
    await c.store.create(doc('res/widened'), { fromC: true });
    await settle(clock, 50);
    expect(b.sync.stats().refused).toBeGreaterThan(0);
    members.set('res/widened', new Set(['a', 'b', 'c']));
    b.sync.offer(doc('res/widened'));
    await settle(clock, 200);
    expect(await b.store.read(doc('res/widened'))).toMatchObject({ fromC: true });
    expect(await c.store.read(doc('res/widened'))).toMatchObject({ from: 'a' });
  });

  it('keeps a document local when its share policy throws (fail closed)', async () => {
    const sharedWith = (id: string): 'all' => {
      if (id === 'res/broken') throw new Error('scope not resolvable');
      return 'all';
    };
    const { clock, sites } = await setup(['x', 'y'], { sharedWith });
    const [x, y] = [siteAt(sites, 0), siteAt(sites, 1)];
    const overheard = watchReceived(y.transport);
    await connect(x, y);
    await x.store.create(doc('res/broken'), { v: 1 });
    await x.store.create(doc('res/fine'), { v: 1 });
    await settle(clock, 1_500);
    x.sync.antiEntropy();
    await settle(clock, 100);
    expect(x.sync.stats().pushesSent).toBe(1);
    expect(y.store.has(doc('res/fine'))).toBe(true);
    expect(overheard.documents.has('res/broken')).toBe(false);
    expect(mentions(overheard, 'res/broken')).toBe(false);
    expect(x.logger.find('share policy failed; document kept local').length).toBeGreaterThan(0);
  });
});
