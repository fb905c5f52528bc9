/**
 * Whether the node's store takes writes. A full disk refuses them for a while and takes them again
 * once there is room (LevelDB needs no reopen), and what failed meanwhile waits on backoffs: a
 * reconcile pass whose replica entry was refused, a create intent to settle, a document whose
 * received changes were lost. Without this, the last of them would run again up to a minute
 * after the disk had room. So:
 *
 * - a write that fails (not on a closed store) makes the store *failing*, and a small probe
 *   write is tried every `probeEveryMs`;
 * - the moment the probe or any other write goes through, every listener of `onBack` is told.
 *
 * The probe is the only write added, and only while writes fail.
 */
import type { Clock, Timer } from '../core/clock.js';
import { ErrorCode, errorMessage, isCheopsError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { StagingLog } from './staging-log.js';
import type { BatchOptions, Storage, StorageKey, StorageOperation } from './storage.js';

/** Where the probe writes: one small key of its own. */
const probeKey: StorageKey = ['storage-probe'];

export interface StorageHealthDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Between two probes of a store whose writes fail; default 1 s. */
  readonly probeEveryMs?: number;
  /** Told each time the store starts failing (false) and takes writes again (true): the metric. */
  readonly changed?: (writable: boolean) => void;
}

/** See the file comment. Wrap the store with `watch` and use what it answers. */
export class StorageHealth {
  private failingSince: number | undefined;
  private probeTimer: Timer | undefined;
  private stopped = false;
  private storage: Storage | undefined;
  private readonly backListeners = new Set<() => void>();

  constructor(private readonly deps: StorageHealthDeps) {}

  /** False from a failed write until a write goes through. */
  get writable(): boolean {
    return this.failingSince === undefined;
  }

  /** Calls `listener` each time the store takes writes again after failing; answers the unsubscribe. */
  onBack(listener: () => void): () => void {
    this.backListeners.add(listener);
    return () => {
      this.backListeners.delete(listener);
    };
  }

  /** `storage` with every write's outcome watched (reads are not: a full disk still serves them). */
  watch(storage: Storage): Storage {
    this.storage = storage;
    return {
      get: (key) => storage.get(key),
      list: (prefix) => storage.list(prefix),
      close: () => storage.close(),
      put: (key, value) => this.observe(storage.put(key, value)),
      delete: (key) => this.observe(storage.delete(key)),
      batch: (operations: readonly StorageOperation[], options?: BatchOptions) => this.observe(storage.batch(operations, options)),
      deleteRange: (prefix) => this.observe(storage.deleteRange(prefix)),
    };
  }

  /**
   * `log` with its refusals counted as the store's: it is on the same disk, and a write refused
   * there (a mark, before the application sees a write) must hold the next writes back as a
   * refused store write does, until the probe sees room.
   */
  watchStaging(log: StagingLog): StagingLog {
    const refused = (error: unknown): never => {
      if (!isCheopsError(error, ErrorCode.StorageClosed)) this.failed(error);
      throw error;
    };
    return {
      stage: (id, record) => {
        try {
          log.stage(id, record);
        } catch (error) {
          refused(error);
        }
      },
      flush: () => log.flush().catch(refused),
      settle: (id) => log.settle(id),
      leftovers: () => log.leftovers(),
      forgetLeftovers: (ids) => log.forgetLeftovers(ids),
      close: () => log.close(),
    };
  }

  /** Stops probing. */
  stop(): void {
    this.stopped = true;
    this.probeTimer?.cancel();
    this.probeTimer = undefined;
  }

  private observe(write: Promise<void>): Promise<void> {
    return write.then(
      () => this.wrote(),
      (error: unknown) => {
        // A closed store is shutting down, not full.
        if (!isCheopsError(error, ErrorCode.StorageClosed)) this.failed(error);
        throw error;
      },
    );
  }

  private failed(error: unknown): void {
    if (this.failingSince !== undefined || this.stopped) return;
    this.failingSince = this.deps.clock.now();
    this.deps.changed?.(false);
    this.deps.logger.warn({ error: errorMessage(error) }, 'the store refuses writes; trying it again every second');
    this.scheduleProbe();
  }

  private wrote(): void {
    if (this.failingSince === undefined) return;
    const failedForMs = this.deps.clock.now() - this.failingSince;
    this.failingSince = undefined;
    this.probeTimer?.cancel();
    this.probeTimer = undefined;
    this.deps.changed?.(true);
    this.deps.logger.info({ failedForMs }, 'the store takes writes again; retrying what waited for it');
    for (const listener of [...this.backListeners]) listener();
  }

  private scheduleProbe(): void {
    if (this.stopped || this.probeTimer !== undefined) return;
    this.probeTimer = this.deps.clock.setTimeout(() => {
      this.probeTimer = undefined;
      const storage = this.storage;
      if (storage === undefined || this.failingSince === undefined || this.stopped) return;
      storage.put(probeKey, Uint8Array.of(1)).then(
        () => this.wrote(),
        () => this.scheduleProbe(),
      );
    }, this.deps.probeEveryMs ?? 1_000);
  }
}
