import { describe, expect, it } from 'vitest';
import { asDocumentId, asPeerIdString } from '../core/ids.js';
import { LostWrites } from './lost-writes.js';
import { ManualClock } from './testing/manual-clock.js';

const peer = asPeerIdString('peer-a');
const doc = asDocumentId('res/a');

function setup(): { lost: LostWrites; clock: ManualClock; pulls: string[]; connected: Set<string> } {
  const clock = new ManualClock();
  const pulls: string[] = [];
  const connected = new Set<string>([peer]);
  const lost = new LostWrites(clock, (from, document) => pulls.push(`${from} ${document}`), (from) => connected.has(from));
  return { lost, clock, pulls, connected };
}

describe('LostWrites', () => {
  it('pulls a document again a second after its write failed, then after a doubling backoff while writes keep failing', async () => {
    const { lost, clock, pulls } = setup();
    lost.failed(peer, doc);
    lost.failed(peer, doc);
    await clock.advance(999);
    expect(pulls).toEqual([]);
    await clock.advance(1);
    expect(pulls).toEqual([`${peer} ${doc}`]);
    lost.failed(peer, doc);
    await clock.advance(1_999);
    expect(pulls).toHaveLength(1);
    await clock.advance(1);
    expect(pulls).toHaveLength(2);
  });

  it('forgets a document once a write of it goes through, and starts the backoff over after that', async () => {
    const { lost, clock, pulls } = setup();
    lost.failed(peer, doc);
    await clock.advance(1_000);
    lost.written(peer, doc);
    expect(lost.size).toBe(0);
    lost.failed(peer, doc);
    await clock.advance(1_000);
    expect(pulls).toHaveLength(2);
  });

  it('pulls nothing from a peer that left, and keeps nothing for it', async () => {
    const { lost, clock, pulls, connected } = setup();
    lost.failed(peer, doc);
    connected.delete(peer);
    await clock.advance(1_000);
    expect([pulls, lost.size]).toEqual([[], 0]);
    lost.failed(peer, doc);
    lost.forgetPeer(peer);
    await clock.advance(60_000);
    expect([pulls, lost.size]).toEqual([[], 0]);
  });
});
