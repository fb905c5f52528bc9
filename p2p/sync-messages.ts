/**
 * Wire messages of document sync, CBOR-encoded `{ type, v, … }` unions.
 * Direct messages on the `sync` channel: `sync` (one Automerge sync message for one document),
 * `syncs` (several of those in one message), `heads` (a summary of heads per document, for
 * anti-entropy), `want` (documents a summary named that the sender holds none of) and `docs`
 * (the answer: those documents whole, as their changes; also the changes a site held back while
 * busy). A `push` (the encoded changes of
 * one small local change) travels as a direct message on the `push` channel when the document is
 * shared with a set of peers, and as gossip on the broadcast topic when it is shared with all.
 */
import type { DocumentId } from '../core/ids.js';
import {
  decodeCborRecord,
  decoded,
  encodeCbor,
  field,
  isBytes,
  isDocumentIdValue,
  isHeads,
  malformed,
  messageTag,
  type DecodeResult,
} from './wire.js';

/** The direct channel of document sync. */
export const syncChannel = 'sync';

/**
 * The direct channel of pushes of documents shared with a set of peers. Direct, not gossip:
 * gossipsub does not check who subscribes to a topic, so anything published there may reach any
 * site that asks for it; a direct message reaches the one peer it is sent to.
 */
export const pushChannel = 'push';

/**
 * The one gossip topic every site subscribes to. Only pushes of documents shared with every site
 * (`'all'`, the site directory) are published there: every subscriber may see them anyway.
 */
export const broadcastTopic = 'cheops/v1/broadcast';

/** Most documents listed in one `heads` message (a summary is sent in batches of this size). */
export const maxSummaryEntries = 1000;
/** Most sync messages in one `syncs` message. */
export const maxBatchedSyncMessages = 1000;
/** Most changes in one push. */
export const maxPushChanges = 1000;

/** One Automerge sync message for one document. */
export interface SyncMessage {
  readonly type: 'sync';
  readonly v: 1;
  readonly doc: DocumentId;
  readonly data: Uint8Array;
  /**
   * The first message of a new session at the sender (it kept no sync state for the document):
   * the receiver starts afresh too. Its own state may believe changes reached the sender that the
   * sender no longer holds (a write that failed after they were received), and Automerge never
   * sends again what its state says it sent: the difference would stay until a reconnection.
   */
  readonly fresh?: true;
}

/**
 * Sync messages of several documents in one message: a heal syncs thousands of documents at once,
 * and one frame each cost a yamux frame, a window update back, a noise encryption and a socket
 * write per document (a third of a site's CPU at a heal).
 */
export interface SyncBatchMessage {
  readonly type: 'syncs';
  readonly v: 1;
  readonly items: ReadonlyArray<SyncItem>;
}

/** One document's message in a `syncs` message (`fresh`: as SyncMessage's). */
export interface SyncItem {
  readonly doc: DocumentId;
  readonly data: Uint8Array;
  readonly fresh?: true;
}

/** The heads of one document as the sender has it. */
export interface HeadsEntry {
  readonly doc: DocumentId;
  readonly heads: readonly string[];
}

/** A summary of heads: the receiver runs the sync protocol for the documents that differ. */
export interface HeadsMessage {
  readonly type: 'heads';
  readonly v: 1;
  readonly docs: readonly HeadsEntry[];
  /**
   * Present on each message of a complete summary (one that names every document the sender
   * holds and shares with the receiver), true on its last. Once it has one, the receiver sends
   * at once, whole, the documents it holds that the summary left out, and the sender, knowing it
   * will, asks for none of the documents it lacks. Absent (a digest, or an older site): what the
   * sender lacks it asks for (`want`).
   */
  readonly end?: boolean;
  /**
   * True on a complete summary sent by a document sync that started while already connected to
   * the receiver (a restarted site, dialled by its peers while it opened its store): the summary
   * the receiver sent at that connection may have come before anything listened, so it sends one
   * again. Without it, the restarted site never learnt what its peers lacked, and what it had made
   * while cut off waited for anti-entropy (swarm seed 5200008). An older site ignores it.
   */
  readonly ask?: true;
}

/**
 * Documents a summary named that the sender holds none of. A document the receiver lacks entirely
 * needs no sync protocol (rounds of heads and bloom filters, a sync state per document at both
 * ends): the holder answers with all its changes (`docs`), and a heal of thousands of new
 * documents is one round trip of a few large messages.
 */
export interface WantMessage {
  readonly type: 'want';
  readonly v: 1;
  readonly docs: readonly DocumentId[];
}

/**
 * Changes of several documents, each item taken in as a push: whole documents, as the changes the
 * sender has stored (the answer to a `want`), or the background changes it held (background-hold.ts).
 */
