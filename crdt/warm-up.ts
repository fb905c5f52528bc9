/**
 * Runs the document store's hot paths once on throwaway documents, so that Automerge's code is
 * compiled before the site takes real work.
 *
 * Automerge is ~3.6 MB of WebAssembly, and the site process has V8 compile each of its functions
 * with the optimising compiler at its first call (core/runtime-flags.ts). Without this warm-up
 * that compilation fell on the first requests and the first heal: traced at heal K = 100, the
 * first whole document a site took in took ~85 ms, the next ones 0.3–1 ms each. Walking every
 * path once at start-up (a create, a whole document taken in, pushes both ways, concurrent
 * writes merged by sync rounds, a reload from storage, reads) moves that cost, 2–3 s of one
 * core, to before the site listens.
 *
 * Nothing here touches the site's own store: two stores on fresh memory storages play two
 * sites, and are closed after.
 */
import { initSyncState } from '@automerge/automerge';
import type { Clock } from '../core/clock.js';
import { asSiteName, type DocumentId, type SiteName } from '../core/ids.js';
import { silentLogger } from '../core/logger.js';
import type { Random } from '../core/random.js';
import { sameHeads } from './document-layout.js';
import { DocumentStore } from './document-store.js';
import { MemoryStorage, MemoryStorageData } from './memory-storage.js';
import { decodeReplicant } from './replicant-decode.js';
import { initReplicant, writeDesired, writeReplica, type ReplicantDraft } from './replicant-write.js';
import { CollaborationKind, ReplicaStatus, replicantDocPrefix } from './replicant.js';

export interface WarmUpComponents {
  readonly clock: Clock;
  readonly random: Random;
}

export interface WarmUpReport {
  readonly documents: number;
  readonly syncMessages: number;
  readonly ms: number;
}

/** A pod-sized body: the compiled paths depend on the shapes they see, not on the values. */
const body = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'warm-up', namespace: 'default', labels: { app: 'warm-up' } },
  spec: { containers: [{ name: 'main', image: 'registry.example/warm-up:1', ports: [{ containerPort: 8080 }] }] },
};

const maxSyncRounds = 8;
const hereSite = asSiteName('Here');
const thereSite = asSiteName('There');

/** Runs the paths `rounds` times (a path is compiled at its first run; later rounds reach the rest). */
export async function warmUpDocuments(components: WarmUpComponents, rounds = 2): Promise<WarmUpReport> {
  const started = performance.now();
  // Silent: the throwaway stores' own lines ("document store open") would read as the site's.
  // A failure throws, and the caller logs it.
  const logger = silentLogger;
  const data = [new MemoryStorageData(), new MemoryStorageData()] as const;
  const openStores = async (): Promise<[DocumentStore, DocumentStore]> => {
    const opened = data.map((shared) => new DocumentStore({ storage: new MemoryStorage(shared), clock: components.clock, random: components.random, logger }));
    await Promise.all(opened.map((store) => store.open()));
    return opened as [DocumentStore, DocumentStore];
  };
  let stores = await openStores();
  let documents = 0;
  let syncMessages = 0;
  try {
    for (let round = 0; round < rounds; round += 1) {
      const [here, there] = stores;
      const docId = `${replicantDocPrefix}warm-up-${round}` as DocumentId;
      documents += 1;
      // A create, as the write path makes it.
      await here.change<ReplicantDraft>(
        docId,
        (draft) => {
          initReplicant(draft, {
            key: { app: 'kubernetes', service: 'core', namespace: 'default', name: `warm-up-${round}` },
            collaboration: CollaborationKind.Replication,
            scope: '{pods: Here & There}',
            sites: [hereSite, thereSite],
            origin: hereSite,
            incarnation: 0,
            createdAt: components.clock.now(),
          });
          writeDesired(draft, { site: hereSite, at: components.clock.now(), body, nonce: components.random.bytes(4) });
        },
        { create: true },
      );
      // Taken in whole (a heal), then each side's replica entry pushed to the other.
      const whole = await here.storedChanges(docId);
      if (whole !== undefined) await (await there.acceptChanges(docId, whole.changes)).written;
      await pushReplica(there, here, docId, thereSite, components.clock);
      await pushReplica(here, there, docId, hereSite, components.clock);
      // A concurrent write on each side, merged by sync rounds.
      await Promise.all([
        here.change<ReplicantDraft>(docId, (draft) => writeDesired(draft, { site: hereSite, at: components.clock.now(), body, nonce: components.random.bytes(4) })),
        there.change<ReplicantDraft>(docId, (draft) => writeDesired(draft, { site: thereSite, at: components.clock.now(), body, nonce: components.random.bytes(4) })),
      ]);
      syncMessages += await syncUntilEqual(here, there, docId);
      // A path that stopped doing its work would leave the stores apart: say so rather than warm nothing.
      if (!sameHeads(here.heads(docId) ?? [], there.heads(docId) ?? [])) throw new Error(`warm-up: ${docId} did not converge`);
      for (const store of stores) decodeReplicant(docId, await store.read(docId));
      // Loaded again from storage: a snapshot and its incremental chunks.
      await Promise.all(stores.map((store) => store.close()));
      stores = await openStores();
      for (const store of stores) decodeReplicant(docId, await store.read(docId));
    }
  } finally {
    await Promise.all(stores.map((store) => store.close()));
  }
  return { documents, syncMessages, ms: performance.now() - started };
}

/** A replica entry written on `from` and pushed to `to`, as document sync pushes a small change. */
async function pushReplica(from: DocumentStore, to: DocumentStore, docId: DocumentId, site: SiteName, clock: Clock): Promise<void> {
  const pushed: Uint8Array[] = [];
  const stopListening = from.onChange((event) => {
    if (event.docId === docId && event.origin === 'local') pushed.push(...event.changes);
  });
  try {
    await from.change<ReplicantDraft>(docId, (draft) => writeReplica(draft, site, { localId: 'uid', observedGeneration: 1, status: ReplicaStatus.Applied, updatedAt: clock.now() }));
  } finally {
    stopListening();
  }
  await (await to.acceptChanges(docId, pushed)).written;
  await to.lacks(docId, from.heads(docId) ?? []);
}

/** Runs the sync protocol between two stores until neither has anything to say; returns the messages sent. */
async function syncUntilEqual(a: DocumentStore, b: DocumentStore, docId: DocumentId): Promise<number> {
  const states = [initSyncState(), initSyncState()];
  let sent = 0;
  for (let round = 0; round < maxSyncRounds; round += 1) {
    let quiet = true;
    for (const [from, to, index] of [[a, b, 0], [b, a, 1]] as const) {
      const [state, message] = await from.generateSyncMessage(docId, states[index]!);
      states[index] = state;
      if (message === null) continue;
      quiet = false;
      sent += 1;
      const applied = await to.acceptSyncMessage(docId, states[1 - index]!, message);
      states[1 - index] = applied.result;
      await applied.written;
    }
    if (quiet) break;
  }
  return sent;
}
