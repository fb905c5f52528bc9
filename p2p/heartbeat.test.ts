import { encode } from 'cborg';
import { describe, expect, it } from 'vitest';
import { decodeHeartbeatMessage, encodeHeartbeatMessage, heartbeatChannel } from './heartbeat-messages.js';
import { makeHeartbeatPair } from './testing/heartbeat-pair.js';
import { suppressedWarningsMessage } from './warning-limiter.js';

describe('Heartbeats', () => {
  it('marks a peer up on its first pong, then measures the RTT with a warm ping', async () => {
    const { clock, a, b, connect } = await makeHeartbeatPair();
    expect(a.heartbeats.peers()).toEqual([]);
    await connect();
    await clock.advance(39);
    expect(a.ups).toEqual([]);
    await clock.advance(1);
    // The first pong is cold (on a real transport it paid for the stream): up, but no RTT yet.
    expect(a.ups).toEqual([{ peer: b.transport.peerId, rttMs: undefined }]);
    expect(b.ups).toEqual([{ peer: a.transport.peerId, rttMs: undefined }]);
    expect(a.heartbeats.peer(b.transport.peerId)).toMatchObject({ state: 'up', rttMs: undefined, lastRttMs: 40 });
    await clock.advance(40);
    expect(a.heartbeats.peer(b.transport.peerId)).toMatchObject({ state: 'up', rttMs: 40, lastRttMs: 40 });
    await clock.advance(5_000);
    expect(a.ups).toHaveLength(1);
    expect(a.downs).toEqual([]);
  });

  it('marks a silent peer down within downAfterMs plus one interval, and up again when it answers', async () => {
    const { clock, a, b, link, connect } = await makeHeartbeatPair();
    await connect();
    await clock.advance(100);
    link.cut = true;
    const cutAt = clock.now();
    await clock.advance(3_000);
    expect(a.downs).toEqual([]);
    await clock.advance(1_000);
    expect(a.downs).toEqual([{ peer: b.transport.peerId, rttMs: 40 }]);
    expect(a.heartbeats.peer(b.transport.peerId)).toMatchObject({ state: 'down' });
    expect(clock.now() - cutAt).toBeLessThanOrEqual(5_000);
    link.cut = false;
    await clock.advance(1_000);
    expect(a.ups).toHaveLength(2);
    expect(a.heartbeats.peer(b.transport.peerId)?.state).toBe('up');
  });

  it('marks a peer down at once when the transport disconnects, and up soon after a redial', async () => {
    const { clock, a, b, connect } = await makeHeartbeatPair();
    a.heartbeats.track(b.transport.peerId);
    b.heartbeats.track(a.transport.peerId);
    await connect();
    await clock.advance(100);
    await b.transport.hangUp(a.transport.peerId);
    expect(a.downs.map((event) => event.peer)).toEqual([b.transport.peerId]);
    expect(b.downs.map((event) => event.peer)).toEqual([a.transport.peerId]);
    await clock.advance(5_000);
    expect(a.downs).toHaveLength(1);
    await b.transport.dial('/memory/a');
    await clock.advance(40);
    expect(a.ups).toHaveLength(2);
    expect(b.ups).toHaveLength(2);
  });

  it('drops malformed heartbeats and forged pongs, counting each and logging them within limits', async () => {
    const { clock, a, b, connect } = await makeHeartbeatPair();
    await connect();
    await clock.advance(100);
    const garbage = [
      new Uint8Array([1, 2, 3]),
      new Uint8Array(0),
      encode({ type: 'ping', v: 1, seq: -1, sentAt: 0 }),
      encode({ type: 'pong', v: 9, seq: 1, sentAt: 0 }),
      encode({ type: 'hello', v: 1 }),
      encode({ type: 'ping', v: 1, seq: 'x', sentAt: 0 }),
      encode({ type: 'ping', v: 1, seq: 1, sentAt: 0, reply: 'yes' }),
      encode({ type: 'ping', v: 1, seq: 1, sentAt: 0, reply: false, echoSeq: 0 }),
      encode({ type: 'ping', v: 1, seq: 1, sentAt: 0, reply: false, echoSeq: 0, echoHeldMs: -5 }),
      encode('ping'),
    ];
    for (const bytes of garbage) await b.transport.send(a.transport.peerId, heartbeatChannel, bytes);
    await b.transport.send(
      a.transport.peerId,
      heartbeatChannel,
      encodeHeartbeatMessage({ type: 'pong', v: 1, seq: 123_456, sentAt: clock.now() }),
    );
    await clock.advance(100);
    expect(a.logger.find('dropped a malformed heartbeat')).toHaveLength(garbage.length);
    expect(a.heartbeats.stats().malformed).toBe(garbage.length);
    expect(a.logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
    expect(a.heartbeats.peer(b.transport.peerId)).toMatchObject({ state: 'up', rttMs: 40 });

    // A flood: every one counted, ten warnings a minute, then one summary.
    for (let index = 0; index < 500; index += 1) {
      await b.transport.send(a.transport.peerId, heartbeatChannel, new Uint8Array([index & 0xff]));
    }
    await clock.advance(100);
    expect(a.heartbeats.stats().malformed).toBe(garbage.length + 500);
    expect(a.logger.find('dropped a malformed heartbeat')).toHaveLength(10);
    await clock.advance(60_000);
    expect(a.logger.find(suppressedWarningsMessage)).toMatchObject([
      { fields: { peer: b.transport.peerId, suppressed: garbage.length + 500 - 10 } },
    ]);
    expect(a.heartbeats.peer(b.transport.peerId)?.state).toBe('up');
  });

  it('lists tracked peers as down until they answer, and stops cleanly', async () => {
    const { clock, a, b } = await makeHeartbeatPair();
    a.heartbeats.track(b.transport.peerId);
    expect(a.heartbeats.peers()).toMatchObject([{ peer: b.transport.peerId, state: 'down', rttMs: undefined }]);
    a.heartbeats.stop();
    b.heartbeats.stop();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('forgets a peer it does not track once it disconnects, and keeps a tracked one', async () => {
    const { clock, a, b, connect } = await makeHeartbeatPair();
    await connect();
    await clock.advance(100);
    expect(a.heartbeats.peers()).toHaveLength(1);
    expect(b.heartbeats.peers()).toHaveLength(1);
    b.heartbeats.track(a.transport.peerId);
    await a.transport.hangUp(b.transport.peerId);
    expect(a.downs).toHaveLength(1);
    expect(a.heartbeats.peers()).toEqual([]);
    expect(b.heartbeats.peers()).toMatchObject([{ peer: a.transport.peerId, state: 'down' }]);
    b.heartbeats.untrack(a.transport.peerId);
    expect(b.heartbeats.peers()).toEqual([]);
    // A disconnect missed while stopped is caught by the next tick.
    await connect();
    await clock.advance(100);
    a.heartbeats.stop();
    await a.transport.hangUp(b.transport.peerId);
    a.heartbeats.start();
    expect(a.heartbeats.peers()).toEqual([]);
  });

  it('does not queue pings and pongs without bound behind a peer that stopped reading', async () => {
    // Kept connected throughout: here the queue is what is tested, not the hang-up.
    const { clock, a, b, connect } = await makeHeartbeatPair({ hangUpAfterMs: 120_000 });
    await connect();
    await clock.advance(100);
    const pending: number[] = [];
    // A stream the peer no longer reads: sends are never accepted.
    a.transport.send = () => {
      pending.push(clock.now());
      return new Promise<void>(() => undefined);
    };
    await clock.advance(60_000);
    expect(pending.length).toBe(8);
    expect(a.heartbeats.stats().skippedSends).toBeGreaterThan(40);
    expect(a.heartbeats.peer(b.transport.peerId)?.state).toBe('down');
    // Its pings ask for pongs too: they are bounded by the same cap.
    for (let seq = 0; seq < 100; seq += 1) {
      await b.transport.send(
        a.transport.peerId,
        heartbeatChannel,
        encodeHeartbeatMessage({ type: 'ping', v: 1, seq, sentAt: 0 }),
      );
    }
    await clock.advance(100);
    expect(pending.length).toBe(8);
  });

  it('sends one message per interval each way once warm: a ping that also answers the last one', async () => {
    const { clock, a, b, connect } = await makeHeartbeatPair();
    await connect();
    await clock.advance(2_100);
    const sent = { a: [] as string[], b: [] as string[] };
    for (const [name, node] of [['a', a], ['b', b]] as const) {
      const send = node.transport.send.bind(node.transport);
      node.transport.send = (peer, channel, data, signal) => {
        const decoded = decodeHeartbeatMessage(data);
        if (channel === heartbeatChannel && decoded.ok) sent[name].push(decoded.value.type);
        return send(peer, channel, data, signal);
      };
    }
    await clock.advance(10_000);
    expect(sent.a).toEqual(Array(10).fill('ping'));
    expect(sent.b).toEqual(Array(10).fill('ping'));
    // Each ping was answered one interval later, and the time it was held is not part of the RTT.
    expect(a.heartbeats.peer(b.transport.peerId)).toMatchObject({ state: 'up', rttMs: 40, lastRttMs: 40 });
    expect(b.heartbeats.peer(a.transport.peerId)).toMatchObject({ state: 'up', rttMs: 40, lastRttMs: 40 });
    expect(a.downs).toEqual([]);
  });

  it("answers at once a ping that asks, or an older site's ping, and never counts a held time past the elapsed one", async () => {
    const { clock, a, b, connect } = await makeHeartbeatPair();
    await connect();
    await clock.advance(2_100);
    const pongs: number[] = [];
    b.transport.on('message', (event) => {
      const decoded = decodeHeartbeatMessage(event.data);
      if (event.channel === heartbeatChannel && decoded.ok && decoded.value.type === 'pong') pongs.push(decoded.value.seq);
    });
    await b.transport.send(a.transport.peerId, heartbeatChannel, encode({ type: 'ping', v: 1, seq: 900, sentAt: 0 }));
    await b.transport.send(a.transport.peerId, heartbeatChannel, encodeHeartbeatMessage({ type: 'ping', v: 1, seq: 901, sentAt: 0, reply: true }));
    await clock.advance(40);
    expect(pongs).toEqual([900, 901]);
    // A held time longer than the round trip itself: the sample is 0, not negative.
    await clock.advance(920); // a's ping of 3,000 is its fifth (0, the warm-up at 40, 1,000, 2,000): seq 4
    await b.transport.send(
      a.transport.peerId,
      heartbeatChannel,
      encodeHeartbeatMessage({ type: 'ping', v: 1, seq: 902, sentAt: 0, reply: false, echoSeq: 4, echoHeldMs: 10_000 }),
    );
    await clock.advance(30);
    expect(a.heartbeats.peer(b.transport.peerId)?.lastRttMs).toBe(0);
  });

  it('closes a connection that has not answered for hangUpAfterMs, once, so that it can be dialled again', async () => {
    const { clock, a, b, link, connect } = await makeHeartbeatPair();
    await connect();
    await clock.advance(100);
    link.cut = true; // a black-holed link: the connection stays open, nothing crosses
    await clock.advance(9_000);
    expect(a.transport.connectedPeers()).toEqual([b.transport.peerId]);
    expect(a.downs).toHaveLength(1);
    await clock.advance(2_000);
    expect(a.transport.connectedPeers()).toEqual([]);
    expect(a.logger.find('closing a connection that has not answered a ping')).toHaveLength(1);
    // Dialled again once the link is back: up within a round trip.
    link.cut = false;
    await connect();
    await clock.advance(40);
    expect(a.heartbeats.peer(b.transport.peerId)?.state).toBe('up');
    await clock.advance(30_000);
    expect(a.transport.connectedPeers()).toEqual([b.transport.peerId]);
  });
});