export interface DocumentsMessage {
  readonly type: 'docs';
  readonly v: 1;
  readonly items: ReadonlyArray<{ readonly doc: DocumentId; readonly heads: readonly string[]; readonly changes: readonly Uint8Array[] }>;
}

export type SyncChannelMessage = SyncMessage | SyncBatchMessage | HeadsMessage | WantMessage | DocumentsMessage;

/** A small local change, pushed at once to the sites that share its document. */
export interface PushMessage {
  readonly type: 'push';
  readonly v: 1;
  readonly doc: DocumentId;
  /** The sender's heads after the change. */
  readonly heads: readonly string[];
  readonly changes: readonly Uint8Array[];
  /**
   * The change went to the receiver alone (its audience): the receiver passes it on to the other
   * peers that share the document, with its next digest. Absent on everything passed on.
   */
  readonly relay?: true;
  /**
   * The sender sends these changes, or a digest of the document, to every other site that shares
   * the document (it is connected to all of them): the receiver need not announce them to those
   * sites itself (DocSync.onDocumentChanged).
   */
  readonly reachedAll?: true;
}

export function encodeSyncChannelMessage(message: SyncChannelMessage): Uint8Array {
  if (message.type === 'sync') return encodeCbor(message);
  if (message.type === 'syncs') {
    // Which items are fresh, apart: a node that does not know the field ignores it (and starts no
    // session afresh, as before it existed), where a third element in an item it would refuse.
    const fresh = message.items.flatMap((item, index) => (item.fresh === true ? [index] : []));
    return encodeCbor({ type: 'syncs', v: 1, items: message.items.map((item) => [item.doc, item.data]), ...(fresh.length === 0 ? {} : { fresh }) });
  }
  if (message.type === 'want') return encodeCbor({ type: 'want', v: 1, docs: [...message.docs] });
  if (message.type === 'docs') {
    return encodeCbor({ type: 'docs', v: 1, items: message.items.map((item) => [item.doc, [...item.heads], [...item.changes]]) });
  }
  return encodeCbor({
    type: 'heads', v: 1, docs: message.docs.map((entry) => [entry.doc, [...entry.heads]]), ...(message.end === undefined ? {} : { end: message.end }), ...(message.ask === true ? { ask: true } : {}),
  });
}

export function encodePushMessage(message: PushMessage): Uint8Array {
  return encodeCbor({ ...message, heads: [...message.heads], changes: [...message.changes] });
}

function decodeHeadsEntries(value: unknown): DecodeResult<HeadsEntry[]> {
  if (!Array.isArray(value) || value.length > maxSummaryEntries) return malformed('bad docs list');
  const entries: HeadsEntry[] = [];
  for (const item of value as unknown[]) {
    if (!Array.isArray(item) || item.length !== 2) return malformed('bad heads entry');
    const [doc, heads] = item as unknown[];
    if (!isDocumentIdValue(doc)) return malformed('bad document id');
    if (!isHeads(heads)) return malformed('bad heads');
    entries.push({ doc, heads });
  }
  return decoded(entries);
}

function decodeSyncItems(value: unknown, freshValue: unknown): DecodeResult<SyncItem[]> {
  if (!Array.isArray(value) || value.length === 0 || value.length > maxBatchedSyncMessages) return malformed('bad sync items');
  const fresh = decodeFreshIndexes(freshValue, value.length);
  if (fresh === undefined) return malformed('bad sync freshness');
  const items: SyncItem[] = [];
  for (const [index, item] of (value as unknown[]).entries()) {
    if (!Array.isArray(item) || item.length !== 2) return malformed('bad sync item');
    const [doc, data] = item as unknown[];
    if (!isDocumentIdValue(doc)) return malformed('bad document id');
    if (!isBytes(data)) return malformed('bad sync data');
    items.push(fresh.has(index) ? { doc, data, fresh: true } : { doc, data });
  }
  return decoded(items);
}

/** The indexes of a `syncs` message's fresh items: none when absent, undefined when malformed. */
function decodeFreshIndexes(value: unknown, count: number): ReadonlySet<number> | undefined {
  if (value === undefined) return new Set();
  if (!Array.isArray(value) || value.length > count) return undefined;
  const indexes = new Set<number>();
  for (const index of value as unknown[]) {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count || indexes.has(index)) return undefined;
    indexes.add(index);
  }
  return indexes;
}

function decodeWanted(value: unknown): DecodeResult<DocumentId[]> {
  if (!Array.isArray(value) || value.length === 0 || value.length > maxSummaryEntries) return malformed('bad wanted list');
  if (!(value as unknown[]).every(isDocumentIdValue)) return malformed('bad document id');
  return decoded(value as DocumentId[]);
}

