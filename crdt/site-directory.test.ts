import { describe, expect, it } from 'vitest';
import { ErrorCode, isCheopsError } from '../core/errors.js';
import { asPeerIdString, asSiteName } from '../core/ids.js';
import { silentLogger } from '../core/logger.js';
import { DocumentStore } from './document-store.js';
import { MemoryStorage } from './memory-storage.js';
import { SiteDirectory, siteDirectoryId, type SiteRegistration } from './site-directory.js';
import { ManualClock, rejection, seededRandom, syncDocuments } from './test-helpers.js';

interface Site {
  readonly store: DocumentStore;
  readonly directory: SiteDirectory;
  readonly clock: ManualClock;
}

async function site(peer: string, seed: number, time = 1_000): Promise<Site> {
  const clock = new ManualClock(time);
  const store = new DocumentStore({ storage: new MemoryStorage(), clock, random: seededRandom(seed), logger: silentLogger });
  await store.open();
  const directory = new SiteDirectory({ documents: store, clock, logger: silentLogger }, { peerId: asPeerIdString(peer) });
  return { store, directory, clock };
}

const registration = (name: string, port = 4001): SiteRegistration => ({
  name,
  addresses: [`/ip4/127.0.0.1/tcp/${port}`],
  http: `http://127.0.0.1:${port + 1000}`,
  app: 'kubernetes',
});

