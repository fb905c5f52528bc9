import * as Automerge from '@automerge/automerge';
import { describe, expect, it } from 'vitest';
import { asDocumentId, asSiteName, type ResourceKey } from '../core/ids.js';
import { MemoryStorage } from './memory-storage.js';
import { decodeReplicant } from './replicant-decode.js';
import { dropDependent, initReplicant, markDeleted, recordConflicts, unrecordedConflicts, writeDependent, writeDesired, writeReplica, type ReplicantDraft } from './replicant-write.js';
import {
  isMetaId,
  lostToDelete,
  metaIdOf,
  metaIdOfDocId,
  parseRevision,
  replicaCurrent,
  replicantDocId,
  type Replicant,
  type ReplicantMeta,
} from './replicant.js';
import { openStore, syncDocuments } from './test-helpers.js';
import type { DocumentStore } from './document-store.js';

const site1 = asSiteName('Site1');
const site2 = asSiteName('Site2');
const key: ResourceKey = { app: 'kubernetes', service: 'pods', namespace: 'default', name: 'purple' };
const metaId = metaIdOf(key, 0);
const docId = replicantDocId(metaId);
const meta: ReplicantMeta = {
  key, collaboration: 'replication', scope: '{Site1 & Site2}', sites: [site1, site2], origin: site1, incarnation: 0, createdAt: 1,
};
const pod = (labels: Record<string, string>): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'purple', labels } });
const nonce = (byte: number): Uint8Array => Uint8Array.of(byte, byte, byte, byte);

async function read(store: DocumentStore): Promise<Replicant> {
  const decoded = decodeReplicant(docId, await store.read(docId));
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.replicant;
}

async function twoSites(): Promise<[DocumentStore, DocumentStore]> {
  const a = await openStore(new MemoryStorage(), 1);
  const b = await openStore(new MemoryStorage(), 2);
  await a.change<ReplicantDraft>(docId, (draft) => {
    initReplicant(draft, meta);
    writeDesired(draft, { site: site1, at: 10, body: pod({ run: 'purple' }), nonce: nonce(1) });
    writeReplica(draft, site1, { status: 'applied', observedRevision: '1-Site1-01010101', observedGeneration: 1, localId: 'uid-1', updatedAt: 10 });
  }, { create: true });
  await syncDocuments(a, b, docId);
  return [a, b];
}

describe('replicant ids', () => {
  it('derives the same meta-ID for the same key and incarnation everywhere, and a new one per incarnation', () => {
    expect(isMetaId(metaId)).toBe(true);
    expect(metaIdOf({ ...key }, 0)).toBe(metaId);
    expect(metaIdOf(key, 1)).not.toBe(metaId);
    expect(metaIdOf({ ...key, namespace: 'other' }, 0)).not.toBe(metaId);
    expect(metaIdOfDocId(docId)).toBe(metaId);
    expect(metaIdOfDocId(asDocumentId('sites'))).toBeUndefined();
    expect(parseRevision('12-Site-2-0a0b0c0d')).toEqual({ generation: 12, site: 'Site-2', nonce: '0a0b0c0d' });
    expect(parseRevision('x-Site1-0a0b0c0d')).toBeUndefined();
  });
});

