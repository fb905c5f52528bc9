import { initSyncState, generateSyncMessage, init as emptyDoc } from '@automerge/automerge';
import { describe, expect, it } from 'vitest';
import { asPeerIdString } from '../core/ids.js';
import { silentLogger } from '../core/logger.js';
import { systemRandom } from '../core/system.js';
import { DocumentStore } from '../crdt/document-store.js';
import { MemoryStorage } from '../crdt/memory-storage.js';
import { CountingStorage, syncDocuments } from '../crdt/test-helpers.js';
import {
  broadcastTopic,
  decodeSyncChannelMessage,
  encodePushMessage,
  encodeSyncChannelMessage,
  pushChannel,
  syncChannel,
  type SyncChannelMessage,
} from './sync-messages.js';
import { connect, doc, settle, siteAt as site, sitePeerId, sitesStoppedAfterEach, watchReceived, type Received, type TestSite, type TestSitesInit } from './testing/sync-sites.js';
import type { ManualClock } from './testing/manual-clock.js';
import { suppressedWarningsMessage } from './warning-limiter.js';

interface Counter {
  count: number;
}

const setup = sitesStoppedAfterEach();

/** Sites a and b, connected once, then cut apart while a creates `res/0`…`res/<count - 1>`. */
async function cutOffWith(count: number): Promise<{ clock: ManualClock; a: TestSite; b: TestSite }> {
  const { clock, sites } = await setup(['a', 'b']);
  const [a, b] = [site(sites, 0), site(sites, 1)];
  await connect(a, b);
  await settle(clock);
  await a.transport.hangUp(b.peerId);
  for (let n = 0; n < count; n += 1) await a.store.create(doc(`res/${n}`), { n });
  await settle(clock);
  return { clock, a, b };
}

/** Sites a and b, connected, a's document store on a storage the test can hold and fail. */
async function connectedWithDiskOfA(): Promise<{ clock: ManualClock; a: TestSite; b: TestSite; disk: CountingStorage }> {
  const disk = new CountingStorage(new MemoryStorage());
  const { clock, sites } = await setup(['a', 'b'], { storage: (name) => (name === 'a' ? disk : new MemoryStorage()) });
  const [a, b] = [site(sites, 0), site(sites, 1)];
  await connect(a, b);
  await settle(clock, 50);
  return { clock, a, b, disk };
}

/** The sync-channel messages among what a site received. */
function syncMessages(received: Received): SyncChannelMessage[] {
  return received.payloads.flatMap((payload) => {
    const decoded = decodeSyncChannelMessage(payload);
    return decoded.ok ? [decoded.value] : [];
  });
}

/** The documents a site received whole (`docs` messages), in order. */
function sentWhole(received: Received): string[] {
  return syncMessages(received).flatMap((message) => (message.type === 'docs' ? message.items.map((item) => item.doc) : []));
}

/** Counts the direct messages any of `sites` receives from another of them, from now on. */
function countMessagesAmong(sites: readonly TestSite[]): Counter {
  const counter: Counter = { count: 0 };
  const peers = new Set<string>(sites.map((one) => one.peerId));
  for (const one of sites) {
    one.transport.on('message', (event) => {
      if (peers.has(event.from)) counter.count += 1;
    });
  }
  return counter;
}

/** Sites a, b, c and d sharing `res/1` (a replicant's scope), connected pair by pair as `links` says. */
async function scopeOfFour(links: ReadonlyArray<readonly [number, number]>, extra: Partial<TestSitesInit> = {}): Promise<{ clock: ManualClock; sites: TestSite[] }> {
  const names = ['a', 'b', 'c', 'd'];
  const made = await setup(names, { scopes: new Map([['res/1', names]]), ...extra });
  for (const [from, to] of links) await connect(site(made.sites, from), site(made.sites, to));
  return made;
}

const everyPairOfFour = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]] as const;

/** Each member answers the writer's write with a status for the writer alone (its audience). */
async function statusesFor(writer: TestSite, members: readonly TestSite[]): Promise<void> {
  await Promise.all(members.map((member) => member.store.change(doc('res/1'), (draft: Record<string, unknown>) => {
    draft[`status:${member.name}`] = 'applied';
  }, { audience: [writer.peerId] })));
}

