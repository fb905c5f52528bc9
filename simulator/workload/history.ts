/**
 * The history of a run as its clients saw it: every operation sent to a front, when, and what came
 * back (status, meta-ID, replicas header, warnings). This is what the checkers hold the sites to:
 * an acknowledged write must not be lost, a rejected one must not be replicated. Reads are kept
 * apart (reads.ts): "operations" are writes.
 *
 * Outcomes, and why each is what it is:
 * - `acknowledged`: a 2xx answer;
 * - `rejected`: a 4xx answer to a write the site applied itself (a member, or a local write): the
 *   application refused it and nothing was replicated;
 * - `unknown`: no answer (the site died, the client gave up), a 5xx, or a non-2xx answer to a
 *   forwarded write (an earlier member may have applied it before its answer was lost): the write
 *   may or may not have happened, so nothing is checked about it but that the run stays sane;
 * - `skipped`: the site was down when the client wanted to send it.
 */
import type { MetaId, SiteName } from '../../core/ids.js';
import type { KubectlCall } from './kubectl-requests.js';
import type { WorkloadKey } from './key-space.js';
import type { ReadRecord } from './reads.js';

export type OpOutcome = 'pending' | 'acknowledged' | 'rejected' | 'unknown' | 'skipped';

/** One operation and its answer. */
export interface OpRecord {
  /** `o17`: also the marker its body carries. */
  readonly id: string;
  readonly site: SiteName;
  readonly key: WorkloadKey;
  readonly call: KubectlCall;
  /** Virtual milliseconds since the start of the run. */
  readonly issuedAtMs: number;
  /** The operation this one retries (after an unknown outcome). */
  readonly retryOf: string | undefined;
  answeredAtMs: number | undefined;
  outcome: OpOutcome;
  status: number | undefined;
  metaId: MetaId | undefined;
  replicas: string | undefined;
  forwardedTo: string | undefined;
  warnings: string[];
  /** The op marker of the object in the answer (an adopted create answers an older object). */
  answeredMarker: string | undefined;
  /**
   * A failure answered by Cheops itself: its code (`details.cheopsCode` of the Status), and
   * whether it names a dependency (`details.dependency`: a share refused, share.ts).
   */
  cheopsError: { readonly code: string; readonly dependency: boolean } | undefined;
  /** Why there was no answer. */
  error: string | undefined;
}

/** Counts by outcome, for the summary. */
export interface HistoryCounts {
  readonly operations: number;
  /** Reads sent (reads.ts), and how many were answered by another site. */
  readonly reads: number;
  readonly forwardedReads: number;
  readonly acknowledged: number;
  readonly rejected: number;
  readonly unknown: number;
  readonly skipped: number;
  readonly forwarded: number;
  readonly retries: number;
  /** Answers that carried a conflict warning (a write lost to a concurrent one). */
  readonly conflictWarnings: number;
  readonly sharing: SharingCounts;
}

/** What sharing did (the sharing workload): creates of pods relying on a shared secret, and deletes of the secrets. */
export interface SharingCounts {
  /** Creates of dependent pods sent (not skipped). */
  readonly creates: number;
  readonly createsAcknowledged: number;
  /** Refused by the share itself (the answer names the dependency): the owner lacks it, is unreachable, or the name is taken here. */
  readonly createsRefused: number;
  readonly refusedBy: Readonly<Record<string, number>>;
  /** Deletes of shared secrets at their owner sent, acknowledged, and refused while relied upon. */
  readonly secretDeletes: number;
  readonly secretDeletesAcknowledged: number;
  readonly secretDeletesReliedUpon: number;
}

/** The code Cheops refuses the delete of what others rely on with (node/replication/reliance.ts). */
export const reliedUponCode = 'CHEOPS_RELIED_UPON';

/** Every operation of a run, in the order they were sent, and every read beside them. */
export class History {
  private readonly ops: OpRecord[] = [];
  private readonly readRecords: ReadRecord[] = [];
  /** The next number of each id prefix: `o` for operations, `s` for the sharing workload's, `r` for reads. */
  private readonly counters = { o: 1, s: 1, r: 1 };

  /** A fresh operation id (`o1`, `o2`, …; `s1`, … for the sharing workload's, which never shift the others'). */
  newId(prefix: OpIdPrefix = 'o'): string {
    return this.next(prefix);
  }

  add(record: OpRecord): void {
    this.ops.push(record);
  }

  /** A fresh read id (`r1`, `r2`, …): reads never shift the writes' ids. */
  newReadId(): string {
    return this.next('r');
  }

  addRead(record: ReadRecord): void {
    this.readRecords.push(record);
  }

  private next(prefix: OpIdPrefix | 'r'): string {
    const id = `${prefix}${this.counters[prefix]}`;
    this.counters[prefix] += 1;
    return id;
  }

  get reads(): readonly ReadRecord[] {
    return this.readRecords;
  }

  get all(): readonly OpRecord[] {
    return this.ops;
  }

  /** Operations on `key`, in the order sent. */
  of(key: WorkloadKey): OpRecord[] {
    return this.ops.filter((op) => op.key === key);
  }

  byId(id: string): OpRecord | undefined {
    return this.ops.find((op) => op.id === id);
  }

  /** Operations still waiting for their answer. */
  pending(): number {
    return this.ops.filter((op) => op.outcome === 'pending').length;
  }

  counts(): HistoryCounts {
    const count = (outcome: OpOutcome): number => this.ops.filter((op) => op.outcome === outcome).length;
    return {
      operations: this.ops.length,
      reads: this.readRecords.length,
      forwardedReads: this.readRecords.filter((read) => read.forwardedTo !== undefined).length,
      acknowledged: count('acknowledged'),
      rejected: count('rejected'),
      unknown: count('unknown'),
      skipped: count('skipped'),
      forwarded: this.ops.filter((op) => op.forwardedTo !== undefined).length,
      retries: this.ops.filter((op) => op.retryOf !== undefined).length,
      conflictWarnings: this.ops.filter((op) => op.warnings.some((warning) => warning.includes('conflict'))).length,
      sharing: this.sharingCounts(),
    };
  }

  private sharingCounts(): SharingCounts {
    const sent = this.ops.filter((op) => op.outcome !== 'skipped');
    const creates = sent.filter((op) => op.key.kind === 'dependent' && op.call.verb === 'create');
    const refused = creates.filter((op) => op.cheopsError?.dependency === true);
    const refusedBy: Record<string, number> = {};
    for (const op of refused) refusedBy[op.cheopsError?.code ?? '?'] = (refusedBy[op.cheopsError?.code ?? '?'] ?? 0) + 1;
    const deletes = sent.filter((op) => op.key.kind === 'shared' && op.call.verb === 'delete');
    return {
      creates: creates.length,
      createsAcknowledged: creates.filter((op) => op.outcome === 'acknowledged').length,
      createsRefused: refused.length,
      refusedBy,
      secretDeletes: deletes.length,
      secretDeletesAcknowledged: deletes.filter((op) => op.outcome === 'acknowledged').length,
      secretDeletesReliedUpon: deletes.filter((op) => op.cheopsError?.code === reliedUponCode).length,
    };
  }
}

/** Operation id prefixes: `o` for the main workload, `s` for the sharing workload. */
export type OpIdPrefix = 'o' | 's';