describe('replicant writes', () => {
  it('creates a replicant in one change and decodes it', async () => {
    const [a] = await twoSites();
    const replicant = await read(a);
    expect(replicant).toMatchObject({
      metaId, meta, deleted: false, conflicts: [],
      desired: { revision: '1-Site1-01010101', generation: 1, site: 'Site1', at: 10, body: pod({ run: 'purple' }) },
      replicas: { Site1: { status: 'applied', localId: 'uid-1', observedGeneration: 1 } },
    });
    expect(replicaCurrent(replicant, site1)).toBe(true);
    expect(replicaCurrent(replicant, site2)).toBe(false);
  });

  it('resolves concurrent writes to one winner on both sides and records the loser on both', async () => {
    const [a, b] = await twoSites();
    await a.change<ReplicantDraft>(docId, (draft) => void writeDesired(draft, { site: site1, at: 20, body: pod({ color: 'red' }), nonce: nonce(2) }));
    await b.change<ReplicantDraft>(docId, (draft) => void writeDesired(draft, { site: site2, at: 21, body: pod({ color: 'blue' }), nonce: nonce(3) }));
    await syncDocuments(a, b, docId);
    const [onA, onB] = [await read(a), await read(b)];
    expect(onA.desired).toEqual(onB.desired);
    expect(onA.desired.generation).toBe(2);
    // Seen in the stored document without a change, as the reconciler looks before writing.
    const found = unrecordedConflicts((await a.read<ReplicantDraft>(docId)) ?? {});
    const written = [await recordOn(a), await recordOn(b)];
    expect(found).toEqual(written[0]);
    expect(written[0]).toEqual(written[1]);
    expect(written[0]).toHaveLength(1);
    const loser = written[0]?.[0];
    expect(loser?.lostTo).toBe(onA.desired.revision);
    expect(loser?.revision).not.toBe(onA.desired.revision);
    await syncDocuments(a, b, docId);
    expect((await read(a)).conflicts).toEqual((await read(b)).conflicts);
    // Recording again writes nothing: the losing revision is the key.
    expect(unrecordedConflicts((await a.read<ReplicantDraft>(docId)) ?? {})).toEqual([]);
    expect(await recordOn(a)).toEqual([]);
    // The next write follows every concurrent value, and settles the conflict.
    await a.change<ReplicantDraft>(docId, (draft) => {
      expect(writeDesired(draft, { site: site1, at: 30, body: pod({ color: 'green' }), nonce: nonce(4) }).generation).toBe(3);
    });
    await syncDocuments(a, b, docId);
    expect((await read(b)).desired.body).toEqual(pod({ color: 'green' }));
  });

  it('lets a delete win over a concurrent update, for good', async () => {
    const [a, b] = await twoSites();
    await a.change<ReplicantDraft>(docId, (draft) => void markDeleted(draft, { site: site1, at: 20 }));
    await b.change<ReplicantDraft>(docId, (draft) => void writeDesired(draft, { site: site2, at: 21, body: pod({ color: 'blue' }), nonce: nonce(5) }));
    await syncDocuments(a, b, docId);
    for (const store of [a, b]) {
      const replicant = await read(store);
      expect(replicant.deleted).toBe(true);
      expect(replicant.deletedBy).toEqual({ site: 'Site1', at: 20, revision: '1-Site1-01010101' });
    }
    expect(unrecordedConflicts((await b.read<ReplicantDraft>(docId)) ?? {})).toEqual([expect.objectContaining({ site: 'Site2', lostTo: lostToDelete })]);
    const written = await recordOn(b);
    expect(written).toEqual([expect.objectContaining({ site: 'Site2', lostTo: lostToDelete })]);
    // A second delete keeps the first tombstone.
    await b.change<ReplicantDraft>(docId, (draft) => {
      expect(markDeleted(draft, { site: site2, at: 40 })).toEqual({ site: 'Site1', at: 20, revision: '1-Site1-01010101' });
    });
  });

  it('keeps the first meta when two sites create the same meta-ID concurrently, and every replica entry', async () => {
    const a = await openStore(new MemoryStorage(), 1);
    const b = await openStore(new MemoryStorage(), 2);
    for (const [store, site] of [[a, site1], [b, site2]] as const) {
      await store.change<ReplicantDraft>(docId, (draft) => {
        initReplicant(draft, { ...meta, origin: site });
        writeDesired(draft, { site, at: 10, body: pod({ by: site }), nonce: nonce(site === site1 ? 6 : 7) });
        writeReplica(draft, site, { status: 'applied', observedGeneration: 1, updatedAt: 10 });
      }, { create: true });
    }
    await syncDocuments(a, b, docId);
    const [onA, onB] = [await read(a), await read(b)];
    expect(onA.meta).toEqual(onB.meta);
    expect(onA.desired).toEqual(onB.desired);
    expect(Object.keys(onA.replicas).sort()).toEqual(['Site1', 'Site2']);
  });
});