describe('SiteDirectory', () => {
  it('registers this site and lists it', async () => {
    const { directory, store } = await site('peer-a', 1, 5_000);
    const entry = await directory.register(registration('Site1'));
    expect(entry).toEqual({ ...registration('Site1'), name: 'Site1', peerId: 'peer-a', registeredAt: 5_000 });
    expect(await directory.list()).toEqual([entry]);
    expect(await directory.lookup(asSiteName('Site1'))).toEqual(entry);
    expect(await directory.conflicts()).toEqual([]);
    expect(store.has(siteDirectoryId)).toBe(true);
  });

  it('keeps its claim time when it registers again under the same name, and updates its entry', async () => {
    const { directory, clock } = await site('peer-a', 1, 5_000);
    await directory.register(registration('Site1'));
    clock.advance(60_000);
    const again = await directory.register(registration('Site1', 5001));
    expect(again.registeredAt).toBe(5_000);
    expect(again.addresses).toEqual(['/ip4/127.0.0.1/tcp/5001']);
    const updated = await directory.update({ http: 'http://10.0.0.1:8080', addresses: ['/ip4/10.0.0.1/tcp/4001'] });
    expect(updated).toMatchObject({ name: 'Site1', http: 'http://10.0.0.1:8080', addresses: ['/ip4/10.0.0.1/tcp/4001'], app: 'kubernetes' });
    expect(await directory.list()).toEqual([updated]);
    const renamed = await directory.register(registration('Site9'));
    expect(renamed.registeredAt).toBe(65_000);
    expect((await directory.list()).map((entry) => entry.name)).toEqual(['Site9']);
  });

  it('refuses a name another peer id holds, and bad registrations', async () => {
    const a = await site('peer-a', 1);
    const b = await site('peer-b', 2);
    await a.directory.register(registration('Site1'));
    await syncDocuments(a.store, b.store, siteDirectoryId);
    const taken = await rejection(b.directory.register(registration('Site1')));
    expect(isCheopsError(taken, ErrorCode.SiteNameTaken)).toBe(true);
    expect(isCheopsError(taken) ? taken.details : {}).toMatchObject({ name: 'Site1', peerId: 'peer-a' });
    await b.directory.register(registration('Site2'));
    expect((await b.directory.list()).map((entry) => [entry.name, entry.peerId])).toEqual([
      ['Site1', 'peer-a'],
      ['Site2', 'peer-b'],
    ]);
    expect(isCheopsError(await rejection(b.directory.register(registration('2bad'))), ErrorCode.ConfigInvalid)).toBe(true);
    const fresh = await site('peer-c', 3);
    expect(isCheopsError(await rejection(fresh.directory.update({ http: 'x' })), ErrorCode.NotRunning)).toBe(true);
  });

  it('resolves concurrent claims of a name to the same winner on both sites after the merge', async () => {
    const a = await site('peer-a', 1, 2_000);
    const b = await site('peer-b', 2, 1_000);
    // A partition: both claim Site1 without seeing each other; peer-b claimed first.
    await a.directory.register(registration('Site1', 4001));
    await b.directory.register(registration('Site1', 4002));
    await syncDocuments(a.store, b.store, siteDirectoryId);
    const [viewA, viewB] = [await a.directory.view(), await b.directory.view()];
    expect(viewA).toEqual(viewB);
    expect(viewA.sites.map((entry) => [entry.name, entry.peerId])).toEqual([['Site1', 'peer-b']]);
    expect(viewA.conflicts.map((conflict) => conflict.losers.map((loser) => loser.peerId))).toEqual([['peer-a']]);
  });

  it('reports the losers of a name claimed on both sides, the same on both sites', async () => {
    const a = await site('peer-a', 1, 7_000);
    const b = await site('peer-b', 2, 7_000);
    await a.directory.register(registration('Site1', 4001));
    await b.directory.register(registration('Site1', 4002));
    await syncDocuments(a.store, b.store, siteDirectoryId);
    const [conflictsA, conflictsB] = [await a.directory.conflicts(), await b.directory.conflicts()];
    expect(conflictsA).toEqual(conflictsB);
    // Equal claim times: the smaller peer id wins.
    const summary = conflictsA.map((conflict) => [conflict.name, conflict.winner.peerId, conflict.losers.map((loser) => loser.peerId)]);
    expect(summary).toEqual([['Site1', 'peer-a', ['peer-b']]]);
    expect(await a.directory.list()).toEqual(await b.directory.list());
    // The loser cannot take the name by registering again; the winner can.
    expect(isCheopsError(await rejection(b.directory.register(registration('Site1'))), ErrorCode.SiteNameTaken)).toBe(true);
    await a.directory.register(registration('Site1', 4001));
  });

  it('ignores malformed entries written by a hostile peer', async () => {
    const { directory, store } = await site('peer-a', 1);
    await directory.register(registration('Site1'));
    await store.change<Record<string, unknown>>(siteDirectoryId, (doc) => {
      doc['peer-x'] = { name: 'Site2', peerId: 'peer-other', addresses: [], http: '', app: '', registeredAt: 1 };
      doc['peer-y'] = { name: '9 bad name', peerId: 'peer-y', addresses: [], http: '', app: '', registeredAt: 1 };
      doc['peer-z'] = { name: 'Site1', peerId: 'peer-z', addresses: [1, 2], http: '', app: '', registeredAt: 0 };
      doc['peer-w'] = { name: 'Site1', peerId: 'peer-w', addresses: [], http: '', app: '', registeredAt: 'early' };
      doc['peer-v'] = 'not an entry';
      doc['peer-u'] = ['a', 'list'];
      // Strings written as collaborative text are still read.
      doc['peer-t'] = { name: 'Site3', peerId: 'peer-t', addresses: ['/ip4/1.2.3.4/tcp/1'], http: 'h', app: 'a', registeredAt: 3 };
    });
    const view = await directory.view();
    expect(view.sites.map((entry) => [entry.name, entry.peerId])).toEqual([
      ['Site1', 'peer-a'],
      ['Site3', 'peer-t'],
    ]);
    expect(view.ignored).toEqual(['peer-u', 'peer-v', 'peer-w', 'peer-x', 'peer-y', 'peer-z']);
    expect(view.conflicts).toEqual([]);
  });

  it('lists nothing before any site registered', async () => {
    const { directory } = await site('peer-a', 1);
    expect(await directory.list()).toEqual([]);
  });
});
