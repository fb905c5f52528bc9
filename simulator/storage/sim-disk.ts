/**
 * Simulated storage with crash semantics. A SimDisk is the durable medium of one site (it
 * survives crashes); a process opens it and gets a SimStorage, the Storage port over it.
 *
 * The model follows the port's contract: a `put`, `delete`, `batch` or `deleteRange` is durable
 * once its promise resolves, and not before. Each call takes simulated time (a latency drawn per
 * operation); when it completes it is applied to the durable data and its promise resolves in
 * the same event, so no crash can fall between the two. Operations complete in the order they
 * were issued (one queue, as LevelDB's log), and a read sees every write issued before it.
 * Batches are atomic: all of a batch or none of it is ever durable; there are no torn writes.
 *
 * `crash()` is the process dying: writes still in flight are lost (never applied), and every
 * promise of that SimStorage, in flight or called later, never settles, since a dead process
 * hears no answers. `open()` again is the restart: a fresh SimStorage over what was durable.
 *
 * The disk also holds the node's staging log (`openStagingLog`, FileStagingLog's stand-in): its
 * appends are synchronous and survive the process dying the moment they return, as a write to
 * the kernel's cache does; a full disk refuses them.
 */
import type { Clock, Timer } from '../../core/clock.js';
import { CheopsError, ErrorCode } from '../../core/errors.js';
import type { Random } from '../../core/random.js';
import { MemoryStorage, MemoryStorageData } from '../../crdt/memory-storage.js';
import type { StagedRecord, StagingLog } from '../../crdt/staging-log.js';
import type { Storage, StorageEntry, StorageKey, StorageOperation } from '../../crdt/storage.js';
import { checkLatency, sampleLatency, type LatencyDistribution } from '../core/distributions.js';
import type { Trace } from '../core/trace.js';

export interface SimDiskOptions {
  /** Time a write takes to be durable; default uniform 0.2–2 ms (an SSD's fsync). */
  readonly writeLatency?: LatencyDistribution;
  /** Time a read takes; default 0 (served from the page cache). */
  readonly readLatency?: LatencyDistribution;
  /** Probability that a write fails (applying nothing, CHEOPS_STORAGE_FAILURE); default 0. */
  readonly writeFailureRate?: number;
  /** Names the disk on the timeline (`Site1/node`). */
  readonly label?: string;
}

export interface SimDiskComponents {
  readonly random: Random;
  readonly trace?: Trace;
}

export interface DiskStats {
  writes: number;
  reads: number;
  /** Writes lost in flight by crashes. */
  lostWrites: number;
  failedWrites: number;
  crashes: number;
}

type OperationKind = 'read' | 'write';

/** The durable medium of one site: survives crashes; opened by one process at a time. */
export class SimDisk {
  /** What is durable. Read it with `new MemoryStorage(disk.data)` in tests; never write it. */
  readonly data = new MemoryStorageData();
  readonly label: string;
  private readonly options: Required<Omit<SimDiskOptions, 'label'>>;
  private readonly random: Random;
  private readonly trace: Trace | undefined;
  private readonly counters: DiskStats = { writes: 0, reads: 0, lostWrites: 0, failedWrites: 0, crashes: 0 };
  private current: SimStorage | undefined;
  /** The staging log's records not settled, in staging order: what survives a crash. */
  readonly staged = new Map<string, Uint8Array>();
  private isFull = false;
  private isStalled = false;

  constructor(options: SimDiskOptions, components: SimDiskComponents) {
    this.options = {
      writeLatency: options.writeLatency ?? { type: 'uniform', minMs: 0.2, maxMs: 2 },
      readLatency: options.readLatency ?? { type: 'fixed', ms: 0 },
      writeFailureRate: options.writeFailureRate ?? 0,
    };
    checkLatency(this.options.writeLatency, 'disk writeLatency');
    checkLatency(this.options.readLatency, 'disk readLatency');
    if (!(this.options.writeFailureRate >= 0 && this.options.writeFailureRate <= 1)) {
      throw new RangeError(`disk writeFailureRate must be a probability, got ${this.options.writeFailureRate}`);
    }
    this.label = options.label ?? 'disk';
    this.random = components.random;
    this.trace = components.trace;
  }

  /**
   * Opens the disk for a process whose timers run on `clock` (its clock scope, so that killing
   * the process also stops its disk). Throws while another open handle is live, as a second
   * process cannot open a locked LevelDB.
   */
  open(clock: Clock): SimStorage {
    if (this.current?.state === 'open') throw new CheopsError(ErrorCode.StorageFailure, `${this.label} is already open`);
    this.current = new SimStorage(this, clock);
    return this.current;
  }

