import { describe, expect, it } from 'vitest';
import { asDocumentId, asPeerIdString } from '../core/ids.js';
import { LostWrites } from './lost-writes.js';
import { ManualClock } from './testing/manual-clock.js';

const peer = asPeerIdString('peer-a');
const doc = asDocumentId('res/a');

function setup(held: Set<string> = new Set()): { lost: LostWrites; clock: ManualClock; pulls: string[]; connected: Set<string> } {
  const clock = new ManualClock();
  const pulls: string[] = [];
  const connected = new Set<string>([peer]);
  const lacks = (_doc: unknown, heads: readonly string[]): Promise<boolean> => Promise.resolve(heads.some((head) => !held.has(head)));
  const lost = new LostWrites(clock, (from, document) => pulls.push(`${from} ${document}`), (from) => connected.has(from), lacks);
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

  it('pulls again, after the next backoff step, while the writes that went through leave out what a lost push announced', async () => {
    // The peer answered the first pull from its stored state: its pushed change was not durable yet.
    const held = new Set<string>();
    const { lost, clock, pulls } = setup(held);
    lost.failed(peer, doc, ['h2']);
    await clock.advance(1_000);
    expect(pulls).toHaveLength(1);
    lost.written(peer, doc);
    await clock.advance(0);
    expect(lost.size).toBe(1);
    await clock.advance(1_999);
    expect(pulls).toHaveLength(1);
    await clock.advance(1);
    expect(pulls).toHaveLength(2);
    // Brought this time: forgotten.
    held.add('h2');
    lost.written(peer, doc);
    await clock.advance(0);
    expect(lost.size).toBe(0);
    await clock.advance(60_000);
    expect(pulls).toHaveLength(2);
  });

  it('leaves heads a peer never brings to anti-entropy after six pulls', async () => {
    const { lost, clock, pulls } = setup();
    lost.failed(peer, doc, ['gone']);
    for (let step = 0; step < 10; step += 1) {
      await clock.advance(30_000);
      lost.written(peer, doc);
      await clock.advance(0);
    }
    expect([pulls.length, lost.size]).toEqual([6, 0]);
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
