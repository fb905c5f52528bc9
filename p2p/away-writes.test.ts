import { describe, expect, it } from 'vitest';
import { asPeerIdString, type DocumentId } from '../core/ids.js';
import { AwayWrites } from './away-writes.js';

const doc = (id: string): DocumentId => id as DocumentId;
const peerB = asPeerIdString('peer-b');
const peerC = asPeerIdString('peer-c');

function tracker(maxDocuments = 3, maxAwayMs = 1_000): { away: AwayWrites; clock: { t: number; now(): number } } {
  const clock = { t: 0, now() { return this.t; } };
  return { away: new AwayWrites({ maxDocuments, maxAwayMs }, clock), clock };
}

describe('AwayWrites', () => {
  it('keeps what was written while a peer was away, for that peer, once', () => {
    const { away } = tracker();
    away.changed(doc('res/before'));
    away.left(peerB);
    away.changed(doc('res/1'));
    away.changed(doc('res/1'));
    away.left(peerC);
    away.changed(doc('res/2'));
    expect(away.back(peerB)).toEqual(['res/1', 'res/2']);
    expect(away.back(peerB)).toEqual([]);
    expect(away.back(peerC)).toEqual(['res/2']);
    expect(away.peerCount).toBe(0);
  });

  it('keeps at most maxDocuments per peer; the summary brings the rest', () => {
    const { away } = tracker(2);
    away.left(peerB);
    for (const id of ['res/1', 'res/2', 'res/3']) away.changed(doc(id));
    expect(away.back(peerB)).toEqual(['res/1', 'res/2']);
  });

  it('forgets a peer away for longer than maxAwayMs', () => {
    const { away, clock } = tracker(10, 1_000);
    away.left(peerB);
    away.left(peerC);
    away.changed(doc('res/1'));
    clock.t = 1_500;
    expect(away.back(peerB)).toEqual([]);
    away.changed(doc('res/2'));
    expect(away.peerCount).toBe(0);
  });
});
