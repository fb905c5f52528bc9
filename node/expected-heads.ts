/**
 * Answers "does this site hold these changes yet, and since when?" for a set of documents and
 * heads given once (a benchmark: every change either side made during a partition), so that the
 * moment of convergence can be read long after it happened, by polling rarely.
 *
 * Identical heads on both sites is not the criterion: each site's reconciler adds its replica
 * entry to every document it receives, so the heads move on as soon as they meet. A change is
 * held once it is durable here; it is watched as a head of a written state (the stored heads when
 * the expectation is set, then the heads of each `doc:changed`), which is exact for changes that
 * reach this site no later than their descendants do (true of a heal: each side's changes reach
 * the other as a whole, and only then does anything build on them). Nothing is kept once every
 * expected change is held.
 */
import type { Clock } from '../core/clock.js';
import type { DocumentId } from '../core/ids.js';
import type { DocumentChangedEvent, DocumentListener } from '../crdt/documents.js';

export interface ExpectedHeadsDeps {
  readonly documents: {
    heads(docId: DocumentId): readonly string[] | undefined;
    onChange(listener: DocumentListener): () => void;
  };
  readonly clock: Clock;
}

export interface ExpectedHeadsStatus {
  /** Documents expected. */
  readonly expected: number;
  /** Of those, the documents whose expected heads are all held here. */
  readonly held: number;
  /** When the first document still missing when the expectation was set was held whole here, or null. */
  readonly firstHeldAtMs: number | null;
  /** When the last expected change became durable here (the clock's ms), or null while some are missing. */
  readonly completedAtMs: number | null;
}

export class ExpectedHeads {
  private readonly deps: ExpectedHeadsDeps;
  /** Per document, the expected change hashes not seen yet. */
  private missing = new Map<DocumentId, Set<string>>();
  private expected = 0;
  private completedAtMs: number | null = null;
  private firstHeldAtMs: number | null = null;
  private unsubscribe: (() => void) | undefined;

  constructor(deps: ExpectedHeadsDeps) {
    this.deps = deps;
  }

  /** Replaces the expectation: `heads` per document; those already stored count as held now. */
  expect(docs: ReadonlyMap<DocumentId, readonly string[]>): void {
    this.stopWatching();
    this.missing = new Map();
    this.expected = docs.size;
    this.completedAtMs = null;
    this.firstHeldAtMs = null;
    for (const [doc, heads] of docs) {
      const stored = new Set(this.deps.documents.heads(doc) ?? []);
      const wanted = new Set(heads.filter((hash) => !stored.has(hash)));
      if (wanted.size > 0) this.missing.set(doc, wanted);
    }
    if (this.missing.size === 0) this.completedAtMs = this.deps.clock.now();
    else this.unsubscribe = this.deps.documents.onChange(this.onChange);
  }

  status(): ExpectedHeadsStatus {
    return { expected: this.expected, held: this.expected - this.missing.size, firstHeldAtMs: this.firstHeldAtMs, completedAtMs: this.completedAtMs };
  }

  /** Stops listening (the site stops). */
  stop(): void {
    this.stopWatching();
  }

  private readonly onChange = (event: DocumentChangedEvent): void => {
    const wanted = this.missing.get(event.docId);
    if (wanted === undefined) return;
    for (const hash of event.heads) wanted.delete(hash);
    if (wanted.size > 0) return;
    this.missing.delete(event.docId);
    this.firstHeldAtMs ??= this.deps.clock.now();
    if (this.missing.size > 0) return;
    this.completedAtMs = this.deps.clock.now();
    this.stopWatching();
  };

  private stopWatching(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