/** Sets `v` in `site`'s document `id`, a change of its own. */
async function setV(site: TestSite, id: string, v: number): Promise<void> {
  await site.store.change(doc(id), (draft: Record<string, unknown>) => {
    draft['v'] = v;
  });
}

describe('DocSync over MemoryTransport with the DocumentStore', () => {
  it('replicates a small change by one push, without the sync protocol', async () => {
    const { clock, sites } = await setup(['a', 'b']);
    const [a, b] = [site(sites, 0), site(sites, 1)];
    await connect(a, b);
    await settle(clock, 50);
    await a.store.create(doc('res/1'), { name: 'purple' });
    await settle(clock, 50);
    expect(await b.store.read(doc('res/1'))).toEqual({ name: 'purple' });
    expect(b.store.heads(doc('res/1'))).toEqual(a.store.heads(doc('res/1')));
    expect(a.sync.stats().pushesSent).toBe(1);
    expect(b.sync.stats().pushesReceived).toBe(1);
    expect(a.sync.stats().syncMessagesSent + b.sync.stats().syncMessagesSent).toBe(0);
  });

  it('pushes a local change while its write is under way, and not again once it is durable', async () => {
    const { clock, a, b, disk } = await connectedWithDiskOfA();
    disk.hold();
    const written = a.store.create(doc('res/1'), { name: 'purple' });
    await settle(clock, 50);
    // a's fsync has not returned, and b already holds the change, durably.
    expect(a.store.has(doc('res/1'))).toBe(false);
    expect(await b.store.read(doc('res/1'))).toEqual({ name: 'purple' });
    disk.release();
    const heads = await written;
    await settle(clock, 500);
    expect(b.store.heads(doc('res/1'))).toEqual(heads);
    expect(a.sync.stats().pushesSent).toBe(1);
    expect(a.sync.stats().syncMessagesSent + b.sync.stats().syncMessagesSent).toBe(0);
  });

  it('gets back from a peer a pushed change that its crash lost, and writes on without a clash', async () => {
    const { clock, a, b, disk } = await connectedWithDiskOfA();
    await a.store.create(doc('res/1'), { n: 1 });
    disk.hold();
    void a.store.change<{ n: number }>(doc('res/1'), (draft) => void (draft.n = 2)).catch(() => undefined);
    await settle(clock, 50);
    expect(await b.store.read(doc('res/1'))).toEqual({ n: 2 });
    // The crash: a's write never lands. A new store opens on what a's storage holds.
    disk.failNext();
    disk.release();
    await settle(clock, 10);
    const restarted = new DocumentStore({ storage: disk.inner, clock, random: systemRandom, logger: silentLogger });
    await restarted.open();
    expect(await restarted.read(doc('res/1'))).toEqual({ n: 1 });
    await restarted.change<{ v: string }>(doc('res/1'), (draft) => void (draft.v = 'after'));
    // b holds a's lost change under a's old actor; a's new change is another actor's first.
    await syncDocuments(restarted, b.store, doc('res/1'));
    expect(await restarted.read(doc('res/1'))).toEqual({ n: 2, v: 'after' });
    expect(await b.store.read(doc('res/1'))).toEqual({ n: 2, v: 'after' });
    expect(b.store.heads(doc('res/1'))).toEqual(restarted.heads(doc('res/1')));
    await restarted.close();
  });

  it('converges after a partition with concurrent changes on both sides', async () => {
    const { clock, sites } = await setup(['a', 'b']);
    const [a, b] = [site(sites, 0), site(sites, 1)];
    await connect(a, b);
    await a.store.create(doc('res/1'), { base: 1 });
    await settle(clock);
    await a.transport.hangUp(b.peerId);
    await a.store.change(doc('res/1'), (d: Record<string, unknown>) => {
      d['fromA'] = 'a';
    });
    await b.store.change(doc('res/1'), (d: Record<string, unknown>) => {
      d['fromB'] = 'b';
    });
    await b.store.create(doc('res/2'), { bornOn: 'b', body: new Uint8Array(40_000).fill(1) });
    await settle(clock);
    expect(await b.store.read(doc('res/1'))).toEqual({ base: 1, fromB: 'b' });
    await connect(b, a);
    await settle(clock);
    expect(await a.store.read(doc('res/1'))).toEqual({ base: 1, fromA: 'a', fromB: 'b' });
    expect(await b.store.read(doc('res/1'))).toEqual({ base: 1, fromA: 'a', fromB: 'b' });
    expect(a.store.heads(doc('res/1'))).toEqual(b.store.heads(doc('res/1')));
    expect(a.store.has(doc('res/2'))).toBe(true);
    expect(a.store.heads(doc('res/2'))).toEqual(b.store.heads(doc('res/2')));
  });

  it('sends documents a peer holds none of whole, after a partition, without the sync protocol', async () => {
    const { clock, a, b } = await cutOffWith(20);
    await b.store.create(doc('res/b'), { bornOn: 'b' });
    await settle(clock);
    const before = a.sync.stats().syncMessagesSent + b.sync.stats().syncMessagesSent;
    const received = watchReceived(b.transport);
    const receivedByA = watchReceived(a.transport);
    await connect(b, a);
    await settle(clock);
    for (let n = 0; n < 20; n += 1) expect(await b.store.read(doc(`res/${n}`))).toEqual({ n });
    expect(await a.store.read(doc('res/b'))).toEqual({ bornOn: 'b' });
    expect(a.sync.stats().syncMessagesSent + b.sync.stats().syncMessagesSent).toBe(before);
    // The twenty documents travelled together, unasked (each summary said it was complete), once.
    expect(received.payloads.length).toBeLessThan(10);
    const types = [...syncMessages(received), ...syncMessages(receivedByA)].map((message) => message.type);
    expect(types).not.toContain('want');
    expect(sentWhole(received).sort()).toEqual(Array.from({ length: 20 }, (_, n) => `res/${n}`).sort());
  });

  it('sends what it wrote while the peer was away at once on its return, without waiting for its summary', async () => {
    // b's messages to a are lost once the link comes back: a never sees b's summary.
    let bToALost = false;
    const policy = {
      canConnect: () => true,
      decide: (from: string) => (bToALost && from === 'peer-b' ? ({ type: 'drop' } as const) : ({ type: 'deliver', delayMs: 0 } as const)),
    };
    const { clock, sites } = await setup(['a', 'b'], { linkPolicy: policy });
    const [a, b] = [site(sites, 0), site(sites, 1)];
    expect(b.peerId).toBe('peer-b');
    await connect(a, b);
    await settle(clock);
    await a.transport.hangUp(b.peerId);
    for (let n = 0; n < 3; n += 1) await a.store.create(doc(`res/away-${n}`), { n });
    await settle(clock);
    bToALost = true;
    const received = watchReceived(b.transport);
    await connect(a, b);
    await settle(clock);
    for (let n = 0; n < 3; n += 1) expect(await b.store.read(doc(`res/away-${n}`))).toEqual({ n });
    expect(sentWhole(received).sort()).toEqual(['res/away-0', 'res/away-1', 'res/away-2']);
  });

  it('sends a document written while the peer was away only once, though the peer\'s summary leaves it out', async () => {
    const { clock, a, b } = await cutOffWith(4);
    const received = watchReceived(b.transport);
    await connect(b, a);
    await settle(clock);
    expect(sentWhole(received).sort()).toEqual(['res/0', 'res/1', 'res/2', 'res/3']);
  });

  it('sends a document whole unasked once, until the peer names it (a summary may leave out what it has not read yet)', async () => {
    const { clock, a, b } = await cutOffWith(5);
    const received = watchReceived(b.transport);
    await connect(b, a);
    await settle(clock);
    const wholeAtB = (): string[] => sentWhole(received);
    expect(wholeAtB()).toHaveLength(5);
    // b says it holds none of them (as a site does for documents it has not read yet): not sent again.
    const emptySummary = encodeSyncChannelMessage({ type: 'heads', v: 1, docs: [], end: true });
    await b.transport.send(a.peerId, syncChannel, emptySummary);
    await settle(clock);
    expect(wholeAtB()).toHaveLength(5);
    // Once b has named them, a summary without them means b lost them: they go again.
    b.sync.heal(a.peerId);
    await settle(clock);
    await b.transport.send(a.peerId, syncChannel, emptySummary);
    await settle(clock);
    expect(wholeAtB()).toHaveLength(10);
  });

  it('never sends a document to a site outside its scope, and refuses one that asks', async () => {
    const scopes = new Map([['res/secret', ['a', 'b']]]);
    const { clock, sites } = await setup(['a', 'b', 'c'], { scopes });
    const [a, b, c] = [site(sites, 0), site(sites, 1), site(sites, 2)];
    const seenByC = watchReceived(c.transport);
    await connect(a, b);
    await connect(a, c);
    await connect(b, c);
    await a.store.create(doc('res/secret'), { password: 'hunter2' });
    await a.store.create(doc('res/public'), { hello: 'world' });
    await a.store.change(doc('res/secret'), (d: Record<string, unknown>) => {
      d['big'] = new Uint8Array(40_000).fill(2);
    });
    await settle(clock, 1_500);
    a.sync.antiEntropy();
    b.sync.antiEntropy();
    await settle(clock);
    expect(b.store.heads(doc('res/secret'))).toEqual(a.store.heads(doc('res/secret')));
    expect(c.store.has(doc('res/public'))).toBe(true);
    expect(c.store.has(doc('res/secret'))).toBe(false);
    expect(seenByC.documents.has('res/secret')).toBe(false);

    // C asks A for the secret six ways: a sync request, a heads summary, a want, forged pushes
    // (direct, and on the broadcast topic, where only documents shared with all may travel) and a
    // forged whole document.
    const [, request] = generateSyncMessage(emptyDoc(), initSyncState());
    if (request === null) throw new Error('no request');
    await c.transport.send(a.peerId, syncChannel, encodeSyncChannelMessage({ type: 'sync', v: 1, doc: doc('res/secret'), data: request }));
    await c.transport.send(
      a.peerId,
      syncChannel,
      encodeSyncChannelMessage({ type: 'heads', v: 1, docs: [{ doc: doc('res/secret'), heads: [] }] }),
    );
    await c.transport.send(a.peerId, syncChannel, encodeSyncChannelMessage({ type: 'want', v: 1, docs: [doc('res/secret')] }));
    await c.transport.send(
      a.peerId,
      syncChannel,
      encodeSyncChannelMessage({ type: 'docs', v: 1, items: [{ doc: doc('res/secret'), heads: [], changes: [new Uint8Array([1])] }] }),
    );
    const forged = encodePushMessage({
      type: 'push',
      v: 1,
      doc: doc('res/secret'),
      heads: [],
      changes: [new Uint8Array([1])],
    });
    await c.transport.send(a.peerId, pushChannel, forged);
    await c.transport.publish(broadcastTopic, forged);
    await settle(clock);
    expect(a.logger.find('refused a document message from a peer outside its scope')).toHaveLength(6);
    expect(a.sync.stats().refused).toBe(6);
    expect(seenByC.documents.has('res/secret')).toBe(false);
    expect(c.store.has(doc('res/secret'))).toBe(false);
  });

  it('coalesces many rapid changes into far fewer sync messages', async () => {
    const { clock, sites } = await setup(['a', 'b'], { options: { pushMaxBytes: 0 } });
    const [a, b] = [site(sites, 0), site(sites, 1)];
    await connect(a, b);
    await a.store.create(doc('res/1'), { n: 0 });
    await settle(clock);
    const sentBefore = a.sync.stats().syncMessagesSent;
    const changes = 100;
    for (let n = 1; n <= changes; n += 1) {
      await a.store.change(doc('res/1'), (d: Record<string, unknown>) => {
        d['n'] = n;
      });
    }
    await settle(clock);
    expect(await b.store.read(doc('res/1'))).toEqual({ n: changes });
    const sent = a.sync.stats().syncMessagesSent - sentBefore;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(changes / 10);
  });

  it('drops garbage on the sync and push channels and the broadcast topic, logs it within limits, and keeps syncing', async () => {
    const { clock, sites } = await setup(['a', 'b']);
    const [a, b] = [site(sites, 0), site(sites, 1)];
    await connect(a, b);
    await a.store.create(doc('res/1'), { v: 1 });
    await settle(clock);
    const garbage = [
      new Uint8Array([0xff, 0x00, 0x13]),
      new Uint8Array(0),
      encodePushMessage({ type: 'push', v: 1, doc: doc('res/1'), heads: [], changes: [new Uint8Array([9, 9])] }),
      encodeSyncChannelMessage({ type: 'sync', v: 1, doc: doc('res/1'), data: new Uint8Array([0x42, 1, 2, 3]) }),
      encodeSyncChannelMessage({ type: 'heads', v: 1, docs: [] }).map((byte) => byte ^ 0x20),
      new TextEncoder().encode(JSON.stringify({ type: 'sync', v: 1, doc: '../../etc' })),
    ];
    const { encode } = await import('cborg');
    garbage.push(encode({ type: 'sync', v: 2, doc: 'res/1', data: new Uint8Array(1) }));
    garbage.push(encode({ type: 'heads', v: 1, docs: [['res/1', ['not-a-hash']]] }));
    garbage.push(encode({ type: 'push', v: 1, doc: 'res/1', heads: [], changes: 'nope' }));
    garbage.push(encode([1, 2, 3]));
    for (const bytes of garbage) {
      await b.transport.send(a.peerId, syncChannel, bytes);
      await b.transport.send(a.peerId, pushChannel, bytes);
      await b.transport.publish(broadcastTopic, bytes);
    }
    await settle(clock);
    expect(a.sync.stats().malformed).toBe(garbage.length * 3);
    // Every one counted, ten logged; the rest summed up when the peer's minute is over.
    expect(a.logger.find('dropped a malformed document message')).toHaveLength(10);
    await clock.advance(60_000);
    expect(a.logger.find(suppressedWarningsMessage)).toMatchObject([
      { fields: { peer: b.peerId, suppressed: garbage.length * 3 - 10 } },
    ]);
    expect(a.logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
    await setV(a, 'res/1', 2);
    await settle(clock);
    expect(await b.store.read(doc('res/1'))).toEqual({ v: 2 });
  });

  it('pushes a change with an audience to it alone; the audience passes it on with its digest, one push per peer, no sync', async () => {
    // Shared with a set of sites (a replicant), not with all: such changes go direct, never by gossip.
    const { clock, sites } = await setup(['a', 'b', 'c', 'd'], { scopes: new Map([['res/1', ['a', 'b', 'c', 'd']]]) });
    const [a, b, c, d] = [site(sites, 0), site(sites, 1), site(sites, 2), site(sites, 3)];
    for (const [from, to] of [[a, b], [a, c], [a, d], [b, c], [b, d], [c, d]] as const) await connect(from, to);
    await settle(clock, 50);
    await a.store.create(doc('res/1'), { desired: 1 });
    await settle(clock, 50);
    const pushesBefore = sites.map((one) => one.sync.stats().pushesReceived);
    // b, c and d each answer a's write with a status for a: pushed to a alone.
    await Promise.all([b, c, d].map((member) => member.store.change(doc('res/1'), (draft: Record<string, unknown>) => {
      draft[`status:${member.name}`] = 'applied';
    }, { audience: [a.peerId] })));
    await settle(clock, 50);
    const pushes = sites.map((one, index) => one.sync.stats().pushesReceived - (pushesBefore[index] ?? 0));
    expect(pushes).toEqual([3, 0, 0, 0]);
    expect(await a.store.read(doc('res/1'))).toEqual({ desired: 1, 'status:b': 'applied', 'status:c': 'applied', 'status:d': 'applied' });
    expect(await c.store.read(doc('res/1'))).toEqual({ desired: 1, 'status:c': 'applied' });
    // a's digest follows, carrying to each member the others' statuses: one push, no sync session.
    const before = sites.map((one) => one.sync.stats());
    await settle(clock, 2_000);
    for (const member of [b, c, d]) expect(member.store.heads(doc('res/1'))).toEqual(a.store.heads(doc('res/1')));
    const after = sites.map((one) => one.sync.stats());
    expect(after.map((stats, index) => stats.pushesReceived - before[index]!.pushesReceived)).toEqual([0, 1, 1, 1]);
    expect(after.map((stats, index) => stats.syncMessagesSent - before[index]!.syncMessagesSent)).toEqual([0, 0, 0, 0]);
    // Passed on once: what b, c and d received from a is not passed on again.
    await settle(clock, 2_000);
    expect(sites.map((one) => one.sync.stats().pushesReceived - before[sites.indexOf(one)]!.pushesReceived)).toEqual([0, 1, 1, 1]);
    // Without an audience (or with none of it connected) a change goes to every peer, as before.
    await a.transport.hangUp(b.peerId);
    await settle(clock, 50);
    await c.store.change(doc('res/1'), (draft: Record<string, unknown>) => {
      draft['label'] = 'x';
    }, { audience: [asPeerIdString('12D3KooWNotConnected')] });
    await settle(clock, 50);
    for (const member of [a, b, d]) expect(await member.store.read(doc('res/1'))).toMatchObject({ label: 'x' });
  });

  it('sends a write and its statuses to every member from the writer alone: the members send each other nothing', async () => {
    const { clock, sites } = await scopeOfFour(everyPairOfFour);
    const [a, b, c, d] = [site(sites, 0), site(sites, 1), site(sites, 2), site(sites, 3)];
    await settle(clock, 50);
    const betweenMembers = countMessagesAmong([b, c, d]);
    await a.store.create(doc('res/1'), { desired: 1 });
    await settle(clock, 50);
    await statusesFor(a, [b, c, d]);
    await settle(clock, 3_000);
    for (const member of [b, c, d]) expect(member.store.heads(doc('res/1'))).toEqual(a.store.heads(doc('res/1')));
    expect(await d.store.read(doc('res/1'))).toEqual({ desired: 1, 'status:b': 'applied', 'status:c': 'applied', 'status:d': 'applied' });
    // Not even a digest: each member ends with what a sent to all of them, and a digests them itself.
    expect(betweenMembers.count).toBe(0);
  });

  it('leaves its own status to the writer that passes it on, though the writer\'s relay went out before it had it', async () => {
    const slowFromD = { canConnect: () => true, decide: (from: string, to: string) => ({ type: 'deliver' as const, delayMs: from === sitePeerId('d') && to === sitePeerId('a') ? 1_500 : 1 }) };
    const { clock, sites } = await scopeOfFour(everyPairOfFour, { linkPolicy: slowFromD });
    const [a, b, c, d] = [site(sites, 0), site(sites, 1), site(sites, 2), site(sites, 3)];
    await settle(clock, 2_000);
    const betweenMembers = countMessagesAmong([b, c, d]);
    await a.store.create(doc('res/1'), { desired: 1 });
    await settle(clock, 50);
    // d's status reaches a after a passed on b's and c's (its digest, 1 s after the write).
    await statusesFor(a, [b, c, d]);
    await settle(clock, 1_200);
    expect(await d.store.read(doc('res/1'))).toEqual({ desired: 1, 'status:b': 'applied', 'status:c': 'applied', 'status:d': 'applied' });
    expect(await b.store.read(doc('res/1'))).not.toHaveProperty('status:d');
    await settle(clock, 3_000);
    for (const member of [b, c, d]) expect(member.store.heads(doc('res/1'))).toEqual(a.store.heads(doc('res/1')));
    expect(betweenMembers.count).toBe(0);
  });

  it('has the members announce a write to a member its writer cannot reach, which then gets it and every status', async () => {
    // a and d are not connected.
    const { clock, sites } = await scopeOfFour([[0, 1], [0, 2], [1, 2], [1, 3], [2, 3]]);
    const [a, b, c, d] = [site(sites, 0), site(sites, 1), site(sites, 2), site(sites, 3)];
    await settle(clock, 50);
    await a.store.create(doc('res/1'), { desired: 1 });
    await settle(clock, 2_000);
    expect(await d.store.read(doc('res/1'))).toEqual({ desired: 1 });
    await statusesFor(a, [b, c, d]);
    await settle(clock, 3_000);
    for (const member of [a, b, c]) expect(member.store.heads(doc('res/1'))).toEqual(d.store.heads(doc('res/1')));
    expect(await d.store.read(doc('res/1'))).toEqual({ desired: 1, 'status:b': 'applied', 'status:c': 'applied', 'status:d': 'applied' });
  });

  it('starts no sync on heads showing the peer behind, by concurrent changes or older ones: the side that lacks pulls', async () => {
    const { clock, sites } = await setup(['a', 'b']);
    const [a, b] = [site(sites, 0), site(sites, 1)];
    await connect(a, b);
    await settle(clock, 50);
    await a.store.create(doc('res/1'), { v: 1 });
    await settle(clock, 2_000);
    const first = b.store.heads(doc('res/1')) ?? [];
    // Concurrent changes: a's heads are both, b's own change is one of them.
    await Promise.all([a, b].map((one) => one.store.change(doc('res/1'), (d: Record<string, unknown>) => {
      d[one.name] = 1;
    })));
    const own = b.store.heads(doc('res/1')) ?? [];
    await settle(clock, 2_000);
    expect(a.store.heads(doc('res/1'))).toHaveLength(2);
    // Digests, and an anti-entropy summary, b sent before a's changes reached it (late, as under load): a is past them.
    for (const heads of [own, first]) {
      await b.transport.send(a.peerId, syncChannel, encodeSyncChannelMessage({ type: 'heads', v: 1, docs: [{ doc: doc('res/1'), heads }] }));
    }
    await b.transport.send(a.peerId, syncChannel, encodeSyncChannelMessage({ type: 'heads', v: 1, docs: [{ doc: doc('res/1'), heads: first }], end: true }));
    await settle(clock, 2_000);
    expect(a.sync.stats().syncMessagesSent + b.sync.stats().syncMessagesSent).toBe(0);
    expect(await b.store.read(doc('res/1'))).toEqual({ v: 1, a: 1, b: 1 });
  });

  it('repairs, by its periodic digest, a change whose push and digest were lost, and leaves documents in flux out of it', async () => {
    let cut = false;
    const { clock, sites } = await setup(['a', 'b'], {
      options: { antiEntropyIntervalMs: 10_000 },
      linkPolicy: { canConnect: () => true, decide: (from) => (cut && from === sitePeerId('a') ? { type: 'drop' } : { type: 'deliver', delayMs: 1 }) },
    });
    const [a, b] = [site(sites, 0), site(sites, 1)];
    await connect(a, b);
    await a.store.create(doc('res/1'), { v: 1 });
    await a.store.create(doc('res/2'), { v: 1 });
    await settle(clock, 2_000);
    const received = watchReceived(b.transport);
    cut = true;
    await setV(a, 'res/1', 2);
    await settle(clock, 2_000);
    cut = false;
    expect(await b.store.read(doc('res/1'))).toEqual({ v: 1 });
    // res/2 changes a second before the round: it is being pushed and digested, and stays out.
    await settle(clock, 5_000);
    await setV(a, 'res/2', 2);
    const before = received.payloads.length;
    await settle(clock, 2_000);
    const round = syncMessages({ ...received, payloads: received.payloads.slice(before) }).flatMap((message) => (message.type === 'heads' ? message.docs.map((entry) => entry.doc) : []));
    expect(round).toContain('res/1');
    expect(await b.store.read(doc('res/1'))).toEqual({ v: 2 });
    expect(await b.store.read(doc('res/2'))).toEqual({ v: 2 });
    expect(round.filter((id) => id === 'res/2')).toHaveLength(1); // the digest after its push, not the round
  });

  it('recovers a lost push through the heads digest', async () => {
    let dropGossip = false;
    const { clock, sites } = await setup(['a', 'b'], {
      linkPolicy: {
        canConnect: () => true,
        decide: (_from, _to, bytes) => (dropGossip && bytes < 2_000 ? { type: 'drop' } : { type: 'deliver', delayMs: 1 }),
      },
    });
    const [a, b] = [site(sites, 0), site(sites, 1)];
    await connect(a, b);
    // Too big to push: the sync protocol carries it, so both sides hold sync states that agree.
    await a.store.create(doc('res/1'), { v: 1, body: new Uint8Array(20_000).fill(3) });
    await settle(clock, 100);
    expect(a.sync.stats().syncMessagesSent).toBeGreaterThan(0);
    dropGossip = true;
    await setV(a, 'res/1', 2);
    await settle(clock, 100);
    dropGossip = false;
    expect(await b.store.read(doc('res/1'))).toMatchObject({ v: 1 });
    await settle(clock, 1_500);
    expect(await b.store.read(doc('res/1'))).toMatchObject({ v: 2 });
  });

  it('forgets sync states of a peer that disconnects', async () => {
    const counter: Counter = { count: 0 };
    const { clock, sites } = await setup(['a', 'b'], { options: { pushMaxBytes: 0 } });
    const [a, b] = [site(sites, 0), site(sites, 1)];
    b.transport.on('peer:disconnect', () => {
      counter.count += 1;
    });
    await connect(a, b);
    await a.store.create(doc('res/1'), { v: 1 });
    await settle(clock);
    expect(await b.store.read(doc('res/1'))).toEqual({ v: 1 });
    await a.transport.hangUp(b.peerId);
    expect(counter.count).toBe(1);
    await setV(a, 'res/1', 2);
    await connect(a, b);
    await settle(clock);
    expect(await b.store.read(doc('res/1'))).toEqual({ v: 2 });
  });
});
