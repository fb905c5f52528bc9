import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SimClock } from './sim-clock.js';
import { SimLogger } from './sim-logger.js';
import { Trace } from './trace.js';

function traced(build: (trace: Trace, clock: SimClock) => void): Trace {
  const clock = new SimClock();
  const trace = new Trace(clock);
  build(trace, clock);
  return trace;
}

describe('Trace', () => {
  it('hashes the same events to the same hash, and any difference to another', () => {
    const script = (extra: string) => (trace: Trace) => {
      trace.record('net:connect', { peer: 'Site2' }, 'Site1');
      trace.digest('net:send', { channel: 'sync' }, Uint8Array.of(1, 2, 3));
      trace.record('site:crash', { incarnation: 1 }, extra);
    };
    const a = traced(script('Site1'));
    const b = traced(script('Site1'));
    const c = traced(script('Site3'));
    expect(a.hash()).toMatch(/^[0-9a-f]{64}$/);
    expect(a.hash()).toBe(b.hash());
    expect(a.hash()).not.toBe(c.hash());
    const bytes = traced((trace) => trace.digest('net:send', { channel: 'sync' }, Uint8Array.of(1, 2, 4)));
    const other = traced((trace) => trace.digest('net:send', { channel: 'sync' }, Uint8Array.of(1, 2, 3)));
    expect(bytes.hash()).not.toBe(other.hash());
  });

  it('hashes exactly what it was given, across its internal buffer', () => {
    const big = Uint8Array.from({ length: 100_000 }, (_, index) => index & 0xff);
    const trace = traced((t) => {
      for (let index = 0; index < 2_000; index += 1) t.digest('net:send', { n: index, é: 'ü' }, index % 500 === 0 ? big : Uint8Array.of(index & 0xff));
    });
    const expected = createHash('sha256');
    for (let index = 0; index < 2_000; index += 1) {
      const bytes = index % 500 === 0 ? big : Uint8Array.of(index & 0xff);
      expected.update(JSON.stringify([0, 'net:send', null, { n: index, é: 'ü' }, bytes.length]));
      expected.update(bytes);
      expected.update('\n');
    }
    expect(trace.hash()).toBe(expected.digest('hex'));
  });

  it('hashes the time of each event', async () => {
    const early = traced((trace) => trace.record('x'));
    const clock = new SimClock();
    const late = new Trace(clock);
    await clock.runFor(1);
    late.record('x');
    expect(late.hash()).not.toBe(early.hash());
    expect(late.events()[0]?.atMs).toBe(1);
  });

  it('keeps notable events for the timeline and only hashes digests', () => {
    const trace = traced((t) => {
      t.record('net:partition', { groups: 'Site1 | Site2' });
      t.digest('net:send', { channel: 'heartbeat' });
    });
    expect(trace.events().map((event) => event.kind)).toEqual(['net:partition']);
    expect(trace.digests).toBe(1);
    expect(trace.timeline()).toBe('       0.000  -         net:partition   groups=Site1 | Site2');
    const hash = trace.hash();
    expect(trace.hash()).toBe(hash);
  });

  it('tells listeners of notable events', () => {
    const seen: string[] = [];
    const trace = traced(() => undefined);
    const stop = trace.subscribe((event) => seen.push(event.kind));
    trace.record('a');
    stop();
    trace.record('b');
    expect(seen).toEqual(['a']);
  });
});

describe('SimLogger', () => {
  it('puts warnings on the timeline, folds the rest into the hash, and is silent once dead', () => {
    let alive = true;
    const trace = traced(() => undefined);
    const logger = new SimLogger({ trace, site: 'Site1', alive: () => alive }).child({ component: 'sync' });
    logger.debug({ peer: 'p', err: new Error('no route'), heads: ['a', 'b'], nested: { x: 1 } }, 'redial failed');
    logger.warn('refused a document');
    const hash = trace.hash();
    alive = false;
    logger.error('from beyond');
    expect(trace.hash()).toBe(hash);
    expect(trace.digests).toBe(1);
    expect(trace.events()).toEqual([
      { atMs: 0, kind: 'log', site: 'Site1', data: { level: 'warn', message: 'refused a document', component: 'sync' } },
    ]);
  });
});
