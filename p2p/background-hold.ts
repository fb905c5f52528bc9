/**
 * Background changes (crdt's ChangeOptions.background: a replica's status written by a reconcile
 * pass) held back while the site is busy with more urgent work, then sent, merged per document,
 * once it is not, or after `maxHoldMs` at the latest.
 *
 * Why: no site waits on such a change to act, but every site that receives one pays for it (an
 * Automerge apply, a storage write, its key index) on the cores its own reconcile passes need. In
 * a heal each side makes K replicas and both sides used to trade K statuses one by one while
 * their applications were still being driven; held, they cross in a few merged messages once the
 * passes are done.
 *
 * Order per document is kept: what a document holds goes before any later change of it that is
 * not held (DocSync takes it first).
 */
import type { Clock, Timer } from '../core/clock.js';
import type { DocumentId } from '../core/ids.js';
import type { DocumentChangedEvent } from '../crdt/documents.js';

/** Tells document sync when background changes may go; node/replication's reconciler is one. */
export interface BackgroundGate {
  /** True while the site has more urgent work than telling its peers of background changes. */
  busy(): boolean;
  /** Calls `listener` each time the site stops being busy; returns the unsubscribe. */
  onIdle(listener: () => void): () => void;
}

/** Longest a background change is held, by default: the bound on the staleness it adds. */
export const defaultMaxHoldMs = 5_000;

export class BackgroundHold {
  private readonly held = new Map<DocumentId, DocumentChangedEvent>();
  private timer: Timer | undefined;

  constructor(
    private readonly maxHoldMs: number,
    private readonly clock: Clock,
    /** Called when the oldest held change has waited `maxHoldMs`: time to take them all. */
    private readonly expired: () => void,
  ) {}

  /** Documents with changes held. */
  get size(): number {
    return this.held.size;
  }

  /** Whether `docId` has changes held. */
  holds(docId: DocumentId): boolean {
    return this.held.has(docId);
  }

  /** Holds `event` (a local background change), after those already held for its document. */
  hold(event: DocumentChangedEvent): void {
    const earlier = this.held.get(event.docId);
    this.held.set(event.docId, earlier === undefined ? event : merged(earlier, event));
    this.timer ??= this.clock.setTimeout(() => {
      this.timer = undefined;
      this.expired();
    }, this.maxHoldMs);
  }

  /** What `docId` holds, merged in one event, no longer held: a change of it that is not held comes next. */
  take(docId: DocumentId): DocumentChangedEvent | undefined {
    const event = this.held.get(docId);
    if (event === undefined) return undefined;
    this.held.delete(docId);
    if (this.held.size === 0) this.cancelTimer();
    return event;
  }

  /** Everything held, one event per document, oldest first; nothing is held afterwards. */
  takeAll(): DocumentChangedEvent[] {
    this.cancelTimer();
    const events = [...this.held.values()];
    this.held.clear();
    return events;
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}

/** One event for two successive ones of a document: every change in order, the later heads. */
function merged(earlier: DocumentChangedEvent, later: DocumentChangedEvent): DocumentChangedEvent {
  // No audience on either: the changes are for everyone, as the store itself merges them.
  const audience = earlier.audience === undefined || later.audience === undefined ? undefined : new Set([...earlier.audience, ...later.audience]);
  return {
    docId: later.docId,
    heads: later.heads,
    changes: [...earlier.changes, ...later.changes],
    origin: 'local',
    background: true,
    ...(audience === undefined ? {} : { audience }),
  };
}