type DocumentItem = DocumentsMessage['items'][number];

function decodeDocumentItems(value: unknown): DecodeResult<DocumentItem[]> {
  if (!Array.isArray(value) || value.length === 0 || value.length > maxBatchedSyncMessages) return malformed('bad documents');
  const items: DocumentItem[] = [];
  for (const item of value as unknown[]) {
    if (!Array.isArray(item) || item.length !== 3) return malformed('bad document item');
    const [doc, heads, changes] = item as unknown[];
    if (!isDocumentIdValue(doc)) return malformed('bad document id');
    if (!isHeads(heads)) return malformed('bad heads');
    if (!Array.isArray(changes) || changes.length === 0 || changes.length > maxPushChanges || !changes.every(isBytes)) {
      return malformed('bad changes list');
    }
    items.push({ doc, heads, changes });
  }
  return decoded(items);
}

/** Decodes a message of the `sync` channel. */
export function decodeSyncChannelMessage(bytes: Uint8Array): DecodeResult<SyncChannelMessage> {
  const record = decodeCborRecord(bytes);
  if (!record.ok) return record;
  const tag = messageTag(record.value);
  if (!tag.ok) return tag;
  if (tag.value.v !== 1) return malformed(`unsupported version ${tag.value.v}`);
  if (tag.value.type === 'sync') {
    const doc = field(record.value, 'doc');
    const data = field(record.value, 'data');
    const fresh = field(record.value, 'fresh');
    if (!isDocumentIdValue(doc)) return malformed('bad document id');
    if (!isBytes(data)) return malformed('bad sync data');
    if (fresh !== undefined && fresh !== true) return malformed('bad sync freshness');
    return decoded({ type: 'sync', v: 1, doc, data, ...(fresh === true ? { fresh } : {}) });
  }
  if (tag.value.type === 'syncs') {
    const items = decodeSyncItems(field(record.value, 'items'), field(record.value, 'fresh'));
    if (!items.ok) return items;
    return decoded({ type: 'syncs', v: 1, items: items.value });
  }
  if (tag.value.type === 'want') {
    const docs = decodeWanted(field(record.value, 'docs'));
    if (!docs.ok) return docs;
    return decoded({ type: 'want', v: 1, docs: docs.value });
  }
  if (tag.value.type === 'docs') {
    const items = decodeDocumentItems(field(record.value, 'items'));
    if (!items.ok) return items;
    return decoded({ type: 'docs', v: 1, items: items.value });
  }
  if (tag.value.type === 'heads') {
    const docs = decodeHeadsEntries(field(record.value, 'docs'));
    if (!docs.ok) return docs;
    const end = field(record.value, 'end');
    if (end !== undefined && typeof end !== 'boolean') return malformed('bad end');
    const ask = field(record.value, 'ask');
    if (ask !== undefined && ask !== true) return malformed('bad ask');
    return decoded({ type: 'heads', v: 1, docs: docs.value, ...(end === undefined ? {} : { end }), ...(ask === true ? { ask } : {}) });
  }
  return malformed(`unknown type ${JSON.stringify(tag.value.type)}`);
}

/** Decodes a push (from the `push` channel or the broadcast topic). */
export function decodePushMessage(bytes: Uint8Array): DecodeResult<PushMessage> {
  const record = decodeCborRecord(bytes);
  if (!record.ok) return record;
  const tag = messageTag(record.value);
  if (!tag.ok) return tag;
  if (tag.value.type !== 'push') return malformed(`unknown type ${JSON.stringify(tag.value.type)}`);
  if (tag.value.v !== 1) return malformed(`unsupported version ${tag.value.v}`);
  const doc = field(record.value, 'doc');
  const heads = field(record.value, 'heads');
  const changes = field(record.value, 'changes');
  if (!isDocumentIdValue(doc)) return malformed('bad document id');
  if (!isHeads(heads)) return malformed('bad heads');
  if (!Array.isArray(changes) || changes.length === 0 || changes.length > maxPushChanges) {
    return malformed('bad changes list');
  }
  if (!changes.every(isBytes)) return malformed('bad change');
  const relay = field(record.value, 'relay');
  if (relay !== undefined && relay !== true) return malformed('bad relay');
  const reachedAll = field(record.value, 'reachedAll');
  if (reachedAll !== undefined && reachedAll !== true) return malformed('bad reachedAll');
  return decoded({ type: 'push', v: 1, doc, heads, changes, ...(relay === true ? { relay } : {}), ...(reachedAll === true ? { reachedAll } : {}) });
}
