/**
 * The trace of a simulated run: what happened, when, in order. Two kinds of entries:
 *
 * - notable events (`record`): connections, partitions, crashes, document changes, warnings.
 *   Kept, and printed as the run's timeline;
 * - digests (`digest`): every message sent and its fate, every log line. Not kept (a long run
 *   sends millions), only folded into the hash.
 *
 * Both go into one running SHA-256 in the order they happen, so the trace hash changes if any
 * message, delay or event differs between two runs: the same seed must give the same hash.
 */
import { Buffer } from 'node:buffer';
import { createHash, type Hash } from 'node:crypto';
import type { Clock } from '../../core/clock.js';

export type TraceValue = string | number | boolean | null | readonly string[];
export type TraceData = Readonly<Record<string, TraceValue>>;

export interface TraceEvent {
  /** Virtual milliseconds since the start of the run. */
  readonly atMs: number;
  /** What happened (`net:connect`, `site:crash`, `doc:change`). */
  readonly kind: string;
  /** The site it happened on, when it belongs to one. */
  readonly site: string | undefined;
  readonly data: TraceData;
}

export type TraceListener = (event: TraceEvent) => void;

export interface TraceClock {
  now: Clock['now'];
  readonly startMs: number;
}

/** The ordered record of a run, with its running hash. */
export class Trace {
  private readonly clock: TraceClock;
  private readonly hasher: Hash = createHash('sha256');
  private readonly kept: TraceEvent[] = [];
  private readonly listeners = new Set<TraceListener>();
  /** Input not yet fed to the hash: one update per 64 KiB instead of three per entry. */
  private readonly buffer = Buffer.allocUnsafe(65_536);
  private used = 0;
  private digestCount = 0;

  constructor(clock: TraceClock) {
    this.clock = clock;
  }

  /** Records a notable event: kept, hashed, and told to listeners. */
  record(kind: string, data: TraceData = {}, site?: string): void {
    const event: TraceEvent = { atMs: this.atMs(), kind, site, data };
    this.kept.push(event);
    this.fold(event, undefined);
    for (const listener of this.listeners) listener(event);
  }

  /** Folds a routine event (and its bytes, when given) into the hash without keeping it. */
  digest(kind: string, data: TraceData, bytes?: Uint8Array): void {
    this.digestCount += 1;
    this.fold({ atMs: this.atMs(), kind, site: undefined, data }, bytes);
  }

  /** The notable events so far, optionally only those of some kinds. */
  events(kinds?: readonly string[]): readonly TraceEvent[] {
    return kinds === undefined ? [...this.kept] : this.kept.filter((event) => kinds.includes(event.kind));
  }

  /** Routine events folded into the hash so far. */
  get digests(): number {
    return this.digestCount;
  }

  /** Hex SHA-256 of everything recorded and digested so far, in order. */
  hash(): string {
    this.flush();
    return this.hasher.copy().digest('hex');
  }

  /** Calls `listener` with each notable event from now on; answers the unsubscribe function. */
  subscribe(listener: TraceListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The timeline: one line per notable event. */
  timeline(kinds?: readonly string[]): string {
    return this.events(kinds).map(formatTraceEvent).join('\n');
  }

  private atMs(): number {
    return this.clock.now() - this.clock.startMs;
  }

  private fold(event: TraceEvent, bytes: Uint8Array | undefined): void {
    this.append(JSON.stringify([event.atMs, event.kind, event.site ?? null, event.data, bytes?.length ?? null]));
    if (bytes !== undefined) this.append(bytes);
    this.append('\n');
  }

  private append(part: string | Uint8Array): void {
    const size = typeof part === 'string' ? Buffer.byteLength(part, 'utf8') : part.length;
    if (this.used + size > this.buffer.length) this.flush();
    if (size > this.buffer.length) {
      this.hasher.update(part);
      return;
    }
    if (typeof part === 'string') this.buffer.write(part, this.used, 'utf8');
    else this.buffer.set(part, this.used);
    this.used += size;
  }

  /** Feeds the buffered input to the hash: the same digest as feeding it part by part. */
  private flush(): void {
    if (this.used === 0) return;
    this.hasher.update(this.buffer.subarray(0, this.used));
    this.used = 0;
  }
}

/** `    1234.567  Site1  net:connect  peer=Site2` */
export function formatTraceEvent(event: TraceEvent): string {
  const time = (Math.round(event.atMs * 1000) / 1000).toFixed(3).padStart(12);
  const fields = Object.entries(event.data)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(',') : String(value)}`)
    .join(' ');
  return `${time}  ${(event.site ?? '-').padEnd(8)}  ${event.kind.padEnd(14)}  ${fields}`.trimEnd();
}
