/**
 * `X-Cheops-Wait: all`: waits until every replica has applied or failed a revision, the deadline
 * passes, or the client leaves; resolves with the replicant as it then is. It never rejects on the
 * deadline: the answer then shows who is still pending.
 */
import { deadlineSignal, type Clock } from '../../core/index.js';
import type { DocumentId, SiteName } from '../../core/ids.js';
import type { DocumentStore } from '../../crdt/document-store.js';
import { replicaSettled, type Replicant } from '../../crdt/replicant.js';
import type { Replicants } from './replicants.js';

/** What waiting needs. */
export interface WaitDeps {
  readonly documents: Pick<DocumentStore, 'onChange'>;
  readonly replicants: Replicants;
  readonly clock: Clock;
}

/** Whether every site of the replicant has settled `revision`. */
export function allSettled(replicant: Replicant, revision: string, generation: number): boolean {
  return replicant.meta.sites.every((site: SiteName) => replicaSettled(replicant, site, revision, generation));
}

/** Resolves with the replicant once every site settled `target`, or as it is when the deadline passes or the client leaves. */
export async function waitForAll(
  deps: WaitDeps,
  start: Replicant,
  target: { readonly revision: string; readonly generation: number },
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Replicant> {
  const settled = (replicant: Replicant): boolean => allSettled(replicant, target.revision, target.generation);
  if (settled(start)) return start;
  return (await waitForReplicant(deps, start.docId, settled, timeoutMs, signal)) ?? start;
}

/**
 * Reads `docId` at each change of it until `done` holds of the replicant; resolves with the last
 * one read (undefined if none could be), whether `done` held or the deadline passed or the client
 * left: the caller looks at what it got.
 */
export async function waitForReplicant(
  deps: WaitDeps,
  docId: DocumentId,
  done: (replicant: Replicant) => boolean,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Replicant | undefined> {
  // Aborted on the way out, so the deadline's timer never outlives the wait.
  const finished = new AbortController();
  const onClientGone = (): void => finished.abort(signal.reason);
  if (signal.aborted) finished.abort(signal.reason);
  else signal.addEventListener('abort', onClientGone, { once: true });
  const deadline = deadlineSignal(deps.clock, timeoutMs, finished.signal);
  let latest: Replicant | undefined;
  let wake: (() => void) | undefined;
  const unsubscribe = deps.documents.onChange((event) => {
    if (event.docId === docId) wake?.();
  });
  const onAbort = (): void => wake?.();
  deadline.addEventListener('abort', onAbort, { once: true });
  try {
    while (!deadline.aborted) {
      const changed = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const read = await deps.replicants.read(docId);
      if (read.kind === 'ok') latest = read.replicant;
      if (latest !== undefined && done(latest)) return latest;
      await changed;
    }
    return latest;
  } finally {
    unsubscribe();
    deadline.removeEventListener('abort', onAbort);
    signal.removeEventListener('abort', onClientGone);
    finished.abort();
  }
}
