/** What a site passes on for its audience (DocPusher.relay), and the bound on it. */
import { describe, expect, it } from 'vitest';
import { asDocumentId, asPeerIdString, type DocumentId, type PeerIdString } from '../core/ids.js';
import { silentLogger } from '../core/logger.js';
import { DocPusher } from './doc-push.js';
import { decodePushMessage, type PushMessage } from './sync-messages.js';
import type { Transport } from './transport.js';
import { ManualClock } from './testing/manual-clock.js';

const heads = ['ab'.repeat(32)];
const change = (fill: number): Uint8Array => new Uint8Array(40).fill(fill);

function pusher(maxRelayBytesPerPeer: number): { pusher: DocPusher; clock: ManualClock; pushes: Array<[PeerIdString, PushMessage]>; digests: Array<[PeerIdString, DocumentId[]]> } {
  const clock = new ManualClock();
  const pushes: Array<[PeerIdString, PushMessage]> = [];
  const digests: Array<[PeerIdString, DocumentId[]]> = [];
  const transport = {
    send: (peer: PeerIdString, _channel: string, data: Uint8Array) => {
      const decoded = decodePushMessage(data);
      if (decoded.ok) pushes.push([peer, decoded.value]);
      return Promise.resolve();
    },
  } as Pick<Transport, 'send'> as Transport;
  const made = new DocPusher(
    { digestDelayMs: 1_000, maxPushesInFlight: 8, maxRelayBytesPerPeer },
    {
      transport, clock, logger: silentLogger, onPushSent: () => undefined, markDirty: () => undefined,
      sendDigest: (peer, docs) => digests.push([peer, docs]),
      heads: () => heads,
    },
  );
  return { pusher: made, clock, pushes, digests };
}

describe('DocPusher.relay', () => {
  const [b, c] = [asPeerIdString('peer-b'), asPeerIdString('peer-c')];
  const [doc1, doc2] = [asDocumentId('res/1'), asDocumentId('res/2')];

  it('passes on, with the digest, one push per peer and document carrying every change collected, not to be relayed again', async () => {
    const { pusher: relay, clock, pushes, digests } = pusher(1_000);
    relay.relay([b, c], doc1, [change(1)], true);
    relay.relay([b, c], doc1, [change(2)], true);
    expect(pushes).toHaveLength(0);
    await clock.advance(1_000);
    expect(pushes.map(([peer, message]) => [peer, message.doc, message.changes.length, message.relay, message.reachedAll])).toEqual([
      [b, doc1, 2, undefined, true],
      [c, doc1, 2, undefined, true],
    ]);
    expect(pushes[0]?.[1].heads).toEqual(heads);
    // In place of the document's heads: no digest names it.
    expect(digests).toEqual([]);
  });

  it('marks what it passes on as sent to every site only when every change of it could go to all of them', async () => {
    const { pusher: relay, clock, pushes } = pusher(1_000);
    relay.relay([b, c], doc1, [change(1)], true);
    relay.relay([b], doc1, [change(2)], false);
    relay.relay([b, c], doc2, [change(3)], true);
    await clock.advance(1_000);
    expect(pushes.map(([peer, message]) => [peer, message.doc, message.reachedAll])).toEqual([
      [b, doc1, undefined],
      [b, doc2, true],
      [c, doc1, undefined],
      [c, doc2, true],
    ]);
    // The next round starts afresh.
    relay.relay([b, c], doc1, [change(4)], true);
    await clock.advance(1_000);
    expect(pushes.slice(4).map(([peer, message]) => [peer, message.doc, message.reachedAll])).toEqual([
      [b, doc1, true],
      [c, doc1, true],
    ]);
  });

  it('past its bound for a peer, gives that peer the heads of what it could not carry instead', async () => {
    const { pusher: relay, clock, pushes, digests } = pusher(100);
    relay.relay([b], doc1, [change(1), change(2)], true);
    // 80 bytes held for b: 40 more would pass 100.
    relay.relay([b], doc2, [change(3)], true);
    await clock.advance(1_000);
    expect(pushes.map(([peer, message]) => [peer, message.doc, message.changes.length])).toEqual([[b, doc1, 2]]);
    expect(digests).toEqual([[b, [doc2]]]);
  });

  it('forgets what it held for a peer that left', async () => {
    const { pusher: relay, clock, pushes, digests } = pusher(1_000);
    relay.relay([b], doc1, [change(1)], true);
    relay.forgetPeer(b);
    await clock.advance(1_000);
    expect(pushes).toEqual([]);
    expect(digests).toEqual([]);
  });
});
