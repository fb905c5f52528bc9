/**
 * Test doubles for the stand-in's unit tests: a manual clock and a seeded random source, so that a
 * test controls time and gets the same uids on every run (the simulator has its own, richer ones);
 * and the protobuf test vectors of testdata/, with the decoding a request body goes through.
 */
import { readFileSync } from 'node:fs';
import type { Clock, Timer } from '../../core/clock.js';
import { uuidFromBytes, type Random } from '../../core/random.js';
import type { JsonObject } from './json.js';
import { structForKind } from './schema/model.js';
import { normalizeObject } from './schema/normalize.js';
import { decodeEnvelope, decodeMessage } from './schema/protobuf.js';

interface Scheduled {
  at: number;
  readonly callback: () => void;
  readonly intervalMs?: number;
  cancelled: boolean;
}

/** A clock that moves only when `advance` is called. */
export class ManualClock implements Clock {
  private current: number;
  private readonly timers: Scheduled[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMs: number): Timer {
    return this.schedule({ at: this.current + delayMs, callback, cancelled: false });
  }

  setInterval(callback: () => void, intervalMs: number): Timer {
    return this.schedule({ at: this.current + intervalMs, callback, intervalMs, cancelled: false });
  }

  private schedule(entry: Scheduled): Timer {
    this.timers.push(entry);
    return { cancel: () => void (entry.cancelled = true) };
  }

  /** Moves time forward by `ms`, running the timers that fall due, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.timers.filter((timer) => !timer.cancelled && timer.at <= target).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.current = Math.max(this.current, due.at);
      if (due.intervalMs === undefined) due.cancelled = true;
      else due.at += due.intervalMs;
      due.callback();
    }
    this.current = target;
  }
}

/** A deterministic Random (mulberry32); `fork` derives an independent stream from the label. */
export class SeededRandom implements Random {
  private state: number;
  private readonly seed: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.state = this.seed;
  }

  private next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }

  float(): number {
    return this.next();
  }

  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.int(256));
  }

  uuid(): string {
    return uuidFromBytes(this.bytes(16));
  }

  fork(label: string): Random {
    let hash = this.seed;
    for (const char of label) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
    return new SeededRandom(hash);
  }
}

/** Where the protobuf test vectors are. */
export const testdataUrl = new URL('./testdata/', import.meta.url);

/** One vector of testdata/vectors.json: a kubectl command, and the body it sends as `<name>.pb`. */
export interface ProtobufVector {
  /** The files' base name: `core.v1.Secret-generic`. */
  readonly name: string;
  /** `v1/Secret`, `apps/v1/Deployment`. */
  readonly kind: string;
  /** kubectl's arguments; `{dir}` is a directory holding bytes.bin and app.conf, `{testdata}` this one. */
  readonly kubectl: readonly string[];
  /** Commands to run before (creating the pod that `kubectl debug` copies). */
  readonly setup?: ReadonlyArray<readonly string[]>;
  /**
   * What `<name>.json` was checked against: `dry-run`, the object kubectl prints with
   * `--dry-run=client -o json` (Go's own JSON of the object it encodes); `debug-copy`, the source
   * pod as the server returned it, with the changes `kubectl debug --copy-to` makes.
   */
  readonly expected: 'dry-run' | 'debug-copy';
}

/** The vectors listed in testdata/vectors.json. */
export function protobufVectors(): ProtobufVector[] {
  const index = JSON.parse(readFileSync(new URL('vectors.json', testdataUrl), 'utf8')) as { vectors: ProtobufVector[] };
  return index.vectors;
}

/** A file of testdata/. */
export function testdataFile(name: string): Buffer {
  return readFileSync(new URL(name, testdataUrl));
}

/** Decodes a whole protobuf request body as the stand-in does, to the object's Go JSON. */
export function decodeProtobufBody(body: Uint8Array): JsonObject {
  const envelope = decodeEnvelope(body);
  if (!envelope.ok) throw new Error(envelope.error);
  const { apiVersion, kind, raw } = envelope.value;
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const info = structForKind(group ?? '', version ?? '', kind);
  if (info === undefined) throw new Error(`no type for ${apiVersion} ${kind}`);
  const decoded = decodeMessage(info.name, raw);
  if (!decoded.ok) throw new Error(decoded.error);
  return { apiVersion, kind, ...normalizeObject(info.name, decoded.value).value };
}
