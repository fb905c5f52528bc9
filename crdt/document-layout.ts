/**
 * Where the document store keeps things in Storage, and how a document's bytes are planned for one
 * write. Layout (one key per line):
 *
 *   ['index', docId]                       CBOR { v: 1, h: heads as 32-byte hashes }: the start-up index
 *   ['doc', docId, 'snapshot']             Automerge.save() of the document, or, until its first
 *                                          compaction, the changes of its first write, concatenated
 *   ['doc', docId, 'chunk', <12 digits>]   changes since the snapshot (saveSince), in write order
 *
 * The index is what open() reads: ids and heads only, a few dozen bytes per document, so start-up
 * does not load 10,000 documents. The index entry and the document bytes are always written in the
 * same batch, so they cannot disagree after a crash. Stores written before the actor id was drawn
 * at each open also hold ['meta', 'actor'], which nothing reads.
 */
import * as Automerge from '@automerge/automerge';
import { decode, encode } from 'cborg';
import { Buffer } from 'node:buffer';
import { CheopsError, ErrorCode } from '../core/errors.js';
import type { DocumentId } from '../core/ids.js';
import type { StorageEntry, StorageKey, StorageOperation } from './storage.js';

export const indexPrefix: StorageKey = ['index'];

export const indexKey = (docId: DocumentId): StorageKey => ['index', docId];
export const documentPrefix = (docId: DocumentId): StorageKey => ['doc', docId];
export const snapshotKey = (docId: DocumentId): StorageKey => ['doc', docId, 'snapshot'];
/** Zero-padded so that chunks list in write order. */
export const chunkKey = (docId: DocumentId, sequence: number): StorageKey => [
  'doc',
  docId,
  'chunk',
  String(sequence).padStart(12, '0'),
];

const indexVersion = 1;

export function encodeIndexRecord(heads: readonly string[]): Uint8Array {
  return encode({ v: indexVersion, h: heads.map((head) => Uint8Array.from(Buffer.from(head, 'hex'))) });
}

/** The heads in an index record; CHEOPS_STORAGE_FAILURE when the record is not one. */
export function decodeIndexRecord(docId: string, bytes: Uint8Array): string[] {
  let record: unknown;
  try {
    record = decode(bytes);
  } catch (error) {
    throw corrupt(docId, 'its index record is not CBOR', error);
  }
  if (typeof record !== 'object' || record === null || !('v' in record) || !('h' in record)) {
    throw corrupt(docId, 'its index record has no version or heads');
  }
  if (record.v !== indexVersion) throw corrupt(docId, `its index record has version ${String(record.v)}`);
  const heads = record.h;
  if (!Array.isArray(heads) || !heads.every((head) => head instanceof Uint8Array && head.length === 32)) {
    throw corrupt(docId, 'its index record has malformed heads');
  }
  return heads.map((head: Uint8Array) => Buffer.from(head).toString('hex'));
}

/** What is stored for one document, from `storage.list(documentPrefix(docId))`. */
export interface StoredDocument {
  readonly snapshot: Uint8Array;
  /** Chunk sequence numbers, ascending, and their bytes in the same order. */
  readonly chunkSequences: number[];
  readonly chunks: Uint8Array[];
}

export function parseStoredDocument(docId: DocumentId, entries: readonly StorageEntry[]): StoredDocument {
  let snapshot: Uint8Array | undefined;
  const chunkSequences: number[] = [];
  const chunks: Uint8Array[] = [];
  for (const { key, value } of entries) {
    if (key.length === 3 && key[2] === 'snapshot') {
      snapshot = value;
    } else if (key.length === 4 && key[2] === 'chunk' && /^\d{12}$/.test(key[3] ?? '')) {
      chunkSequences.push(Number(key[3]));
      chunks.push(value);
    } else {
      throw corrupt(docId, `unexpected key ${JSON.stringify(key)}`);
    }
  }
  if (snapshot === undefined) throw corrupt(docId, 'its snapshot is missing');
  return { snapshot, chunkSequences, chunks };
}

