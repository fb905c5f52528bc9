/**
 * Fakes for the crdt/ tests: a clock that moves only when told, a seeded Random, a Storage
 * wrapper that counts calls and can hold or fail batches, and a child process to kill with
 * SIGKILL once it acknowledged its writes. Not used by production code.
 */
import * as Automerge from '@automerge/automerge';
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Clock, Timer } from '../core/clock.js';
import type { DocumentId } from '../core/ids.js';
import { uuidFromBytes, type Random } from '../core/random.js';
import { silentLogger } from '../core/logger.js';
import { DocumentStore, type DocumentStoreInit } from './document-store.js';
import type { SyncableDocuments } from './documents.js';
import type { BatchOptions, Storage, StorageEntry, StorageKey, StorageOperation } from './storage.js';

/** What a promise rejected with, or undefined when it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

/** Runs the sync protocol between `a` and `b` on `docId`, in process, until neither has anything to send. */
export async function syncDocuments(a: SyncableDocuments, b: SyncableDocuments, docId: DocumentId): Promise<void> {
  let stateAB = Automerge.initSyncState();
  let stateBA = Automerge.initSyncState();
  for (let round = 0; round < 20; round += 1) {
    let fromA: Uint8Array | null;
    let fromB: Uint8Array | null;
    [stateAB, fromA] = await a.generateSyncMessage(docId, stateAB);
    if (fromA !== null) stateBA = await b.receiveSyncMessage(docId, stateBA, fromA);
    [stateBA, fromB] = await b.generateSyncMessage(docId, stateBA);
    if (fromB !== null) stateAB = await a.receiveSyncMessage(docId, stateAB, fromB);
    if (fromA === null && fromB === null) return;
  }
  throw new Error('sync did not settle in 20 rounds');
}

export class ManualClock implements Clock {
  constructor(private time = 1_700_000_000_000) {}

  now(): number {
    return this.time;
  }

  advance(ms: number): void {
    this.time += ms;
  }

  setTimeout(): Timer {
    throw new Error('ManualClock does not run timers');
  }

  setInterval(): Timer {
    throw new Error('ManualClock does not run timers');
  }
}

/** A small deterministic generator (mulberry32); forks are seeded from the label. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const random: Random = {
    float: next,
    int: (maxExclusive) => Math.floor(next() * maxExclusive),
    bytes: (length) => Uint8Array.from({ length }, () => Math.floor(next() * 256)),
    uuid: () => uuidFromBytes(random.bytes(16)),
    fork: (label) => seededRandom([...label].reduce((hash, character) => Math.imul(hash ^ character.charCodeAt(0), 16777619), seed)),
  };
  return random;
}

/** Counts what passes through to `inner`; `hold()` keeps batches waiting, `failNext()` fails some. */
export class CountingStorage implements Storage {
  batches: StorageOperation[][] = [];
  /** Whether each of `batches` was asked to be synced (BatchOptions.sync). */
  synced: boolean[] = [];
  lists: StorageKey[] = [];
  gets: StorageKey[] = [];
  private failures = 0;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  constructor(readonly inner: Storage) {}

  reset(): void {
    this.batches = [];
    this.synced = [];
    this.lists = [];
    this.gets = [];
  }

  /** Fails the next `count` batches with an I/O error. */
  failNext(count = 1): void {
    this.failures = count;
  }

  /** Holds every batch until `release()`. */
  hold(): void {
    this.gate = new Promise<void>((resolve) => {
      this.openGate = resolve;
    });
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  get(key: StorageKey): Promise<Uint8Array | undefined> {
    this.gets.push(key);
    return this.inner.get(key);
  }

  put(key: StorageKey, value: Uint8Array): Promise<void> {
    return this.batch([{ type: 'put', key, value }]);
  }

  delete(key: StorageKey): Promise<void> {
    return this.batch([{ type: 'del', key }]);
  }

  async batch(operations: readonly StorageOperation[], options: BatchOptions = {}): Promise<void> {
    this.batches.push([...operations]);
    this.synced.push(options.sync !== false);
    if (this.gate !== undefined) await this.gate;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('simulated I/O error');
    }
    await this.inner.batch(operations, options);
  }

  list(prefix: StorageKey): Promise<StorageEntry[]> {
    this.lists.push(prefix);
    return this.inner.list(prefix);
  }

  deleteRange(prefix: StorageKey): Promise<void> {
    return this.inner.deleteRange(prefix);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** An open DocumentStore on `storage`, with a seeded Random, a manual clock and no logs. */
export async function openStore(storage: Storage, seed = 1, init: DocumentStoreInit = {}, clock: Clock = new ManualClock()): Promise<DocumentStore> {
  const store = new DocumentStore({ storage, clock, random: seededRandom(seed), logger: silentLogger }, init);
  await store.open();
  return store;
}

/** Runs the sync protocol between `a` and `b` for `docId` until neither has anything to send. */

/** Every key and value in `storage`, as text, to compare whole stores. */
export async function storedBytes(storage: Storage): Promise<string[]> {
  return (await storage.list([])).map((entry) => `${entry.key.join('|')}=${Buffer.from(entry.value).toString('hex')}`);
}

/** crdt/: where a bundled child's imports resolve from. */
const here = dirname(fileURLToPath(import.meta.url));

/** Bundles `source` (imports resolved from crdt/, `level` left outside) into `directory`; answers the script's path. */
export async function bundleChild(source: string, directory: string): Promise<string> {
  const outfile = join(directory, 'writer.cjs');
  await build({
    stdin: { contents: source, resolveDir: here, sourcefile: 'writer.ts', loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['level'],
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

/** Runs `script` with `args` and kills it with SIGKILL the moment it prints `acked`; rejects if it ends otherwise. */
export function runUntilAcknowledgedThenKill(script: string, args: readonly string[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, NODE_PATH: join(here, '..', 'node_modules') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let errors = '';
    let acknowledged = false;
    // eslint-disable-next-line no-restricted-globals -- a guard in real time over a real child process
    const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!acknowledged && output.includes('acked')) {
        acknowledged = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(guard);
      if (acknowledged && signal === 'SIGKILL') resolve();
      else reject(new Error(`the writer did not acknowledge before it ended (${String(signal)}): ${errors}`));
    });
  });
}