  /**
   * The staging log of the process that opened the store last (call after `open`): what it
   * stages or settles once that process died is not written, as a dead process writes nothing.
   */
  openStagingLog(): StagingLog {
    const handle = this.current;
    if (handle === undefined) throw new CheopsError(ErrorCode.StorageFailure, `${this.label} is not open`);
    return new SimStagingLog(this, () => handle.state === 'open');
  }

  /** The process using the disk died: its writes in flight are lost. Answers how many. */
  crash(): number {
    const handle = this.current;
    if (handle === undefined || handle.state !== 'open') return 0;
    const lost = handle.die();
    this.counters.crashes += 1;
    this.counters.lostWrites += lost;
    this.trace?.record('disk:crash', { disk: this.label, lostWrites: lost });
    return lost;
  }

  /**
   * The disk fills up (`--faults disk-full`): from now on every write fails, applying nothing,
   * until `free()`; reads still work. As LevelDB on a full disk: each write is refused with an
   * I/O error, and the store takes writes again once there is room (no reopen needed).
   */
  fill(): void {
    if (this.isFull) return;
    this.isFull = true;
    this.trace?.record('disk:full', { disk: this.label });
  }

  /** There is room again (see `fill`). */
  free(): void {
    if (!this.isFull) return;
    this.isFull = false;
    this.trace?.record('disk:freed', { disk: this.label });
  }

  /** Whether the disk is full (see `fill`). */
  get full(): boolean {
    return this.isFull;
  }

  /**
   * The disk freezes (`--faults slow-disk`): an SD card's garbage collection, an I/O queue that
   * another process saturates. No operation issued from now on completes until `resume()`; then
   * they run in their order, each taking its time. Operations issued before complete as drawn.
   */
  stall(): void {
    if (this.isStalled) return;
    this.isStalled = true;
    this.trace?.record('disk:stall', { disk: this.label });
  }

  /** The disk answers again (see `stall`). */
  resume(): void {
    if (!this.isStalled) return;
    this.isStalled = false;
    this.trace?.record('disk:resume', { disk: this.label });
    this.current?.release();
  }

  /** Whether the disk is stalled (see `stall`). */
  get stalled(): boolean {
    return this.isStalled;
  }

  /** A snapshot of the counters. */
  stats(): DiskStats {
    return { ...this.counters };
  }

  /** @internal The latency of one operation, and why a write fails, if it does. */
  draw(kind: OperationKind): { readonly latencyMs: number; readonly failure: string | undefined } {
    this.counters[kind === 'read' ? 'reads' : 'writes'] += 1;
    const latencyMs = sampleLatency(kind === 'read' ? this.options.readLatency : this.options.writeLatency, this.random);
    const rate = this.options.writeFailureRate;
    // Drawn whether full or not: a full disk shifts no later draw.
    const random = kind === 'write' && rate > 0 && this.random.float() < rate;
    const failure = kind !== 'write' ? undefined : this.isFull ? 'IO error: No space left on device' : random ? 'simulated write failure' : undefined;
    if (failure !== undefined) this.counters.failedWrites += 1;
    return { latencyMs, failure };
  }
}

interface InFlight {
  readonly kind: OperationKind;
  timer: Timer | undefined;
}

/** One process's Storage over a SimDisk. */
export class SimStorage implements Storage {
  private readonly disk: SimDisk;
  private readonly clock: Clock;
  /** Applies completed operations to the durable data, with MemoryStorage's key order and checks. */
  private readonly durable: MemoryStorage;
  private readonly inFlight = new Set<InFlight>();
  /** Operations issued while the disk is stalled, in their order, with what each then takes. */
  private held: Array<{ readonly latencyMs: number; readonly complete: () => void; readonly operation: InFlight }> = [];
  private lastCompletionAt = Number.NEGATIVE_INFINITY;
  private status: 'open' | 'closed' | 'crashed' = 'open';

  constructor(disk: SimDisk, clock: Clock) {
    this.disk = disk;
    this.clock = clock;
    this.durable = new MemoryStorage(disk.data);
  }

  /** `crashed` once its process died: from then on nothing it was asked ever answers. */
  get state(): 'open' | 'closed' | 'crashed' {
    return this.status;
  }

  /** Operations issued and not completed. */
  pendingOperations(): number {
    return this.inFlight.size;
  }

  get(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.enqueue('read', () => this.durable.get(key));
  }

  put(key: StorageKey, value: Uint8Array): Promise<void> {
    return this.batch([{ type: 'put', key, value }]);
  }

  delete(key: StorageKey): Promise<void> {
    return this.batch([{ type: 'del', key }]);
  }