/** Loads a stored document: the snapshot and its chunks in one `load` call. */
export function loadStoredDocument<T>(docId: DocumentId, stored: StoredDocument, actor: string): Automerge.Doc<T> {
  const parts = [stored.snapshot, ...stored.chunks];
  const bytes = parts.length === 1 ? stored.snapshot : Buffer.concat(parts);
  try {
    return Automerge.load<T>(bytes, { actor });
  } catch (error) {
    throw corrupt(docId, 'Automerge cannot load it', error);
  }
}

/** What a document's write will change in storage, and its state once the write is done. */
export interface WritePlan {
  readonly operations: StorageOperation[];
  readonly heads: string[];
  readonly chunkSequences: number[];
  readonly nextChunkSequence: number;
}

export interface WriteState {
  readonly docId: DocumentId;
  readonly doc: Automerge.Doc<unknown>;
  /** Heads in storage; meaningful only when `stored`. */
  readonly persistedHeads: readonly string[];
  readonly stored: boolean;
  readonly chunkSequences: readonly number[];
  readonly nextChunkSequence: number;
}

/**
 * Plans the write that brings storage up to `state.doc`: nothing when it is already there; for a
 * new document, `firstChanges` (every change it holds, encoded: Automerge.load takes concatenated
 * changes, in any order) as its snapshot; a new snapshot (dropping the chunks) once
 * `compactAfterChunks` chunks have piled up; otherwise one chunk with the changes since the stored
 * heads. A new document's first write does not `save()`: compressing it cost ~4.6 ms per document
 * at a heal, where thousands of documents arrive at once, and the changes are at hand already. `saveSince` with the
 * stored heads is used instead of `saveIncremental`, whose hidden cursor starts at zero after a
 * `load` (it would rewrite the whole document) and moves even when the write then fails.
 */
export function planWrite(state: WriteState, compactAfterChunks: number, firstChanges: readonly Uint8Array[] = []): WritePlan {
  const heads = Automerge.getHeads(state.doc);
  const unchanged = {
    operations: [],
    heads,
    chunkSequences: [...state.chunkSequences],
    nextChunkSequence: state.nextChunkSequence,
  };
  if (state.stored && sameHeads(heads, state.persistedHeads)) return unchanged;
  const index: StorageOperation = { type: 'put', key: indexKey(state.docId), value: encodeIndexRecord(heads) };
  if (!state.stored && firstChanges.length > 0) {
    const value = firstChanges.length === 1 ? firstChanges[0]! : Uint8Array.from(Buffer.concat(firstChanges));
    return { operations: [{ type: 'put', key: snapshotKey(state.docId), value }, index], heads, chunkSequences: [], nextChunkSequence: state.nextChunkSequence };
  }
  if (!state.stored || state.chunkSequences.length >= compactAfterChunks) {
    const operations: StorageOperation[] = [
      { type: 'put', key: snapshotKey(state.docId), value: Automerge.save(state.doc) },
      ...state.chunkSequences.map((sequence) => ({ type: 'del' as const, key: chunkKey(state.docId, sequence) })),
      index,
    ];
    return { operations, heads, chunkSequences: [], nextChunkSequence: state.nextChunkSequence };
  }
  const sequence = state.nextChunkSequence;
  const chunk = Automerge.saveSince(state.doc, [...state.persistedHeads]);
  return {
    operations: [{ type: 'put', key: chunkKey(state.docId, sequence), value: chunk }, index],
    heads,
    chunkSequences: [...state.chunkSequences, sequence],
    nextChunkSequence: sequence + 1,
  };
}

/** The operations that remove a stored document entirely. */
export function deleteOperations(docId: DocumentId, chunkSequences: readonly number[]): StorageOperation[] {
  return [
    { type: 'del', key: snapshotKey(docId) },
    ...chunkSequences.map((sequence) => ({ type: 'del' as const, key: chunkKey(docId, sequence) })),
    { type: 'del', key: indexKey(docId) },
  ];
}

export function sameHeads(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sortedB = [...b].sort();
  return [...a].sort().every((head, index) => head === sortedB[index]);
}

function corrupt(docId: string, reason: string, cause?: unknown): CheopsError {
  return new CheopsError(ErrorCode.StorageFailure, `stored document ${docId} is damaged: ${reason}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { docId },
  });
}
