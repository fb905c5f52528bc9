import { describe, expect, it } from 'vitest';
import { InFlightSends } from './in-flight.js';
import { PeerBacklog } from './peer-backlog.js';

describe('PeerBacklog', () => {
  it('admits up to its cap per peer, always one message alone, and reports an overflow once drained', () => {
    const backlog = new PeerBacklog<string>(100);
    expect(backlog.tryAdd('p', 500)).toBe(true); // larger than the cap, but alone
    expect(backlog.tryAdd('p', 1)).toBe(false);
    expect(backlog.tryAdd('q', 60)).toBe(true);
    expect(backlog.tryAdd('q', 40)).toBe(true);
    expect(backlog.tryAdd('q', 1)).toBe(false);
    expect(backlog.total()).toBe(600);
    expect(backlog.release('q', 60)).toBe(false);
    expect(backlog.queued('q')).toBe(40);
    expect(backlog.release('q', 40)).toBe(true);
    expect(backlog.release('p', 500)).toBe(true);
    expect(backlog.size()).toBe(0);
    expect(backlog.total()).toBe(0);
    expect(backlog.tryAdd('p', 10)).toBe(true);
    expect(backlog.release('p', 10)).toBe(false);
  });
});

describe('InFlightSends', () => {
  it('caps the sends per key and forgets keys with none', () => {
    const inFlight = new InFlightSends<string>(2);
    expect(inFlight.tryStart('p')).toBe(true);
    expect(inFlight.tryStart('p')).toBe(true);
    expect(inFlight.tryStart('p')).toBe(false);
    expect(inFlight.tryStart('q')).toBe(true);
    expect(inFlight.count('p')).toBe(2);
    inFlight.finish('p');
    expect(inFlight.tryStart('p')).toBe(true);
    inFlight.finish('p');
    inFlight.finish('p');
    inFlight.finish('q');
    expect(inFlight.size()).toBe(0);
  });
});
