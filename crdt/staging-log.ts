/**
 * The StagingLog port: records written *before* an action whose outcome a crash could leave
 * unknown (the local application making a create), for a store whose own writes cost a hop to a
 * worker thread. `stage` is synchronous and the record survives the process dying the moment it
 * returns (an append to a file: the kernel holds it; no fsync, so not the machine dying). A
 * record stays open until `settle`; those a crash left open are read back by the next process.
 *
 * Implementations: FileStagingLog (a file beside the store) and MemoryStagingLog (tests: one
 * instance stands for the file across "restarts"); the simulator's SimDisk has its own.
 */

export interface StagedRecord {
  readonly id: string;
  readonly record: Uint8Array;
}

export interface StagingLog {
  /** Writes `record` under `id`; durable against the process dying once it returns. Throws when the log cannot take it (a full disk). */
  stage(id: string, record: Uint8Array): void;
  /**
   * Resolves once every record staged so far survives the machine dying too (fdatasync): for a
   * record whose promise goes out before the store holds what it stands for (an answered update).
   * Flushes asked while one runs share the next. Rejects when the log cannot (a failing disk).
   */
  flush(): Promise<void>;
  /** Closes `id`'s record: what it stood for is in the store now, or never happened. Never throws (a failure leaves the record open: a leftover). */
  settle(id: string): void;
  /** The records an earlier process staged and never settled, oldest first. */
  leftovers(): readonly StagedRecord[];
  /** Settles these leftovers, once the caller holds them elsewhere (in its store). */
  forgetLeftovers(ids: readonly string[]): void;
  /** Releases the log. */
  close(): void;
}

/** A StagingLog in memory; `reopen` is what a restart reads back. */
export class MemoryStagingLog implements StagingLog {
  private readonly open = new Map<string, Uint8Array>();
  private earlier: StagedRecord[] = [];

  stage(id: string, record: Uint8Array): void {
    this.open.set(id, Uint8Array.from(record));
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  settle(id: string): void {
    this.open.delete(id);
  }

  leftovers(): readonly StagedRecord[] {
    return this.earlier;
  }

  forgetLeftovers(ids: readonly string[]): void {
    const forgotten = new Set(ids);
    this.earlier = this.earlier.filter(({ id }) => !forgotten.has(id));
  }

  close(): void {}

  /** What the next process finds: every record staged and not settled, this process's too. */
  reopen(): MemoryStagingLog {
    const next = new MemoryStagingLog();
    const seen = new Set(this.open.keys());
    next.earlier = [...this.earlier.filter((staged) => !seen.has(staged.id)), ...[...this.open].map(([id, record]) => ({ id, record }))];
    return next;
  }
}
