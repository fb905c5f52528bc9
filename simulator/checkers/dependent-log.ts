/**
 * Which dependents (DESIGN.md §8) each site's copy of a shared secret's replicant recorded, and
 * since when, watched live: every change a node stores, as the scope monitor hears it (a node
 * hears of a change only once it is durable, so a crash never takes back what is logged here).
 * The sharing checker asks it what the owner knew when it acknowledged a delete of the secret.
 */
import * as Automerge from '@automerge/automerge';
import type { ResourceKey, SiteName } from '../../core/ids.js';
import type { DocumentChangedEvent } from '../../crdt/documents.js';
import { decodeReplicant } from '../../crdt/replicant-decode.js';
import { keyText, metaIdOfDocId } from '../../crdt/replicant.js';
import type { KeySpace } from '../workload/key-space.js';

/** `Site1 kubernetes/pods/default/pod-s0-1`: one dependent as the log keeps it. */
export function dependentText(site: string, key: ResourceKey): string {
  return `${site} ${keyText(key)}`;
}

interface Held {
  readonly sinceMs: number;
  readonly dependents: ReadonlySet<string>;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((item) => b.has(item));
}

/** The dependents recorded in each site's copy of each shared secret's replicants, over time. */
export class DependentLog {
  private readonly copies = new Map<string, Automerge.Doc<unknown>>();
  private readonly held = new Map<string, Held[]>();

  constructor(private readonly keys: KeySpace) {}

  record(site: SiteName, event: DocumentChangedEvent, atMs: number): void {
    const metaId = metaIdOfDocId(event.docId);
    if (metaId === undefined || this.keys.byMetaId(metaId)?.key.kind !== 'shared') return;
    const copyKey = `${site} ${event.docId}`;
    const [copy] = Automerge.applyChanges(this.copies.get(copyKey) ?? Automerge.init<unknown>(), [...event.changes]);
    this.copies.set(copyKey, copy);
    const decoded = decodeReplicant(event.docId, Automerge.toJS(copy));
    const dependents = new Set(decoded.ok ? decoded.replicant.dependents.map((entry) => dependentText(entry.site, entry.key)) : []);
    const history = this.held.get(copyKey) ?? [];
    const last = history[history.length - 1];
    if (last === undefined || !sameSet(last.dependents, dependents)) history.push({ sinceMs: atMs, dependents });
    this.held.set(copyKey, history);
  }

  /** The dependents `site`'s copy of `docId` recorded at `atMs` (none before it held the document). */
  heldAt(site: SiteName, docId: string, atMs: number): ReadonlySet<string> {
    const history = this.held.get(`${site} ${docId}`) ?? [];
    let found: ReadonlySet<string> = new Set();
    for (const entry of history) {
      if (entry.sinceMs > atMs) break;
      found = entry.dependents;
    }
    return found;
  }
}
