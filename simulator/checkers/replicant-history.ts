/**
 * The whole history of a replicant document, read from the sites' disks after a run: every value
 * ever written to `desired` (with the change that wrote it and the op marker of its body), every
 * change that tombstoned it, the causal graph of the changes, and the merged final state.
 *
 * The checkers need the history, not only the final state: a write that lost to a concurrent one
 * is no longer in the document's value, and whether it was lost *legitimately* (recorded as a
 * conflict loser, or overwritten by a later write that had seen it) is a question about the
 * graph. Read from what the disks hold (what each site persisted), merged across the sites given,
 * so that a change persisted anywhere counts.
 */
import * as Automerge from '@automerge/automerge';
import type { DocumentId, SiteName } from '../../core/ids.js';
import { loadStoredDocument, parseStoredDocument, documentPrefix } from '../../crdt/document-layout.js';
import { MemoryStorage } from '../../crdt/memory-storage.js';
import { decodeReplicant } from '../../crdt/replicant-decode.js';
import type { Replicant } from '../../crdt/replicant.js';
import { markerOf } from '../harness/app-log.js';
import type { SimSite } from '../harness/sim-site.js';

/** One value written to `desired`. */
export interface DesiredWrite {
  /** The change that wrote it. */
  readonly hash: string;
  readonly revision: string;
  readonly generation: number;
  readonly site: string;
  /** The op marker of the body: which workload operation this write carries. */
  readonly marker: string | undefined;
  readonly body: Readonly<Record<string, unknown>>;
}

/** A replicant's history, merged over the disks of some sites. */
export interface ReplicantHistory {
  readonly docId: DocumentId;
  /** Sites whose disk holds the document. */
  readonly holders: readonly SiteName[];
  /** The merged document, decoded; undefined when it does not decode (the reason then). */
  readonly replicant: Replicant | undefined;
  readonly invalid: string | undefined;
  readonly writes: readonly DesiredWrite[];
  /** Changes that set `deleted`. */
  readonly deletions: readonly string[];
  /** Whether the change `ancestor` is in the causal past of `descendant` (itself excluded). */
  precedes(ancestor: string, descendant: string): boolean;
}

interface DecodedOp {
  readonly action: string;
  readonly obj: string;
  readonly key?: string;
  readonly value?: unknown;
}

/** The document as stored on one site's disk, or undefined when it holds none. */
async function storedDoc(site: SimSite, docId: DocumentId): Promise<Automerge.Doc<unknown> | undefined> {
  const entries = await new MemoryStorage(site.nodeDisk.data).list(documentPrefix(docId));
  if (entries.length === 0) return undefined;
  return loadStoredDocument<unknown>(docId, parseStoredDocument(docId, entries), '00'.repeat(16));
}

function desiredOf(hash: string, value: unknown): DesiredWrite | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const parsed = JSON.parse(value) as { revision?: unknown; generation?: unknown; site?: unknown; body?: unknown };
    if (typeof parsed.revision !== 'string' || typeof parsed.generation !== 'number' || typeof parsed.site !== 'string') return undefined;
    const body = typeof parsed.body === 'object' && parsed.body !== null ? (parsed.body as Record<string, unknown>) : {};
    return { hash, revision: parsed.revision, generation: parsed.generation, site: parsed.site, marker: markerOf(body), body };
  } catch {
    return undefined;
  }
}

/** Loads and merges the document from the disks of `sites`; undefined when none holds it. */
export async function loadReplicantHistory(docId: DocumentId, sites: readonly SimSite[]): Promise<ReplicantHistory | undefined> {
  let merged: Automerge.Doc<unknown> | undefined;
  const holders: SiteName[] = [];
  for (const site of sites) {
    const doc = await storedDoc(site, docId);
    if (doc === undefined) continue;
    holders.push(site.name);
    merged = merged === undefined ? doc : Automerge.merge(merged, doc);
  }
  if (merged === undefined) return undefined;
  const deps = new Map<string, readonly string[]>();
  const writes: DesiredWrite[] = [];
  const deletions: string[] = [];
  for (const bytes of Automerge.getAllChanges(merged)) {
    const change = Automerge.decodeChange(bytes);
    deps.set(change.hash, change.deps);
    for (const op of change.ops as readonly DecodedOp[]) {
      if (op.obj !== '_root' || op.action !== 'set') continue;
      if (op.key === 'desired') {
        const write = desiredOf(change.hash, op.value);
        if (write !== undefined) writes.push(write);
      } else if (op.key === 'deleted' && op.value === true) {
        deletions.push(change.hash);
      }
    }
  }
  // The document itself, not a copy of its values: its decode sees rival metas (crdt/replicant-decode.ts).
  const decoded = decodeReplicant(docId, merged);
  const ancestors = new Map<string, Set<string>>();
  const ancestorsOf = (hash: string): Set<string> => {
    const known = ancestors.get(hash);
    if (known !== undefined) return known;
    const found = new Set<string>();
    const stack = [...(deps.get(hash) ?? [])];
    while (stack.length > 0) {
      const next = stack.pop() as string;
      if (found.has(next)) continue;
      found.add(next);
      stack.push(...(deps.get(next) ?? []));
    }
    ancestors.set(hash, found);
    return found;
  };
  return {
    docId,
    holders,
    replicant: decoded.ok ? decoded.replicant : undefined,
    invalid: decoded.ok ? undefined : decoded.reason,
    writes,
    deletions,
    precedes: (ancestor, descendant) => ancestorsOf(descendant).has(ancestor),
  };
}