describe('hostile replicant content', () => {
  const decode = (content: unknown): ReturnType<typeof decodeReplicant> => decodeReplicant(docId, content);
  const valid = (): Record<string, unknown> => {
    const doc = Automerge.change(Automerge.init<ReplicantDraft>(), (draft) => {
      initReplicant(draft, meta);
      writeDesired(draft, { site: site1, at: 10, body: pod({}), nonce: nonce(1) });
    });
    return Automerge.toJS(doc);
  };

  it('refuses documents without a usable meta or desired state', () => {
    expect(decode(valid()).ok).toBe(true);
    const cases: Array<[string, unknown]> = [
      ['not a map', 'garbage'],
      ['wrong version', { ...valid(), v: 2 }],
      ['meta not JSON', { ...valid(), meta: new Automerge.ImmutableString('{') }],
      ['meta sites empty', { ...valid(), meta: new Automerge.ImmutableString(JSON.stringify({ ...meta, sites: [] })) }],
      ['meta site invalid', { ...valid(), meta: new Automerge.ImmutableString(JSON.stringify({ ...meta, sites: ['../x'] })) }],
      ['meta key missing', { ...valid(), meta: new Automerge.ImmutableString(JSON.stringify({ ...meta, key: 3 })) }],
      ['desired missing', { ...valid(), desired: undefined }],
      ['desired body not an object', { ...valid(), desired: new Automerge.ImmutableString('{"revision":"1-Site1-00000000","generation":1,"site":"Site1","at":1,"body":[1]}') }],
      ['revision and generation disagree', { ...valid(), desired: new Automerge.ImmutableString('{"revision":"2-Site1-00000000","generation":1,"site":"Site1","at":1,"body":{}}') }],
      ['deleted not boolean', { ...valid(), deleted: 'yes' }],
      ['a proto key', JSON.parse('{"__proto__": {"v": 1}}')],
    ];
    for (const [name, content] of cases) expect(decode(content).ok, name).toBe(false);
    expect(decodeReplicant(asDocumentId('res/NOT-A-META-ID'), valid()).ok).toBe(false);
  });

  it('ignores malformed replica, conflict and dependent entries one by one', () => {
    const content = {
      ...valid(),
      'replica:Site2': new Automerge.ImmutableString('{"status":"exploded","observedGeneration":1,"updatedAt":1}'),
      'replica:../../etc': new Automerge.ImmutableString('{"status":"applied","observedGeneration":1,"updatedAt":1}'),
      'replica:Site3': new Automerge.ImmutableString('{"status":"applied","observedGeneration":1,"updatedAt":1,"error":"x"}'),
      'conflict:1-Site2-00000000': new Automerge.ImmutableString('{"revision":"1-Site9-00000000"}'),
      // A dependent: written by the site it names, the key whole.
      'dependent:Site3:kubernetes/pods/default/user': new Automerge.ImmutableString(
        '{"site":"Site3","key":{"app":"kubernetes","service":"pods","namespace":"default","name":"user"},"kind":"reliance","via":"spec.containers[0].env[0]"}',
      ),
      'dependent:Site2:kubernetes/pods/default/spoof': new Automerge.ImmutableString('{"site":"Site3","key":{"app":"kubernetes","service":"pods","name":"spoof"},"kind":"reliance","via":"x"}'),
      'dependent:Site2:kubernetes/pods/default/broken': new Automerge.ImmutableString('{"site":"Site2","key":{"app":"kubernetes"},"kind":"reliance","via":"x"}'),
    };
    const decoded = decode(content);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(Object.keys(decoded.replicant.replicas)).toEqual(['Site3']);
    expect(decoded.replicant.conflicts).toEqual([]);
    expect(decoded.replicant.dependents).toEqual([
      { site: 'Site3', key: { app: 'kubernetes', service: 'pods', namespace: 'default', name: 'user' }, kind: 'reliance', via: 'spec.containers[0].env[0]' },
    ]);
    expect([...decoded.ignored].sort()).toEqual([
      'conflict:1-Site2-00000000', 'dependent:Site2:kubernetes/pods/default/broken', 'dependent:Site2:kubernetes/pods/default/spoof', 'replica:../../etc', 'replica:Site2',
    ]);
  });

  it('decodes the claims on names in a cross container, winner first, and ignores spoofed ones', () => {
    const twin = { app: 'kubernetes', service: 'pods', namespace: 'spread', name: 'twin' };
    const claim = (site: string, at: number, key: object = twin): InstanceType<typeof Automerge.ImmutableString> =>
      new Automerge.ImmutableString(JSON.stringify({ site, key, at }));
    const decoded = decode({
      ...valid(),
      'claim:Site2:kubernetes:pods/spread/twin': claim('Site2', 1_000),
      'claim:Site3:kubernetes:pods/spread/twin': claim('Site3', 1_000),
      'claim:Site1:kubernetes:pods/spread/twin': claim('Site1', 2_000),
      // Written for another site, or under another key than it names: ignored.
      'claim:Site2:kubernetes:pods/spread/other': claim('Site1', 500, { ...twin, name: 'other' }),
      'claim:Site2:kubernetes:pods/spread/third': claim('Site2', 500, { ...twin, name: 'fourth' }),
    });
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    // The earliest first, then by site name: every site reads the same winner.
    expect(decoded.replicant.claims.map((entry) => `${entry.site}@${entry.at}`)).toEqual(['Site2@1000', 'Site3@1000', 'Site1@2000']);
    expect([...decoded.ignored].sort()).toEqual(['claim:Site2:kubernetes:pods/spread/other', 'claim:Site2:kubernetes:pods/spread/third']);
  });

  it('forgets a dependent only as it was seen: a record written again since (a new object of the name) stays', () => {
    const user = { app: 'kubernetes', service: 'pods', namespace: 'default', name: 'user' };
    const first = { site: site2, key: user, kind: 'reliance', via: 'spec.volumes[0].secret', at: 100 };
    let doc = Automerge.change(Automerge.init<ReplicantDraft>(), (draft) => {
      initReplicant(draft, meta);
      writeDesired(draft, { site: site1, at: 10, body: pod({}), nonce: nonce(1) });
      writeDependent(draft, first);
    });
    const decoded = (): ReturnType<typeof decodeReplicant> => decodeReplicant(docId, Automerge.toJS(doc));
    const dependents = (): unknown => {
      const result = decoded();
      return result.ok ? result.replicant.dependents : result.reason;
    };
    expect(dependents()).toEqual([first]);
    // Written again at 200; a delete that found the first one gone does not take the second.
    doc = Automerge.change(doc, (draft) => writeDependent(draft, { ...first, at: 200 }));
    doc = Automerge.change(doc, (draft) => void dropDependent(draft, first));
    expect(dependents()).toEqual([{ ...first, at: 200 }]);
    doc = Automerge.change(doc, (draft) => void dropDependent(draft, { ...first, at: 200 }));
    expect(dependents()).toEqual([]);
    // A malformed `at` is not a record.
    const bad = decodeReplicant(docId, { ...Automerge.toJS(doc), 'dependent:Site2:kubernetes/pods/default/user': new Automerge.ImmutableString(JSON.stringify({ ...first, at: 'soon' })) });
    expect(bad.ok && bad.ignored).toEqual(['dependent:Site2:kubernetes/pods/default/user']);
  });

  it('lists the sites of two creates made concurrently with different scopes: the union, the same on every site', () => {
    const site3 = asSiteName('Site3');
    const made = (actor: string, sites: ReplicantMeta['sites'], origin: ReplicantMeta['origin']): Automerge.Doc<ReplicantDraft> =>
      Automerge.change(Automerge.init<ReplicantDraft>({ actor }), (draft) => {
        initReplicant(draft, { ...meta, sites, scope: `{${sites.join(' & ')}}`, origin });
        writeDesired(draft, { site: origin, at: 10, body: pod({ made: origin }), nonce: nonce(origin === site1 ? 1 : 3) });
      });
    // Site1's meta is the one Automerge shows (the greater actor): the narrower.
    const one = made('bb', [site1, site2], site1);
    const three = made('aa', [site1, site2, site3], site3);
    const sitesOf = (doc: Automerge.Doc<ReplicantDraft>): unknown => {
      const decoded = decodeReplicant(docId, doc);
      return decoded.ok ? [decoded.replicant.meta.sites, decoded.replicant.meta.scope] : decoded.reason;
    };
    const union = [['Site1', 'Site2', 'Site3'], '{Site1 & Site2 & Site3}'];
    expect(sitesOf(Automerge.merge(Automerge.clone(one), three))).toEqual(union);
    expect(sitesOf(Automerge.merge(Automerge.clone(three), one))).toEqual(union);
    // Alone, or a plain copy of its values (which keeps one meta), a create lists its own scope.
    expect(sitesOf(one)).toEqual([['Site1', 'Site2'], '{Site1 & Site2}']);
    // A cross namespace's scope stays cross; a scope with bindings is kept as written.
    const scoped = (actor: string, sites: ReplicantMeta['sites'], scope: string): Automerge.Doc<ReplicantDraft> =>
      Automerge.change(Automerge.init<ReplicantDraft>({ actor }), (draft) => {
        initReplicant(draft, { ...meta, sites, scope, origin: site1 });
        writeDesired(draft, { site: site1, at: 10, body: pod({}), nonce: nonce(1) });
      });
    expect(sitesOf(Automerge.merge(scoped('bb', [site1, site2], '{Site1 % Site2}'), scoped('aa', [site1, site3], '{Site1 % Site3}'))))
      .toEqual([['Site1', 'Site2', 'Site3'], '{Site1 % Site2 % Site3}']);
    expect(sitesOf(Automerge.merge(scoped('bb', [site1, site2], '{pods: Site1 & Site2, secrets: Site1}'), scoped('aa', [site1, site3], '{Site1 & Site3}'))))
      .toEqual([['Site1', 'Site2', 'Site3'], '{pods: Site1 & Site2, secrets: Site1}']);
  });

  it('widens its sites by the sites that joined, the same list on every site, and ignores malformed joins', () => {
    const join = (site: string, by = 'Site1'): InstanceType<typeof Automerge.ImmutableString> => new Automerge.ImmutableString(JSON.stringify({ site, by, at: 5 }));
    const decoded = decode({
      ...valid(),
      'join:Site9': join('Site9'),
      'join:Site4': join('Site4', 'Site2'),
      // One of the scope's sites already: nothing changes.
      'join:Site2': join('Site2'),
      // Under another name than it says, or not a site: ignored.
      'join:Site5': join('Site6'),
      'join:../x': join('../x'),
    });
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.replicant.meta.sites).toEqual([...meta.sites, 'Site4', 'Site9']);
    expect(decoded.replicant.meta.scope).toBe(`{${[...meta.sites, 'Site4', 'Site9'].join(' & ')}}`);
    expect(decoded.replicant.joined.map((entry) => `${entry.site} by ${entry.by}`)).toEqual(['Site4 by Site2', 'Site9 by Site1']);
    expect([...decoded.ignored].sort()).toEqual(['join:../x', 'join:Site5']);
    // Without joins, the meta as it was written.
    const plain = decode(valid());
    expect(plain.ok && plain.replicant.meta).toEqual(meta);
  });
});

async function recordOn(store: DocumentStore): Promise<ReturnType<typeof recordConflicts>> {
  let written: ReturnType<typeof recordConflicts> = [];
  await store.change<ReplicantDraft>(docId, (draft) => {
    written = recordConflicts(draft);
  });
  return written;
}
