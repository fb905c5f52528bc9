import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { flushMicrotasks, ManualClock } from '../../p2p/testing/manual-clock.js';
import { inProcessLocalApp } from '../local-app.js';
import { AppHealth } from './app-health.js';

type Mode = 'serving' | 'refusing' | 'unavailable' | 'refuses-this-call' | 'stalled' | 'slow-calls';

/** An application answering as `mode` says, counting the readiness probes it is asked. */
function application(): {
  setMode: (next: Mode) => void;
  probes: () => number;
  health: AppHealth;
  /** A call of the engine's, through the watched application; its failure is swallowed. */
  call: (path?: string) => Promise<unknown>;
  clock: ManualClock;
  backs: () => number;
  /** Answers every call a stalled application holds, as it comes back. */
  release: () => void;
  changes: () => readonly boolean[];
} {
  let mode: Mode = 'serving';
  let probes = 0;
  let held: (() => void)[] = [];
  const app = inProcessLocalApp((request) => {
    const { pathname } = new URL(request.url);
    if (pathname === '/readyz') probes += 1;
    if (mode === 'stalled' || (mode === 'slow-calls' && pathname !== '/readyz')) return new Promise<Response>((resolve) => held.push(() => resolve(new Response('ok'))));
    if (mode === 'refusing') return Promise.reject(new TypeError('fetch failed'));
    if (mode === 'unavailable') return Promise.resolve(new Response('etcd unavailable', { status: 503 }));
    if (mode === 'refuses-this-call' && pathname !== '/readyz') return Promise.resolve(new Response('webhook timed out', { status: 504 }));
    if (pathname === '/missing') return Promise.resolve(new Response('{}', { status: 404 }));
    return Promise.resolve(new Response('ok'));
  });
  const clock = new ManualClock();
  const changes: boolean[] = [];
  const health = new AppHealth({ app, readinessPath: '/readyz', clock, logger: silentLogger, changed: (answering) => changes.push(answering) });
  let backs = 0;
  health.onBack(() => (backs += 1));
  const watched = health.watch(app);
  const setMode = (next: Mode): void => {
    mode = next;
  };
  const call = (path = '/api/v1/pods'): Promise<unknown> => watched.exchange({ method: 'GET', path, headers: new Headers() }).catch(() => undefined);
  const release = (): void => {
    const waiting = held;
    held = [];
    for (const answer of waiting) answer();
  };
  return { setMode, probes: () => probes, health, call, clock, backs: () => backs, release, changes: () => changes };
}

describe('AppHealth', () => {
  it('leaves a failure of one call at that, when the readiness endpoint answers', async () => {
    const { setMode, probes, health, call, backs } = application();
    setMode('refuses-this-call');
    await call();
    await flushMicrotasks();
    expect(probes()).toBe(1);
    expect(health.answering).toBe(true);
    expect(backs()).toBe(0);
  });

  it('asks nothing after a refusal that is the request\'s own (4xx)', async () => {
    const { probes, call } = application();
    await call('/missing');
    await flushMicrotasks();
    expect(probes()).toBe(0);
  });

  it('finds an application down when its readiness goes unanswered, probes it every second, and says when it is back', async () => {
    const { setMode, probes, health, call, clock, backs } = application();
    setMode('refusing');
    await call();
    await flushMicrotasks();
    expect(health.answering).toBe(false);
    expect(probes()).toBe(1);
    setMode('unavailable');
    await clock.advance(3_000);
    expect(probes()).toBe(4);
    expect(backs()).toBe(0);
    setMode('serving');
    await clock.advance(1_000);
    expect(health.answering).toBe(true);
    expect(backs()).toBe(1);
    await clock.advance(5_000);
    expect(probes()).toBe(5);
    health.stop();
  });

  it('is back as soon as any call is answered, before the next probe', async () => {
    const { setMode, probes, health, call, backs } = application();
    setMode('unavailable');
    await call();
    await flushMicrotasks();
    expect(health.answering).toBe(false);
    setMode('serving');
    await call();
    expect(backs()).toBe(1);
    expect(probes()).toBe(1);
    health.stop();
  });

  it('finds a stalled application down: a call unanswered for 5 s, then a probe unanswered for 2 s; one probe at a time while they are held', async () => {
    const { setMode, probes, health, call, clock, backs, release, changes } = application();
    setMode('stalled');
    void call();
    await clock.advance(4_900);
    expect(probes()).toBe(0);
    await clock.advance(100);
    expect(probes()).toBe(1);
    expect(health.answering).toBe(true);
    await clock.advance(2_000);
    expect(health.answering).toBe(false);
    expect(changes()).toEqual([false]);
    // The first probe is still held: the next ones wait for it rather than pile up beside it.
    await clock.advance(5_000);
    expect(probes()).toBe(1);
    setMode('serving');
    release();
    await flushMicrotasks();
    expect(health.answering).toBe(true);
    expect(backs()).toBe(1);
    expect(changes()).toEqual([false, true]);
    health.stop();
  });

  it('asks once about calls answered slowly when the readiness endpoint answers at once, and once per call only', async () => {
    const { setMode, probes, health, call, clock, release } = application();
    setMode('slow-calls');
    void call();
    void call();
    await clock.advance(1_000);
    void call();
    await clock.advance(4_000);
    // The two oldest waited 5 s: one probe for both, answered.
    expect(probes()).toBe(1);
    expect(health.answering).toBe(true);
    await clock.advance(1_000);
    expect(probes()).toBe(2);
    await clock.advance(10_000);
    expect(probes()).toBe(2);
    expect(health.answering).toBe(true);
    release();
    await flushMicrotasks();
    health.stop();
  });
});
