import { decode, encode } from 'cborg';
import { describe, expect, it } from 'vitest';
import { asDocumentId } from '../core/ids.js';
import { decodePushMessage, decodeSyncChannelMessage, encodePushMessage, encodeSyncChannelMessage, maxBatchedSyncMessages } from './sync-messages.js';

describe('sync channel messages', () => {
  it('carries the sync messages of several documents in one `syncs` message', () => {
    const items = [
      { doc: asDocumentId('res/a'), data: new Uint8Array([0x42, 1]) },
      { doc: asDocumentId('res/b'), data: new Uint8Array([0x42, 2, 3]) },
    ];
    expect(decodeSyncChannelMessage(encodeSyncChannelMessage({ type: 'syncs', v: 1, items }))).toEqual({ ok: true, value: { type: 'syncs', v: 1, items } });
  });

  it('refuses a `syncs` message that is empty, too long, or names a bad document', () => {
    const item = ['res/a', new Uint8Array([1])];
    for (const items of [[], Array.from({ length: maxBatchedSyncMessages + 1 }, () => item), [['../etc', new Uint8Array([1])]], [['res/a', 'text']]]) {
      expect(decodeSyncChannelMessage(encode({ type: 'syncs', v: 1, items })).ok).toBe(false);
    }
  });

  it('marks the first message of a new session as fresh, alone or in a batch, and only with true', () => {
    const data = new Uint8Array([0x42, 1]);
    const single = { type: 'sync', v: 1, doc: asDocumentId('res/a'), data, fresh: true } as const;
    expect(decodeSyncChannelMessage(encodeSyncChannelMessage(single))).toEqual({ ok: true, value: single });
    const items = [{ doc: asDocumentId('res/a'), data, fresh: true as const }, { doc: asDocumentId('res/b'), data }];
    expect(decodeSyncChannelMessage(encodeSyncChannelMessage({ type: 'syncs', v: 1, items }))).toEqual({ ok: true, value: { type: 'syncs', v: 1, items } });
    expect(decodeSyncChannelMessage(encode({ type: 'sync', v: 1, doc: 'res/a', data, fresh: 1 })).ok).toBe(false);
    for (const fresh of [[1], [0, 0], [-1], ['0'], true]) {
      expect(decodeSyncChannelMessage(encode({ type: 'syncs', v: 1, items: [['res/a', data]], fresh })).ok).toBe(false);
    }
    // Apart from the items, which keep their stop 23 shape: a node that knows no `fresh` reads the rest.
    const encoded = encodeSyncChannelMessage({ type: 'syncs', v: 1, items });
    expect(decode(encoded)).toEqual({ type: 'syncs', v: 1, items: [['res/a', data], ['res/b', data]], fresh: [0] });
  });

  it('marks the messages of a complete summary, and only with a boolean', () => {
    const docs = [{ doc: asDocumentId('res/a'), heads: ['aa'.repeat(32)] }];
    for (const end of [true, false, undefined]) {
      const message = { type: 'heads' as const, v: 1 as const, docs, ...(end === undefined ? {} : { end }) };
      expect(decodeSyncChannelMessage(encodeSyncChannelMessage(message))).toEqual({ ok: true, value: message });
    }
    expect(decodeSyncChannelMessage(encode({ type: 'heads', v: 1, docs: [], end: 'yes' })).ok).toBe(false);
    // A summary that asks for the receiver's again (its sender started after they connected), and only with true.
    const asking = { type: 'heads' as const, v: 1 as const, docs: [], end: true, ask: true as const };
    expect(decodeSyncChannelMessage(encodeSyncChannelMessage(asking))).toEqual({ ok: true, value: asking });
    expect(decodeSyncChannelMessage(encode({ type: 'heads', v: 1, docs: [], end: true, ask: false })).ok).toBe(false);
  });

  it('marks a push to pass on, or as sent to every site of its document, and only with true', () => {
    const push = { type: 'push' as const, v: 1 as const, doc: asDocumentId('res/a'), heads: ['aa'.repeat(32)], changes: [new Uint8Array([1, 2])] };
    for (const message of [push, { ...push, relay: true as const }, { ...push, reachedAll: true as const }]) {
      expect(decodePushMessage(encodePushMessage(message))).toEqual({ ok: true, value: message });
    }
    for (const value of [false, 1, 'yes']) {
      expect(decodePushMessage(encode({ ...push, relay: value })).ok).toBe(false);
      expect(decodePushMessage(encode({ ...push, reachedAll: value })).ok).toBe(false);
    }
  });
});