  batch(operations: readonly StorageOperation[]): Promise<void> {
    // Copied now: the caller may reuse its buffers before the write completes, as with level.
    const copied = operations.map((operation) =>
      operation.type === 'put' ? { type: 'put' as const, key: [...operation.key], value: Uint8Array.from(operation.value) } : { type: 'del' as const, key: [...operation.key] },
    );
    return this.enqueue('write', () => this.durable.batch(copied));
  }

  list(prefix: StorageKey): Promise<StorageEntry[]> {
    return this.enqueue('read', () => this.durable.list(prefix));
  }

  deleteRange(prefix: StorageKey): Promise<void> {
    const copied = [...prefix];
    return this.enqueue('write', () => this.durable.deleteRange(copied));
  }

  /** Resolves once the operations already issued have completed; later calls reject. */
  close(): Promise<void> {
    if (this.status === 'crashed') return never();
    if (this.status === 'closed') return Promise.resolve();
    const drained = this.enqueue('read', () => Promise.resolve());
    this.status = 'closed';
    return drained;
  }

  /** @internal The process died: cancels what is in flight; answers the writes lost. */
  die(): number {
    this.status = 'crashed';
    let lostWrites = 0;
    for (const operation of this.inFlight) {
      operation.timer?.cancel();
      if (operation.kind === 'write') lostWrites += 1;
    }
    this.inFlight.clear();
    this.held = [];
    return lostWrites;
  }

  /** @internal The disk answers again: what was issued while it was stalled runs now, in order. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const { latencyMs, complete, operation } of held) this.schedule(operation, latencyMs, complete);
  }

  /** Completes `operation` once it has taken `latencyMs`, never before one issued earlier. */
  private schedule(operation: InFlight, latencyMs: number, complete: () => void): void {
    const now = this.clock.now();
    const at = Math.max(now + latencyMs, this.lastCompletionAt);
    this.lastCompletionAt = at;
    const delayMs = at - now;
    if (delayMs <= 0) queueMicrotask(complete);
    else operation.timer = this.clock.setTimeout(complete, delayMs);
  }

  private enqueue<T>(kind: OperationKind, run: () => Promise<T>): Promise<T> {
    if (this.status === 'crashed') return never();
    if (this.status === 'closed') return Promise.reject(new CheopsError(ErrorCode.StorageClosed, 'the store is closed'));
    const { latencyMs, failure } = this.disk.draw(kind);
    return new Promise<T>((resolve, reject) => {
      const operation: InFlight = { kind, timer: undefined };
      this.inFlight.add(operation);
      const complete = (): void => {
        // A crash between scheduling and now (possible only for a microtask) loses the operation.
        if (!this.inFlight.delete(operation)) return;
        if (failure !== undefined) reject(new CheopsError(ErrorCode.StorageFailure, `${this.disk.label}: ${failure}`));
        // MemoryStorage applies synchronously inside the call: durable in this same event.
        else run().then(resolve, reject);
      };
      // First in, first out: a stalled disk holds everything issued after, reads too.
      if (this.disk.stalled || this.held.length > 0) this.held.push({ latencyMs, complete, operation });
      else this.schedule(operation, latencyMs, complete);
    });
  }
}

/** A promise that never settles: the answer a dead process waits for. */
function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

/** See SimDisk's `openStagingLog`. */
class SimStagingLog implements StagingLog {
  private earlier: StagedRecord[];

  constructor(
    private readonly disk: SimDisk,
    private readonly alive: () => boolean,
  ) {
    this.earlier = [...disk.staged].map(([id, record]) => ({ id, record: Uint8Array.from(record) }));
  }

  stage(id: string, record: Uint8Array): void {
    if (!this.alive()) throw new CheopsError(ErrorCode.StorageClosed, `${this.disk.label}: the staging log is closed`);
    if (this.disk.full) throw new CheopsError(ErrorCode.StorageFailure, `${this.disk.label}: IO error: No space left on device`);
    this.disk.staged.delete(id);
    this.disk.staged.set(id, Uint8Array.from(record));
  }

  /** A staged record outlives a crash already (the simulated crash is the process's): nothing more to wait for. */
  flush(): Promise<void> {
    if (!this.alive()) return Promise.reject(new CheopsError(ErrorCode.StorageClosed, `${this.disk.label}: the staging log is closed`));
    return Promise.resolve();
  }

  settle(id: string): void {
    if (this.alive() && !this.disk.full) this.disk.staged.delete(id);
  }

  leftovers(): readonly StagedRecord[] {
    return this.earlier;
  }

  forgetLeftovers(ids: readonly string[]): void {
    if (!this.alive() || this.disk.full) return;
    const forgotten = new Set(ids);
    for (const id of forgotten) this.disk.staged.delete(id);
    this.earlier = this.earlier.filter(({ id }) => !forgotten.has(id));
  }

  close(): void {}
}
