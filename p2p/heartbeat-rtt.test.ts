import { describe, expect, it } from 'vitest';
import { makeHeartbeatPair } from './testing/heartbeat-pair.js';

describe('Heartbeats RTT', () => {
  it('keeps the cold first sample of a connection out of the smoothed RTT', async () => {
    const { clock, a, b, link, connect } = await makeHeartbeatPair();
    // The first message of each direction takes 150 ms more: opening the stream, JIT warm-up.
    link.firstMessagePenaltyMs = 150;
    await connect();
    // a's ping reaches b at 170; b's pong follows b's own (cold) ping and reaches a at 190.
    await clock.advance(190);
    expect(a.ups).toEqual([{ peer: b.transport.peerId, rttMs: undefined }]);
    expect(a.heartbeats.peer(b.transport.peerId)).toMatchObject({ state: 'up', lastRttMs: 190, rttMs: undefined });
    // The warm ping sent at once measures the link: 40 ms, not an average dragged up by 190.
    await clock.advance(40);
    expect(a.heartbeats.peer(b.transport.peerId)).toMatchObject({ rttMs: 40, lastRttMs: 40 });
    expect(b.heartbeats.peer(a.transport.peerId)).toMatchObject({ rttMs: 40 });
  });

  it('ignores pings that queued behind a slow stream opening', async () => {
    const { clock, a, b, link, connect } = await makeHeartbeatPair();
    link.firstMessagePenaltyMs = 1_500;
    await connect();
    // The tick at 1,000 pings while the first ping is still on its way: that one waits behind it
    // (a link is a FIFO) and its pong, though the first to come after, measures the wait.
    await clock.advance(1_560);
    const status = a.heartbeats.peer(b.transport.peerId);
    expect(status?.state).toBe('up');
    expect(status?.rttMs).toBeUndefined();
    await clock.advance(100);
    expect(a.heartbeats.peer(b.transport.peerId)?.rttMs).toBe(40);
  });

  it('takes the minimum of the warm-up samples, then smooths, and keeps the last sample', async () => {
    const { clock, a, b, link, connect } = await makeHeartbeatPair();
    const peer = b.transport.peerId;
    link.delayMs = 30;
    await connect();
    await clock.advance(120); // cold 60, warm 60
    expect(a.heartbeats.peer(peer)).toMatchObject({ rttMs: 60 });
    link.delayMs = 20;
    await clock.advance(1_000); // warm 40 at the tick of 1,000, answered at once (warming up)
    expect(a.heartbeats.peer(peer)).toMatchObject({ rttMs: 40, lastRttMs: 40 });
    link.delayMs = 25;
    await clock.advance(1_000); // warm 50: still warming up, the minimum stays
    expect(a.heartbeats.peer(peer)).toMatchObject({ rttMs: 40, lastRttMs: 50 });
    link.delayMs = 70;
    // Warm: the ping of 3,000 is answered in b's ping of 4,000, which says how long b held it.
    await clock.advance(1_100);
    expect(a.heartbeats.peer(peer)).toMatchObject({ rttMs: 40, lastRttMs: 50 });
    await clock.advance(1_000); // the ping of 3,000 went at 70 ms and its answer came at 70: 140, now the average
    const status = a.heartbeats.peer(peer);
    expect(status?.lastRttMs).toBe(140);
    expect(status?.rttMs).toBeCloseTo(40 + 0.2 * (140 - 40), 5);
  });

  it('starts afresh after a reconnect: the first warm sample replaces the old average', async () => {
    const { clock, a, b, link, connect } = await makeHeartbeatPair();
    a.heartbeats.track(b.transport.peerId);
    await connect();
    await clock.advance(5_000);
    expect(a.heartbeats.peer(b.transport.peerId)?.rttMs).toBe(40);
    await a.transport.hangUp(b.transport.peerId);
    // Until a warm sample comes, the last known RTT stays (the best guess there is).
    expect(a.heartbeats.peer(b.transport.peerId)).toMatchObject({ state: 'down', rttMs: 40 });
    link.delayMs = 50;
    link.firstMessagePenaltyMs = 300;
    await connect();
    await clock.advance(400); // cold pong at 400
    expect(a.heartbeats.peer(b.transport.peerId)).toMatchObject({ state: 'up', rttMs: 40, lastRttMs: 400 });
    expect(a.ups.at(-1)).toEqual({ peer: b.transport.peerId, rttMs: 40 });
    await clock.advance(100);
    expect(a.heartbeats.peer(b.transport.peerId)).toMatchObject({ rttMs: 100, lastRttMs: 100 });
  });

  it('treats pongs that come after a silence as cold: they measured the stall', async () => {
    const { clock, a, b, link, connect } = await makeHeartbeatPair();
    const peer = b.transport.peerId;
    await connect();
    await clock.advance(5_100);
    expect(a.heartbeats.peer(peer)?.rttMs).toBe(40);
    link.cut = true; // the pings of 6,000 and 7,000 are lost
    await clock.advance(2_800);
    link.cut = false;
    link.delayMs = 1_500; // the ping of 8,000 is held for 1.5 s
    await clock.advance(200);
    link.delayMs = 20;
    await clock.advance(1_419);
    expect(a.heartbeats.peer(peer)?.state).toBe('down'); // since the tick of 9,000
    await clock.advance(1);
    // The pongs of 8,000 and 9,000 (queued behind it) bring the peer up, but say nothing of the
    // link now: the smoothed RTT keeps its value until a warm ping answers.
    expect(a.heartbeats.peer(peer)).toMatchObject({ state: 'up', rttMs: 40, lastRttMs: 520 });
    expect(a.ups.at(-1)).toEqual({ peer, rttMs: 40 });
    await clock.advance(40);
    expect(a.heartbeats.peer(peer)).toMatchObject({ rttMs: 40, lastRttMs: 40 });
  });
});
