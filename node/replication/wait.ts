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
  if (allSettled(start, target.revision, target.generation)) return start;
  const docId: DocumentId = start.docId;
  // Aborted on the way out, so the deadline's timer never outlives the wait.
  const finished = new AbortController();
  const onClientGone = (): void => finished.abort(signal.reason);
  if (signal.aborted) finished.abort(signal.reason);
  else signal.addEventListener('abort', onClientGone, { once: true });
  const deadline = deadlineSignal(deps.clock, timeoutMs, finished.signal);
  let latest = start;
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
      if (allSettled(latest, target.revision, target.generation)) return latest;
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
