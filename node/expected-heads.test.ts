import { describe, expect, it } from 'vitest';
import type { DocumentId } from '../core/ids.js';
import type { DocumentChangedEvent, DocumentListener } from '../crdt/documents.js';
import { ExpectedHeads } from './expected-heads.js';

const a = 'res/a' as DocumentId;
const b = 'res/b' as DocumentId;
const hash = (digit: string): string => digit.repeat(64);

function fakeDocuments(stored: Record<string, string[]>) {
  const listeners = new Set<DocumentListener>();
  return {
    heads: (doc: DocumentId) => stored[doc],
    onChange(listener: DocumentListener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(docId: DocumentId, heads: string[]) {
      const event: DocumentChangedEvent = { docId, heads, changes: [], origin: 'remote' };
      for (const listener of [...listeners]) listener(event);
    },
    listenerCount: () => listeners.size,
  };
}

describe('ExpectedHeads', () => {
  it('counts a document held once every expected hash was a written head, and notes when the last one arrived', () => {
    let now = 1_000;
    const documents = fakeDocuments({ [a]: [hash('1')] });
    const expected = new ExpectedHeads({ documents, clock: { now: () => now, setTimeout: () => ({ cancel() {} }), setInterval: () => ({ cancel() {} }) } });
    expected.expect(new Map([[a, [hash('1')]], [b, [hash('2'), hash('3')]]]));
    expect(expected.status()).toEqual({ expected: 2, held: 1, firstHeldAtMs: null, completedAtMs: null });

    now = 2_000;
    documents.emit(b, [hash('2')]);
    expect(expected.status()).toEqual({ expected: 2, held: 1, firstHeldAtMs: null, completedAtMs: null });

    now = 3_000;
    documents.emit(b, [hash('3'), hash('4')]);
    expect(expected.status()).toEqual({ expected: 2, held: 2, firstHeldAtMs: 3_000, completedAtMs: 3_000 });
    expect(documents.listenerCount()).toBe(0);

    now = 4_000;
    documents.emit(b, [hash('5')]);
    expect(expected.status().completedAtMs).toBe(3_000);
  });

  it('is complete at once when the store already holds everything', () => {
    const documents = fakeDocuments({ [a]: [hash('1'), hash('2')] });
    const expected = new ExpectedHeads({ documents, clock: { now: () => 7, setTimeout: () => ({ cancel() {} }), setInterval: () => ({ cancel() {} }) } });
    expected.expect(new Map([[a, [hash('2')]]]));
    expect(expected.status()).toEqual({ expected: 1, held: 1, firstHeldAtMs: null, completedAtMs: 7 });
    expect(documents.listenerCount()).toBe(0);
  });
});
